/*
 * express: the lone-packet path of the data plane, with no Python on it.
 *
 * While the daemon has nothing else to do it hands the event loop's wait to
 * wg_express_run, together with a copy of what a transport packet of an
 * established session needs (express.py builds it): per peer the sending key,
 * counter and endpoint, the receiving keys with their replay windows, the
 * timer deadlines the packet path moves, and the allowed-IPs table. Here one
 * TUN read is routed, sealed and sent, and one UDP datagram is opened,
 * checked and written to the TUN, exactly as the Python path would
 * (core/peer.py prepare_send/on_sent, receive/_authenticated; the timer
 * hooks of core/timers.py), each in a few microseconds with the caches cold
 * after an idle gap. Anything else - a handshake, a key about to need
 * rekeying, an unknown index, a roaming source, a TSO read, a GRO batch -
 * is handed back ("punted") with the packet, and so is a burst: the batched
 * Python path (pipeline.py) is the faster one for many packets.
 *
 * Python and this code never run at the same time on this state: Python
 * writes it before the call and reads back what changed after it
 * (docs/dataplane.md, "The express path").
 */
#include <errno.h>
#include <stddef.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

/* wgaccel.c */
long wg_seal(const uint8_t *key, uint32_t receiver, uint64_t first_counter,
             const uint8_t *pkt, size_t len, int flags, int gso_type, int gso_size,
             int csum_start, int csum_offset, int mtu,
             uint8_t *out, size_t cap, uint32_t *sizes, int max_segs,
             int seg_from, int seg_count);
long wg_open(const uint8_t *key, const uint8_t *in, const uint32_t *offs,
             const uint32_t *lens, long n, uint8_t *out, int32_t *results);

#define WORDS 128                       /* replay.py: 8192 bits, 8128 usable */
#define WINDOW (WORDS * 64 - 64)
#define MSG_LEN_MIN 32                  /* header + tag: a keepalive */
#define VNET_LEN 10
#define SOL_UDP_ 17
#define UDP_GRO_ 104
#define BURST 4                         /* back-to-back packets before Python takes over */

enum { RUN_TIMEOUT = 0, RUN_OTHER = 1, RUN_PUNT_TUN = 2, RUN_PUNT_UDP = 3, RUN_BUSY = 4 };
enum { GO_ON = 0 };

struct ex_rx {                          /* one receiving keypair */
    uint8_t key[32];
    double until;                       /* accept while now < until (core seconds) */
    uint64_t counter;                   /* replay window: highest accepted + 1 */
    uint64_t backtrack[WORDS];
    uint32_t index;                     /* our receiver index */
    uint32_t live;
};

struct ex_peer {
    uint8_t send_key[32];
    uint8_t ep[28];                     /* sockaddr_in or sockaddr_in6 */
    uint32_t ep_len;
    uint32_t remote_index;
    uint64_t send_counter;              /* the next counter to use */
    uint64_t send_limit;                /* send while send_counter < send_limit */
    double send_until;                  /* ... and now < send_until */
    double new_handshake;               /* timer deadlines, core seconds; < 0: not armed */
    double send_keepalive;
    double persistent_keepalive;
    uint32_t keepalive_interval;
    uint32_t need_another_keepalive;
    uint32_t can_send;
    uint32_t touched;                   /* set here when anything below changed */
    uint64_t tx_bytes, rx_bytes, rx_dropped, send_failed;
    struct ex_rx rx[2];
};

struct ex_route {                       /* allowed IPs, longest prefix first per family */
    uint8_t addr[16];
    uint32_t plen;
    uint32_t v6;
    int32_t peer;
    uint32_t pad;
};

struct ex_state {
    int32_t tun_fd, udp4_fd, udp6_fd, vnet;
    int32_t mtu, npeers, nroutes, nother;
    double scale;                       /* core seconds per monotonic second */
    double data_sent_delay;             /* KEEPALIVE_TIMEOUT + REKEY_TIMEOUT */
    double keepalive_timeout;
    uint64_t reject_after_messages;
    uint64_t rng;                       /* xorshift64* state for the timer jitter (Python seeds it) */
    uint32_t jitter_steps;              /* jitter in [0, jitter_steps) microseconds */
    uint32_t pad0;
    struct ex_peer *peers;
    struct ex_route *routes;
    struct pollfd *other;               /* the loop's other fds: any event ends the run */
    uint8_t *buf;                       /* a read; on a punt, the packet handed back */
    uint8_t *out;                       /* a sealed datagram / an opened packet */
    uint64_t buf_cap, out_cap;
    /* results */
    uint32_t punt_len, punt_seg;
    int32_t punt_fd;
    uint32_t punt_src_len;
    uint8_t punt_src[28];
    uint32_t pad;
    uint64_t sent, received, punted, no_route, malformed;
};

static double core_now(const struct ex_state *s)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ((double)ts.tv_sec + ts.tv_nsec * 1e-9) * s->scale;
}

static uint64_t get_le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;                           /* x86/arm little endian, as the wire */
}

static uint32_t get_le32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Longest-prefix match of a 4- or 16-byte address: the peer slot, or -1. */
static int route(const struct ex_state *s, const uint8_t *addr, int v6)
{
    int i;
    for (i = 0; i < s->nroutes; i++) {
        const struct ex_route *r = &s->routes[i];
        uint32_t full, rest;
        if ((int)r->v6 != v6)
            continue;
        full = r->plen / 8;
        rest = r->plen % 8;
        if (memcmp(r->addr, addr, full))
            continue;
        if (rest && ((r->addr[full] ^ addr[full]) & (uint8_t)(0xff << (8 - rest))))
            continue;
        return r->peer;
    }
    return -1;
}

/* The owner of a packet's destination (tx) or source (rx), or -1 if not IP. */
static int route_packet(const struct ex_state *s, const uint8_t *pkt, size_t n, int dst)
{
    int version = n ? pkt[0] >> 4 : 0;
    if (version == 4 && n >= 20)
        return route(s, pkt + (dst ? 16 : 12), 0);
    if (version == 6 && n >= 40)
        return route(s, pkt + (dst ? 24 : 8), 1);
    return -1;
}

/* replay.py ReplayWindow.validate (the kernel's counter.c), in place. */
static int replay_ok(struct ex_rx *rx, uint64_t their, uint64_t reject)
{
    uint64_t counter = rx->counter, index, index_current, top, i, bit;
    if (counter >= reject + 1 || their >= reject)
        return 0;
    their++;
    if (WINDOW + their < counter)
        return 0;
    index = their >> 6;
    if (their > counter) {
        index_current = counter >> 6;
        top = index - index_current;
        if (top > WORDS)
            top = WORDS;
        for (i = 1; i <= top; i++)
            rx->backtrack[(i + index_current) & (WORDS - 1)] = 0;
        rx->counter = their;
    }
    index &= WORDS - 1;
    bit = (uint64_t)1 << (their & 63);
    if (rx->backtrack[index] & bit)
        return 0;
    rx->backtrack[index] |= bit;
    return 1;
}

/* Device.jitter: uniform in [0, jitter_steps) µs, a fresh draw for every arming.
 * Not key material: the jitter only keeps peers from rekeying in lockstep. */
static double jitter(struct ex_state *s)
{
    uint64_t x = s->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s->rng = x;
    return (double)((x * 0x2545F4914F6CDD1DULL) % (s->jitter_steps ? s->jitter_steps : 1)) / 1e6;
}

/* timers.py: any authenticated packet either way re-arms the persistent keepalive. */
static void traversal(struct ex_peer *p, double now)
{
    if (p->keepalive_interval)
        p->persistent_keepalive = now + p->keepalive_interval;
}

static int punt(struct ex_state *s, uint32_t len, int kind)
{
    s->punt_len = len;
    s->punted++;
    return kind;
}

/* One TUN read: sealed and sent here, or handed back. */
static int from_tun(struct ex_state *s)
{
    const uint8_t *v = s->buf, *pkt;
    uint16_t hdr[5] = {0};
    ssize_t n = read(s->tun_fd, s->buf, s->buf_cap);
    size_t len;
    struct ex_peer *p;
    uint32_t size;
    double now;
    long got;
    int slot, fd;

    if (n < 0)
        return errno == EAGAIN || errno == EINTR ? GO_ON : RUN_OTHER; /* detached: Python sees it */
    if (s->vnet) {
        if (n < VNET_LEN) {
            s->no_route++;              /* as Device.route_outbound on a non-IP read */
            return GO_ON;
        }
        memcpy(hdr, v, VNET_LEN);       /* flags|gso_type, hdr_len, gso_size, csum start/offset */
        if (v[1])                        /* a TSO/USO super-packet: the batched path segments it */
            return punt(s, (uint32_t)n, RUN_PUNT_TUN);
    }
    pkt = v + (s->vnet ? VNET_LEN : 0);
    len = (size_t)n - (s->vnet ? VNET_LEN : 0);
    slot = route_packet(s, pkt, len, 1);
    if (slot < 0) {
        s->no_route++;                  /* as Device.route_outbound's None: dropped */
        return GO_ON;
    }
    p = &s->peers[slot];
    now = core_now(s);
    if (!p->can_send || now >= p->send_until || p->send_counter >= p->send_limit)
        return punt(s, (uint32_t)n, RUN_PUNT_TUN);
    got = wg_seal(p->send_key, p->remote_index, p->send_counter, pkt, len,
                  s->vnet ? v[0] : 0, 0, 0, hdr[3], hdr[4], s->mtu, s->out, s->out_cap, &size,
                  1, 0, 1);
    if (got < 0) {
        s->malformed++;
        return GO_ON;
    }
    p->send_counter++;
    fd = ((const struct sockaddr *)p->ep)->sa_family == AF_INET6 ? s->udp6_fd : s->udp4_fd;
    if (sendto(fd, s->out, size, 0, (const struct sockaddr *)p->ep, p->ep_len) == (ssize_t)size)
        p->tx_bytes += size;
    else
        p->send_failed++;
    /* peer.py on_sent: traversal, any_authenticated_packet_sent, data_sent */
    traversal(p, now);
    p->send_keepalive = -1;
    if (p->new_handshake < 0)
        p->new_handshake = now + s->data_sent_delay + jitter(s);
    p->touched = 1;
    s->sent++;
    return GO_ON;
}

static int same_source(const struct ex_peer *p, const uint8_t *src, socklen_t len)
{
    const struct sockaddr *a = (const void *)p->ep, *b = (const void *)src;
    if (a->sa_family != b->sa_family)
        return 0;
    if (a->sa_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)p->ep, *y = (const void *)src;
        return len >= sizeof(*y) && x->sin_port == y->sin_port &&
               x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->sa_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const void *)p->ep, *y = (const void *)src;
        return len >= sizeof(*y) && x->sin6_port == y->sin6_port &&
               x->sin6_scope_id == y->sin6_scope_id &&
               !memcmp(&x->sin6_addr, &y->sin6_addr, 16);
    }
    return 0;
}

/* One UDP read: opened, checked and written to the TUN here, or handed back. */
static int from_udp(struct ex_state *s, int fd)
{
    static const uint8_t zero_vnet[VNET_LEN];
    uint8_t src[28], cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {s->buf, s->buf_cap};
    struct msghdr mh = {.msg_name = src, .msg_namelen = sizeof(src), .msg_iov = &iov,
                        .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
    struct cmsghdr *c;
    struct ex_peer *p = NULL;
    struct ex_rx *rx = NULL;
    uint32_t seg, index, zero = 0, len32;
    uint64_t counter;
    int32_t result = -1;
    ssize_t n;
    double now;
    int i, j, plen, slot = -1;
    const uint8_t *pt;

    n = recvmsg(fd, &mh, 0);
    if (n < 0)
        return errno == EAGAIN || errno == EINTR ? GO_ON : RUN_OTHER; /* ICMP errors: Python's */
    if (n == 0 || (mh.msg_flags & MSG_TRUNC))
        return GO_ON;                   /* as daemon._read_each: empty and truncated reads dropped */
    seg = (uint32_t)n;
    for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
        if (c->cmsg_level == SOL_UDP_ && c->cmsg_type == UDP_GRO_) {
            int v;
            memcpy(&v, CMSG_DATA(c), sizeof(v));
            if (v > 0)
                seg = (uint32_t)v;
        }
    s->punt_fd = fd;
    s->punt_seg = seg;
    s->punt_src_len = mh.msg_namelen;
    memcpy(s->punt_src, src, sizeof(src));
    if (seg < (uint32_t)n || n < MSG_LEN_MIN || get_le32(s->buf) != 4)
        return punt(s, (uint32_t)n, RUN_PUNT_UDP); /* a GRO batch, a handshake, junk */
    index = get_le32(s->buf + 4);
    counter = get_le64(s->buf + 8);
    for (i = 0; i < s->npeers && !rx; i++)
        for (j = 0; j < 2; j++)
            if (s->peers[i].rx[j].live && s->peers[i].rx[j].index == index) {
                p = &s->peers[i];
                rx = &p->rx[j];
                slot = i;
                break;
            }
    now = core_now(s);
    if (!rx || now >= rx->until || counter >= s->reject_after_messages ||
        !same_source(p, src, mh.msg_namelen))
        return punt(s, (uint32_t)n, RUN_PUNT_UDP); /* next keypair, rekey due, roaming... */
    len32 = (uint32_t)n;
    if (wg_open(rx->key, s->buf, &zero, &len32, 1, s->out, &result) < 0)
        result = -1;                    /* no cipher context: as a failed tag */
    p->touched = 1;
    if (result < 0 || !replay_ok(rx, counter, s->reject_after_messages)) {
        p->rx_dropped++;                /* peer.py receive: not authentic or not fresh */
        return GO_ON;
    }
    s->received++;
    plen = result;
    pt = s->out;
    if (!plen) {
        p->rx_bytes += MSG_LEN_MIN;     /* a keepalive */
    } else {
        int ok = 0;
        size_t length = 0;
        if ((pt[0] >> 4) == 4 && plen >= 20) {
            length = (size_t)(pt[2] << 8 | pt[3]);
            ok = length >= 20 && length <= (size_t)plen;
        } else if ((pt[0] >> 4) == 6 && plen >= 40) {
            length = (size_t)(pt[4] << 8 | pt[5]) + 40;
            ok = length <= (size_t)plen;
        }
        if (ok && route_packet(s, pt, (size_t)plen, 0) == slot) {
            struct iovec w[2] = {{(void *)zero_vnet, VNET_LEN}, {(void *)pt, length}};
            p->rx_bytes += (uint64_t)plen + MSG_LEN_MIN;
            /* A refused write (EINVAL, a down link) is a lossy link's drop. */
            (void)!writev(s->tun_fd, s->vnet ? w : w + 1, s->vnet ? 2 : 1);
        } else {
            p->rx_dropped++;
        }
    }
    /* peer.py _authenticated: any_authenticated_packet_received, traversal, data_received */
    p->new_handshake = -1;
    traversal(p, now);
    if (plen) {
        if (p->send_keepalive < 0)
            p->send_keepalive = now + s->keepalive_timeout;
        else
            p->need_another_keepalive = 1;
    }
    return GO_ON;
}

/* The layout express.py's ctypes Structures must match: sizes and the offsets
 * that follow padding. */
long wg_express_layout(uint32_t *out, long n)
{
    const uint32_t v[] = {
        sizeof(struct ex_rx), sizeof(struct ex_peer), sizeof(struct ex_route),
        sizeof(struct ex_state), offsetof(struct ex_rx, index), offsetof(struct ex_peer, rx),
        offsetof(struct ex_peer, tx_bytes), offsetof(struct ex_state, peers),
        offsetof(struct ex_state, punt_src), offsetof(struct ex_state, sent),
    };
    long i, k = (long)(sizeof(v) / sizeof(v[0]));
    for (i = 0; i < n && i < k; i++)
        out[i] = v[i];
    return k;
}

/*
 * Wait up to timeout_ms (< 0: forever) for packets and handle them until
 * something needs Python: returns RUN_* (a punt leaves the packet in buf,
 * punt_len bytes; for UDP its source, socket and GRO segment size too).
 */
long wg_express_run(struct ex_state *s, int timeout_ms)
{
    struct pollfd fds[3 + 64];
    int nfds = 3 + (s->nother < 64 ? s->nother : 64), i, r, streak = 0, wait;
    double deadline = 0, left;

    if (timeout_ms >= 0)
        deadline = core_now(s) / s->scale + timeout_ms / 1000.0;
    fds[0].fd = s->tun_fd;
    fds[1].fd = s->udp4_fd;             /* a negative fd is ignored by poll */
    fds[2].fd = s->udp6_fd;
    for (i = 0; i < 3; i++)
        fds[i].events = POLLIN;
    for (i = 3; i < nfds; i++)
        fds[i] = s->other[i - 3];
    wait = timeout_ms;
    for (;;) {
        r = poll(fds, (nfds_t)nfds, wait);
        if (r < 0)
            return RUN_OTHER;           /* EINTR: a signal for Python's handler */
        if (r == 0) {
            if (wait == 0) {            /* the packets so far came one at a time */
                streak = 0;
            } else {
                return RUN_TIMEOUT;
            }
        } else {
            for (i = 3; i < nfds; i++)
                if (fds[i].revents)
                    return RUN_OTHER;
            if (wait == 0 && ++streak >= BURST)
                return RUN_BUSY;        /* a burst: the batched path is faster per packet */
            for (i = 0; i < 3; i++) {
                if (!(fds[i].revents & (POLLIN | POLLERR | POLLHUP)))
                    continue;
                r = i ? from_udp(s, fds[i].fd) : from_tun(s);
                if (r != GO_ON)
                    return r;
            }
            wait = 0;                   /* is more waiting already? */
            continue;
        }
        if (timeout_ms < 0) {
            wait = -1;
            continue;
        }
        left = deadline - core_now(s) / s->scale;
        if (left <= 0)
            return RUN_TIMEOUT;
        wait = (int)(left * 1000.0) + 1;
    }
}
