/*
 * wgaccel: the optional compiled fast path of wgdroid's userspace data plane.
 *
 * Batch operations, each called once per unit of work through ctypes (which
 * releases the GIL for the whole call):
 *   wg_seal  - one TUN read (a plain packet or a TSO/USO super-packet with its
 *              virtio_net_hdr): segment it, complete the TCP/UDP checksums,
 *              pad each segment and seal it as a WireGuard transport message,
 *              all in the output buffer (docs/dataplane.md);
 *   wg_open  - decrypt transport messages (a UDP GRO batch) into an output
 *              buffer laid out like the input;
 *   wg_tun_write - write decrypted packets to a TUN opened with IFF_VNET_HDR,
 *              coalescing runs of one TCP flow into GSO super-packets by the
 *              rules of gro.py (its pure-Python twin);
 *   wg_csum  - the Internet checksum (RFC 1071), for tests and the shell;
 *   wg_run   - a whole unit from its work description (kernels.encode_work);
 *   wg_pool_* - crypto worker threads that run descriptions without the GIL;
 *   wg_udp_recv - many UDP reads (datagrams or GRO batches) per call.
 * ChaCha20-Poly1305 is OpenSSL's EVP implementation; nothing here is
 * hand-written crypto. The pure-Python kernels in accel/__init__.py do the
 * same with pyca/cryptography and are the reference the tests compare against.
 *
 * Build: python -m wgdroid.userspace.accel build  (needs cc and libssl-dev).
 */
#include <pthread.h>
#include <stddef.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include <sys/uio.h>
#include <stdint.h>
#include <string.h>
#include <openssl/evp.h>

#define HDR_LEN 16   /* type, receiver index, counter */
#define TAG_LEN 16
#define MSG_TRANSPORT 4

/* virtio_net_hdr (include/uapi/linux/virtio_net.h) */
#define VNET_NEEDS_CSUM 1
#define GSO_NONE 0
#define GSO_TCPV4 1
#define GSO_UDP 3
#define GSO_TCPV6 4
#define GSO_UDP_L4 5
#define GSO_ECN 0x80

#define ERR_MALFORMED (-1)
#define ERR_SPACE (-2)
#define ERR_CRYPTO (-3)

static __thread EVP_CIPHER_CTX *tls_ctx;
static const EVP_CIPHER *aead;
static pthread_once_t aead_once = PTHREAD_ONCE_INIT;

/* OpenSSL 3 looks the algorithm up (under a lock) on every init that names the
 * static EVP_chacha20_poly1305(); fetch it once instead. */
static void aead_fetch(void)
{
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    aead = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
#endif
    if (!aead)
        aead = EVP_chacha20_poly1305();
}

static EVP_CIPHER_CTX *ctx_get(void)
{
    pthread_once(&aead_once, aead_fetch);
    if (!tls_ctx)
        tls_ctx = EVP_CIPHER_CTX_new();
    return tls_ctx;
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24;
}

static inline void put_le64(uint8_t *p, uint64_t v)
{
    put_le32(p, (uint32_t)v);
    put_le32(p + 4, (uint32_t)(v >> 32));
}

static inline uint16_t get_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline void put_be16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v; }
static inline uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

static uint16_t fold(uint64_t acc);

/* One's-complement sum of big-endian 16-bit words, plus `acc`, not folded (a
 * value congruent to it mod 0xffff). The words are summed in the machine's own
 * byte order, 8 bytes per step into a 64-bit accumulator, and the folded result
 * byte-swapped: the one's-complement sum does not depend on byte order except
 * for that swap (RFC 1071, section 2). */
static uint64_t sum_be16(const uint8_t *p, size_t n, uint64_t acc)
{
    uint64_t s = 0;
    uint32_t a, b;
    uint16_t folded;

    while (n >= 8) {
        memcpy(&a, p, 4);
        memcpy(&b, p + 4, 4);
        s += (uint64_t)a + b;
        p += 8;
        n -= 8;
    }
    if (n >= 4) {
        memcpy(&a, p, 4);
        s += a;
        p += 4;
        n -= 4;
    }
    if (n >= 2) {
        uint16_t h;
        memcpy(&h, p, 2);
        s += h;
        p += 2;
        n -= 2;
    }
    if (n) {
        uint8_t last[2] = {p[0], 0}; /* a lone byte is the high byte of a word */
        uint16_t h;
        memcpy(&h, last, 2);
        s += h;
    }
    folded = fold(s);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    folded = (uint16_t)(folded >> 8 | folded << 8);
#endif
    return acc + folded;
}

static uint16_t fold(uint64_t acc)
{
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)acc;
}

/* The folded (not complemented) sum of p[0:n] plus init. */
uint32_t wg_csum(const uint8_t *p, size_t n, uint32_t init)
{
    return fold(sum_be16(p, n, init));
}

static size_t padded_len(size_t n, int mtu)
{
    size_t last, padded;
    if (mtu <= 0)
        return (n + 15) & ~(size_t)15;
    last = n > (size_t)mtu ? n % (size_t)mtu : n;
    padded = (last + 15) & ~(size_t)15;
    if (padded > (size_t)mtu)
        padded = (size_t)mtu;
    return n + padded - last;
}

/* Seal the plaintext already at dg + HDR_LEN (n bytes, padded to `padded`
 * with zeros here) in place; writes the header. Returns the datagram size. */
static long seal_in_place(EVP_CIPHER_CTX *ctx, uint8_t *dg, size_t n, size_t padded,
                          uint32_t receiver, uint64_t counter)
{
    uint8_t nonce[12] = {0};
    int outl = 0, fl = 0;
    uint8_t *pt = dg + HDR_LEN;

    memset(pt + n, 0, padded - n);
    dg[0] = MSG_TRANSPORT; dg[1] = dg[2] = dg[3] = 0;
    put_le32(dg + 4, receiver);
    put_le64(dg + 8, counter);
    put_le64(nonce + 4, counter);
    if (EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, nonce) != 1)
        return ERR_CRYPTO;
    if (padded && EVP_EncryptUpdate(ctx, pt, &outl, pt, (int)padded) != 1)
        return ERR_CRYPTO;
    if (EVP_EncryptFinal_ex(ctx, pt + outl, &fl) != 1)
        return ERR_CRYPTO;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, pt + padded) != 1)
        return ERR_CRYPTO;
    return (long)(HDR_LEN + padded + TAG_LEN);
}

/* Complete a partial checksum (virtio NEEDS_CSUM): the field at
 * csum_start + csum_offset holds the pseudo-header sum; sum from csum_start to
 * the end and store the complement there. */
static int finish_partial(uint8_t *pkt, size_t len, size_t start, size_t off, int udp)
{
    uint16_t c;
    if (start + off + 2 > len)
        return ERR_MALFORMED;
    c = (uint16_t)~fold(sum_be16(pkt + start, len - start, 0));
    if (udp && c == 0)
        c = 0xffff;
    put_be16(pkt + start + off, c);
    return 0;
}

/*
 * Segment (when gso_type says so) and seal one TUN read.
 *
 * pkt/len: the IP packet after the virtio_net_hdr, whose fields follow.
 * Only segments [seg_from, seg_from + seg_count) are sealed (a super-packet
 * may be spread over several units); segment i gets counter first_counter + i.
 * Datagrams are written back to back into out (cap bytes); sizes[] receives
 * each size. Returns the number of datagrams, or a negative ERR_*. The input is
 * not modified.
 */
long wg_seal(const uint8_t *key, uint32_t receiver, uint64_t first_counter,
             const uint8_t *pkt, size_t len, int flags, int gso_type, int gso_size,
             int csum_start, int csum_offset, int mtu,
             uint8_t *out, size_t cap, uint32_t *sizes, int max_segs,
             int seg_from, int seg_count)
{
    EVP_CIPHER_CTX *ctx = ctx_get();
    int type = gso_type & ~GSO_ECN;
    size_t ip_hl, l4_hl, hdr, payload, nseg, i, end, pos = 0;
    int v6, tcp;
    uint64_t pseudo_addr = 0;

    if (!ctx || EVP_EncryptInit_ex(ctx, aead, NULL, key, NULL) != 1)
        return ERR_CRYPTO;

    if (seg_from < 0 || seg_count < 1 || seg_count > max_segs)
        return ERR_SPACE;
    if (type == GSO_NONE || len == 0) {
        size_t padded = padded_len(len, mtu);
        long n;
        if (max_segs < 1 || HDR_LEN + padded + TAG_LEN > cap)
            return ERR_SPACE;
        memcpy(out + HDR_LEN, pkt, len);
        if ((flags & VNET_NEEDS_CSUM) &&
            finish_partial(out + HDR_LEN, len, (size_t)csum_start, (size_t)csum_offset,
                           csum_offset == 6) != 0)
            return ERR_MALFORMED;
        n = seal_in_place(ctx, out, len, padded, receiver, first_counter);
        if (n < 0)
            return n;
        sizes[0] = (uint32_t)n;
        return 1;
    }

    /* A super-packet: IPv4/IPv6 + TCP or UDP, headers up to csum_start + L4. */
    if (type != GSO_TCPV4 && type != GSO_TCPV6 && type != GSO_UDP_L4)
        return ERR_MALFORMED;
    if (len < 20 || gso_size <= 0)
        return ERR_MALFORMED;
    v6 = (pkt[0] >> 4) == 6;
    tcp = type != GSO_UDP_L4;
    ip_hl = (size_t)csum_start;
    if (v6) {
        if (ip_hl != 40 || len < 40 || pkt[6] != (tcp ? 6 : 17))
            return ERR_MALFORMED;
        pseudo_addr = sum_be16(pkt + 8, 32, 0);
    } else {
        if ((pkt[0] >> 4) != 4 || ip_hl != (size_t)(pkt[0] & 15) * 4 || ip_hl < 20 ||
            pkt[9] != (tcp ? 6 : 17))
            return ERR_MALFORMED;
        pseudo_addr = sum_be16(pkt + 12, 8, 0);
    }
    if (tcp) {
        if (len < ip_hl + 20)
            return ERR_MALFORMED;
        l4_hl = (size_t)(pkt[ip_hl + 12] >> 4) * 4;
        if (l4_hl < 20)
            return ERR_MALFORMED;
    } else {
        l4_hl = 8;
    }
    hdr = ip_hl + l4_hl;
    if (len < hdr)
        return ERR_MALFORMED;
    payload = len - hdr;
    nseg = payload ? (payload + (size_t)gso_size - 1) / (size_t)gso_size : 1;
    end = (size_t)seg_from + (size_t)seg_count;
    if (end > nseg)
        return ERR_MALFORMED;

    for (i = (size_t)seg_from; i < end; i++) {
        size_t off = i * (size_t)gso_size;
        size_t plen = payload - off < (size_t)gso_size ? payload - off : (size_t)gso_size;
        size_t slen = hdr + plen, padded = padded_len(slen, mtu);
        uint8_t *dg = out + pos, *seg = dg + HDR_LEN, *l4 = seg + ip_hl;
        uint64_t acc;
        long n;

        if (pos + HDR_LEN + padded + TAG_LEN > cap)
            return ERR_SPACE;
        memcpy(seg, pkt, hdr);
        memcpy(seg + hdr, pkt + hdr + off, plen);
        if (v6) {
            put_be16(seg + 4, (uint16_t)(slen - 40));
        } else {
            put_be16(seg + 2, (uint16_t)slen);
            put_be16(seg + 4, (uint16_t)(get_be16(pkt + 4) + i));
            seg[10] = seg[11] = 0;
            put_be16(seg + 10, (uint16_t)~fold(sum_be16(seg, ip_hl, 0)));
        }
        if (tcp) {
            put_be32(l4 + 4, get_be32(pkt + ip_hl + 4) + (uint32_t)off);
            if (i + 1 < nseg)
                l4[13] &= (uint8_t)~0x09; /* FIN and PSH only on the last segment */
            if (i > 0)
                l4[13] &= (uint8_t)~0x80; /* CWR only on the first */
            l4[16] = l4[17] = 0;
            acc = sum_be16(l4, l4_hl + plen, pseudo_addr + 6 + (l4_hl + plen));
            put_be16(l4 + 16, (uint16_t)~fold(acc));
        } else {
            uint16_t c;
            put_be16(l4 + 4, (uint16_t)(8 + plen));
            l4[6] = l4[7] = 0;
            acc = sum_be16(l4, 8 + plen, pseudo_addr + 17 + (8 + plen));
            c = (uint16_t)~fold(acc);
            put_be16(l4 + 6, c ? c : 0xffff);
        }
        n = seal_in_place(ctx, dg, slen, padded, receiver, first_counter + i);
        if (n < 0)
            return n;
        sizes[i - (size_t)seg_from] = (uint32_t)n;
        pos += (size_t)n;
    }
    return (long)seg_count;
}

/* Open one transport message (header, ciphertext, tag; len bytes at dg) under
 * the key ctx was initialised with: the plaintext to pt; its length, or -1. */
static int open_message(EVP_CIPHER_CTX *ctx, const uint8_t *dg, size_t len, uint8_t *pt)
{
    uint8_t nonce[12] = {0};
    uint8_t tag[TAG_LEN];
    int outl = 0, fl = 0;
    size_t clen;

    if (len < HDR_LEN + TAG_LEN)
        return -1;
    clen = len - HDR_LEN - TAG_LEN;
    memcpy(nonce + 4, dg + 8, 8);
    memcpy(tag, dg + HDR_LEN + clen, TAG_LEN);
    if (EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, nonce) != 1)
        return -1;
    if (clen && EVP_DecryptUpdate(ctx, pt, &outl, dg + HDR_LEN, (int)clen) != 1)
        return -1;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, tag) != 1)
        return -1;
    if (EVP_DecryptFinal_ex(ctx, pt + outl, &fl) != 1)
        return -1;
    return (int)clen;
}

/*
 * Open n transport messages under one key: message i is in[offs[i]:offs[i]+lens[i]]
 * (header, ciphertext, tag); its plaintext goes to out + offs[i] (lens[i] - 32
 * bytes). results[i] = plaintext length, or -1 if authentication failed.
 * Returns how many opened.
 */
long wg_open(const uint8_t *key, const uint8_t *in, const uint32_t *offs,
             const uint32_t *lens, long n, uint8_t *out, int32_t *results)
{
    EVP_CIPHER_CTX *ctx = ctx_get();
    long i, ok = 0;

    if (!ctx || EVP_DecryptInit_ex(ctx, aead, NULL, key, NULL) != 1)
        return ERR_CRYPTO;
    for (i = 0; i < n; i++) {
        results[i] = open_message(ctx, in + offs[i], lens[i], out + offs[i]);
        ok += results[i] >= 0;
    }
    return ok;
}

/* --- TUN writes with receive coalescing (gro.py's rules) --------------------- */

#define GRO_MAX_SEGS 64
#define GRO_MAX_TOTAL 65535
#define TCP_ACK 0x10
#define TCP_PSH 0x08

struct seg {
    const uint8_t *pkt;
    size_t len, hl, ip_hl, payload;
    uint32_t seq, ack;
    uint8_t flags;
    int v6;
};

/* A TCP segment that may be coalesced (gro.py _parse), or 0. */
static int gro_parse(const uint8_t *pkt, size_t n, struct seg *s)
{
    size_t ip_hl, hl;
    uint8_t flags;

    if (n < 40)
        return 0;
    if (pkt[0] == 0x45) {
        if (pkt[9] != 6 || (get_be16(pkt + 6) & 0x3fff) || get_be16(pkt + 2) != n)
            return 0;
        ip_hl = 20;
        s->v6 = 0;
    } else if ((pkt[0] >> 4) == 6) {
        if (n < 60 || pkt[6] != 6 || (size_t)get_be16(pkt + 4) + 40 != n)
            return 0;
        ip_hl = 40;
        s->v6 = 1;
    } else {
        return 0;
    }
    hl = ip_hl + (size_t)(pkt[ip_hl + 12] >> 4) * 4;
    flags = pkt[ip_hl + 13];
    if (hl < ip_hl + 20 || hl >= n || (flags & ~(TCP_ACK | TCP_PSH)) || !(flags & TCP_ACK))
        return 0;
    s->pkt = pkt;
    s->len = n;
    s->ip_hl = ip_hl;
    s->hl = hl;
    s->payload = n - hl;
    s->seq = get_be32(pkt + ip_hl + 4);
    s->ack = get_be32(pkt + ip_hl + 8);
    s->flags = flags;
    return 1;
}

/* Everything gro.py puts in `match`: addresses, ports, ack, data offset, the
 * TOS+TTL (v4) or version/class/flow+hop limit (v6), and the option bytes. */
static int gro_same_flow(const struct seg *a, const struct seg *b)
{
    if (a->v6 != b->v6 || a->hl != b->hl || a->ack != b->ack)
        return 0;
    if (a->v6) {
        if (memcmp(a->pkt, b->pkt, 4) || a->pkt[7] != b->pkt[7] ||
            memcmp(a->pkt + 8, b->pkt + 8, 32))
            return 0;
    } else {
        if (a->pkt[1] != b->pkt[1] || a->pkt[8] != b->pkt[8] ||
            memcmp(a->pkt + 12, b->pkt + 12, 8))
            return 0;
    }
    /* ports, then data offset byte, then options (seq/ack/flags differ) */
    return !memcmp(a->pkt + a->ip_hl, b->pkt + b->ip_hl, 4) &&
           a->pkt[a->ip_hl + 12] == b->pkt[b->ip_hl + 12] &&
           !memcmp(a->pkt + a->ip_hl + 20, b->pkt + b->ip_hl + 20, a->hl - a->ip_hl - 20);
}

static const uint8_t zero_vnet[10];

static void write_plain(int fd, const uint8_t *pkt, size_t n, long *writes)
{
    struct iovec iov[2] = {{(void *)zero_vnet, 10}, {(void *)pkt, n}};
    /* The kernel refuses malformed packets (EINVAL) and a down link (EIO): a
     * data plane drops them like a lossy link. */
    (void)!writev(fd, iov, 2);
    (*writes)++;
}

static void flush_group(int fd, struct seg *g, int count, size_t total, long *writes)
{
    struct iovec iov[GRO_MAX_SEGS + 2];
    uint8_t vnet[10], hdr[120];
    const struct seg *first = &g[0];
    size_t ip_hl = first->ip_hl, hl = first->hl, tcp_len = total - ip_hl;
    uint64_t pseudo;
    int i;

    if (count == 1) {
        write_plain(fd, first->pkt, first->len, writes);
        return;
    }
    memcpy(hdr, first->pkt, hl);
    hdr[ip_hl + 13] |= g[count - 1].flags & TCP_PSH;
    if (first->v6) {
        put_be16(hdr + 4, (uint16_t)tcp_len);
        pseudo = sum_be16(hdr + 8, 32, 0) + tcp_len + 6;
    } else {
        put_be16(hdr + 2, (uint16_t)total);
        hdr[10] = hdr[11] = 0;
        put_be16(hdr + 10, (uint16_t)~fold(sum_be16(hdr, 20, 0)));
        pseudo = sum_be16(hdr + 12, 8, 0) + 6 + tcp_len;
    }
    /* NEEDS_CSUM: the checksum field holds the (uncomplemented) pseudo-header sum. */
    put_be16(hdr + ip_hl + 16, fold(pseudo));
    vnet[0] = VNET_NEEDS_CSUM;
    vnet[1] = first->v6 ? GSO_TCPV6 : GSO_TCPV4;
    vnet[2] = (uint8_t)hl; vnet[3] = (uint8_t)(hl >> 8);
    vnet[4] = (uint8_t)first->payload; vnet[5] = (uint8_t)(first->payload >> 8);
    vnet[6] = (uint8_t)ip_hl; vnet[7] = 0;
    vnet[8] = 16; vnet[9] = 0;
    iov[0].iov_base = vnet; iov[0].iov_len = 10;
    iov[1].iov_base = hdr; iov[1].iov_len = hl;
    for (i = 0; i < count; i++) {
        iov[i + 2].iov_base = (void *)(g[i].pkt + hl);
        iov[i + 2].iov_len = g[i].payload;
    }
    if (writev(fd, iov, count + 2) < 0) {
        /* Never lose a run to a refused GSO packet: fall back to the originals. */
        for (i = 0; i < count; i++)
            write_plain(fd, g[i].pkt, g[i].len, writes);
    }
    (*writes)++;
}

/*
 * Write n packets (base + offs[i], lens[i] bytes) in order to a TUN fd opened
 * with IFF_VNET_HDR, one GSO super-packet per run of one TCP flow. Returns the
 * number of writev calls (gro.py write_coalesced counts the same way).
 */
long wg_tun_write(int fd, const uint8_t *base, const uint32_t *offs, const uint32_t *lens,
                  long n)
{
    struct seg group[GRO_MAX_SEGS], s;
    int count = 0;
    size_t total = 0;
    long writes = 0, i;

    for (i = 0; i < n; i++) {
        const uint8_t *pkt = base + offs[i];
        if (!gro_parse(pkt, lens[i], &s)) {
            if (count)
                flush_group(fd, group, count, total, &writes);
            count = 0;
            write_plain(fd, pkt, lens[i], &writes);
            continue;
        }
        if (count) {
            const struct seg *first = &group[0], *last = &group[count - 1];
            if (!gro_same_flow(first, &s) || s.seq != last->seq + (uint32_t)last->payload ||
                s.payload > first->payload || last->payload != first->payload ||
                (last->flags & TCP_PSH) || count >= GRO_MAX_SEGS ||
                total + s.payload > GRO_MAX_TOTAL) {
                flush_group(fd, group, count, total, &writes);
                count = 0;
            }
        }
        if (!count)
            total = s.hl;
        group[count++] = s;
        total += s.payload;
    }
    if (count)
        flush_group(fd, group, count, total, &writes);
    return writes;
}

/* --- whole units from their work descriptions; a pool of C threads ----------- */

/*
 * A unit's work description is kernels.encode_work's packed little-endian
 * layout (no alignment):
 *   seal: 'S', key[32], receiver u32, counter u64, mtu i32, out u32, n u16,
 *         then n items of buf u32, off u32, length u32, flags u8, gso_type u8,
 *         gso_size u16, csum_start u16, csum_offset u16, seg_from u16, seg_count u16;
 *   open: 'O', in u32, out u32, n u16, nkeys u16, nkeys keys[32], then the n
 *         messages' key indices (u8 each), their offsets (u32 each), their
 *         lengths (u32 each).
 * Buffer indices become addresses through the packet memory's table
 * (buffers.Memory: one block, buffer i at base + starts[i], sizes[i] bytes);
 * every offset is checked against its buffer.
 */

#define SEAL_HEAD 55
#define SEAL_ITEM 24
#define OPEN_HEAD 13

struct wg_mem {
    uint8_t *base;
    const uint64_t *starts;
    const uint32_t *sizes;
    uint32_t n;
};

static inline uint16_t get_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t get_le64(const uint8_t *p)
{
    return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

/* Seal every item of a seal description: datagram sizes to res (as
 * CKernels.seal one call per item did). Returns how many, or ERR_*. */
static long run_seal(const struct wg_mem *m, const uint8_t *d, size_t len, int32_t *res,
                     long maxr)
{
    const uint8_t *key = d + 1;
    uint32_t receiver = get_le32(d + 33), outi = get_le32(d + 49);
    uint64_t counter = get_le64(d + 37);
    int mtu = (int32_t)get_le32(d + 45);
    long n = get_le16(d + 53), i, j, count = 0;
    uint8_t *out;
    size_t cap, pos = 0;

    if (len != SEAL_HEAD + (size_t)n * SEAL_ITEM || outi >= m->n)
        return ERR_MALFORMED;
    out = m->base + m->starts[outi];
    cap = m->sizes[outi];
    for (i = 0; i < n; i++) {
        const uint8_t *it = d + SEAL_HEAD + i * SEAL_ITEM;
        uint32_t buf = get_le32(it), off = get_le32(it + 4), plen = get_le32(it + 8);
        int seg_from = get_le16(it + 20), seg_count = get_le16(it + 22);
        uint32_t *sizes = (uint32_t *)(res + count); /* int32 and uint32 may alias */
        long got;

        if (buf >= m->n || (uint64_t)off + plen > m->sizes[buf])
            return ERR_MALFORMED;
        got = wg_seal(key, receiver, counter - (uint64_t)seg_from,
                      m->base + m->starts[buf] + off, plen, it[12], it[13],
                      get_le16(it + 14), get_le16(it + 16), get_le16(it + 18), mtu,
                      out + pos, cap - pos, sizes, (int)(maxr - count), seg_from, seg_count);
        if (got < 0)
            return got;
        for (j = 0; j < got; j++)
            pos += sizes[j];
        count += got;
        counter += (uint64_t)got;
    }
    return count;
}

/* Open every message of an open description: res[i] = plaintext length or -1. */
static long run_open(const struct wg_mem *m, const uint8_t *d, size_t len, int32_t *res,
                     long maxr)
{
    EVP_CIPHER_CTX *ctx = ctx_get();
    uint32_t ini = get_le32(d + 1), outi = get_le32(d + 5);
    long n = get_le16(d + 9), nkeys = get_le16(d + 11), i, current = -1;
    const uint8_t *keys = d + OPEN_HEAD, *index = keys + 32 * nkeys;
    const uint8_t *offs = index + n, *lens = offs + 4 * n;
    uint8_t *in, *out;

    if (len != OPEN_HEAD + 32 * (size_t)nkeys + (size_t)n * 9 || ini >= m->n ||
        outi >= m->n)
        return ERR_MALFORMED;
    if (n > maxr)
        return ERR_SPACE;
    if (!ctx)
        return ERR_CRYPTO;
    in = m->base + m->starts[ini];
    out = m->base + m->starts[outi];
    for (i = 0; i < n; i++) {
        long k = index[i];
        uint32_t off = get_le32(offs + 4 * i), mlen = get_le32(lens + 4 * i);

        res[i] = -1;
        if (k >= nkeys || (uint64_t)off + mlen > m->sizes[ini] ||
            (uint64_t)off + mlen > m->sizes[outi] + (uint64_t)HDR_LEN + TAG_LEN)
            continue;
        if (k != current) {
            if (EVP_DecryptInit_ex(ctx, aead, NULL, keys + 32 * k, NULL) != 1)
                continue;
            current = k;
        }
        res[i] = open_message(ctx, in + off, mlen, out + off);
    }
    return n;
}

/* One unit: its results to res (at most maxr); the count, or ERR_*. */
static long run_work(const struct wg_mem *m, const uint8_t *d, size_t len, int32_t *res,
                     long maxr)
{
    if (len >= SEAL_HEAD && d[0] == 'S')
        return run_seal(m, d, len, res, maxr);
    if (len >= OPEN_HEAD && d[0] == 'O')
        return run_open(m, d, len, res, maxr);
    return ERR_MALFORMED;
}

/* The same, called from Python for one unit (inline pools, worker processes). */
long wg_run(uint8_t *base, const uint64_t *starts, const uint32_t *sizes, uint32_t nbufs,
            const uint8_t *desc, size_t len, int32_t *res, long maxr)
{
    struct wg_mem m = {base, starts, sizes, nbufs};
    return run_work(&m, desc, len, res, maxr);
}

/*
 * A crypto worker pool whose threads never take the GIL: Python submits a
 * unit's description into a free slot (the slots bound the pool), a thread
 * runs it and stores status[slot] (count or ERR_*) and the results at
 * results + slot * maxr, then queues the slot as done, and Python takes the
 * done slots with wg_pool_done. Units run in any order; the per-peer ordered
 * queues stay in Python (pipeline.py), as in the 2017 design.
 *
 * Completions are coalesced like a NIC's interrupts: the eventfd wake_fd is
 * written once per drain, when `batch` units are done or when no unit is left
 * waiting for a thread (so a lone unit is reported at once, and a stream wakes
 * the event loop every `batch` units instead of every unit: each wake-up of a
 * sleeping thread costs the loop more than its share of a unit's work).
 */
struct wg_pool {
    struct wg_mem mem;
    uint64_t *starts;
    uint32_t *sizes;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int slots;
    int *queue, qhead, qlen; /* slots waiting for a thread (a ring) */
    int *done, ndone;        /* slots finished, not yet taken by Python */
    uint8_t **desc;
    size_t *dlen;
    int64_t *status;
    int32_t *results;
    long maxr;
    int wake_fd, closing, nthreads, batch, notified;
    pthread_t *threads;
};

static void *pool_main(void *arg)
{
    struct wg_pool *p = arg;
    for (;;) {
        int slot, notify;
        long r;
        uint64_t one = 1;

        pthread_mutex_lock(&p->mu);
        while (!p->qlen && !p->closing)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->closing) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        slot = p->queue[p->qhead];
        p->qhead = (p->qhead + 1) % p->slots;
        p->qlen--;
        pthread_mutex_unlock(&p->mu);

        r = run_work(&p->mem, p->desc[slot], p->dlen[slot], p->results + (long)slot * p->maxr,
                     p->maxr);
        p->status[slot] = r;

        pthread_mutex_lock(&p->mu);
        p->done[p->ndone++] = slot;
        notify = !p->notified && (p->ndone >= p->batch || p->qlen == 0);
        if (notify)
            p->notified = 1;
        pthread_mutex_unlock(&p->mu);
        if (notify)
            (void)!write(p->wake_fd, &one, sizeof one);
    }
}

void wg_pool_free(struct wg_pool *p);

struct wg_pool *wg_pool_new(int nthreads, uint8_t *base, const uint64_t *starts,
                            const uint32_t *sizes, uint32_t nbufs, int slots,
                            int64_t *status, int32_t *results, long maxr, int wake_fd,
                            int batch)
{
    struct wg_pool *p = calloc(1, sizeof *p);
    int i;

    if (!p)
        return NULL;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->slots = slots;
    p->status = status;
    p->results = results;
    p->maxr = maxr;
    p->wake_fd = wake_fd;
    p->batch = batch < 1 ? 1 : batch;
    p->starts = malloc(nbufs * sizeof *starts);
    p->sizes = malloc(nbufs * sizeof *sizes);
    p->queue = calloc((size_t)slots, sizeof(int));
    p->done = calloc((size_t)slots, sizeof(int));
    p->desc = calloc((size_t)slots, sizeof(uint8_t *));
    p->dlen = calloc((size_t)slots, sizeof(size_t));
    p->threads = calloc((size_t)nthreads, sizeof(pthread_t));
    if (!p->starts || !p->sizes || !p->queue || !p->done || !p->desc || !p->dlen ||
        !p->threads) {
        wg_pool_free(p);
        return NULL;
    }
    memcpy(p->starts, starts, nbufs * sizeof *starts);
    memcpy(p->sizes, sizes, nbufs * sizeof *sizes);
    p->mem = (struct wg_mem){base, p->starts, p->sizes, nbufs};
    for (i = 0; i < nthreads; i++) {
        if (pthread_create(&p->threads[i], NULL, pool_main, p) != 0) {
            wg_pool_free(p);
            return NULL;
        }
        p->nthreads++;
    }
    return p;
}

/* Queue the unit described by desc (copied) in a free slot: 0, or -1 (no memory,
 * or the slot is out of range). */
int wg_pool_submit(struct wg_pool *p, int slot, const uint8_t *desc, size_t len)
{
    uint8_t *copy;

    if (slot < 0 || slot >= p->slots)
        return -1;
    copy = realloc(p->desc[slot], len ? len : 1);
    if (!copy)
        return -1;
    memcpy(copy, desc, len);
    p->desc[slot] = copy;
    p->dlen[slot] = len;
    pthread_mutex_lock(&p->mu);
    p->queue[(p->qhead + p->qlen) % p->slots] = slot;
    p->qlen++;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

/* Take up to max finished slots into out; returns how many. */
long wg_pool_done(struct wg_pool *p, int32_t *out, long max)
{
    long n;

    pthread_mutex_lock(&p->mu);
    n = p->ndone < max ? p->ndone : max;
    memcpy(out, p->done, (size_t)n * sizeof(int32_t));
    memmove(p->done, p->done + n, (size_t)(p->ndone - n) * sizeof(int));
    p->ndone -= (int)n;
    p->notified = p->ndone > 0; /* what is left was reported; else the next one is */
    pthread_mutex_unlock(&p->mu);
    return n;
}

/* Stop the threads (each finishes the unit it runs; queued ones are dropped) and
 * free the pool. */
void wg_pool_free(struct wg_pool *p)
{
    int i;

    pthread_mutex_lock(&p->mu);
    p->closing = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    if (p->desc)
        for (i = 0; i < p->slots; i++)
            free(p->desc[i]);
    free(p->desc);
    free(p->dlen);
    free(p->queue);
    free(p->done);
    free(p->threads);
    free(p->starts);
    free(p->sizes);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}

/* --- UDP receive: many reads per call --------------------------------------- */

#ifndef UDP_GRO
#define UDP_GRO 104
#endif

/*
 * Read a nonblocking UDP socket into buf, from pos on: one recvmsg per datagram
 * (or UDP GRO batch) while at least `need` bytes are left, at most `max` reads,
 * until nothing waits (what udp.recv_batch does once, looped here: a peer that
 * sends without GSO, like wireguard-go, costs one read per datagram).
 * Read i lands at offs[i] (16-byte aligned, as buffers.Arena packs them), lens[i]
 * bytes, segs[i] its GRO segment size (lens[i] for a lone datagram); its source
 * address goes to srcs + 28 * i (a sockaddr_in or sockaddr_in6). joins[i] is 1
 * when read i and read i - 1 are each one transport message (type 4, >= 32
 * bytes) from the same source under the same receiver index: read i may join
 * i - 1's run without being classified again; ctrs[i] is its counter.
 * Truncated and empty datagrams are dropped, each counted against max as a read
 * is. Returns the number of reads kept; *end is where
 * the next read would go; *err is 0, or the errno that stopped the loop other
 * than EAGAIN.
 */
long wg_udp_recv(int fd, uint8_t *buf, size_t pos, size_t cap, size_t need, long max,
                 uint32_t *offs, uint32_t *lens, uint32_t *segs, uint8_t *srcs,
                 uint8_t *joins, uint64_t *ctrs, size_t *end, int *err)
{
    long k = 0, tries = 0;
    uint32_t last_index = 0;
    int last_lone = 0;

    *err = 0;
    /* Every recvmsg counts against max, a dropped (empty or truncated) one too:
     * a flood of those must not keep the caller here until the socket is empty. */
    while (tries < max && cap >= pos && cap - pos >= need) {
        struct sockaddr_storage from;
        char control[CMSG_SPACE(sizeof(int))];
        struct iovec iov = {buf + pos, cap - pos};
        struct msghdr msg = {0};
        struct cmsghdr *c;
        ssize_t n;
        uint32_t seg;
        uint8_t *src = srcs + 28 * k, *p = buf + pos;
        int lone;

        msg.msg_name = &from;
        msg.msg_namelen = sizeof from;
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        n = recvmsg(fd, &msg, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                *err = errno;
            break;
        }
        tries++;
        if (msg.msg_flags & MSG_TRUNC || n == 0) {
            last_lone = 0;
            continue;
        }
        seg = (uint32_t)n;
        for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO &&
                c->cmsg_len >= CMSG_LEN(sizeof(int))) {
                int gso;
                memcpy(&gso, CMSG_DATA(c), sizeof gso);
                if (gso > 0)
                    seg = (uint32_t)gso;
            }
        }
        memset(src, 0, 28);
        memcpy(src, &from, msg.msg_namelen < 28 ? msg.msg_namelen : 28);
        offs[k] = (uint32_t)pos;
        lens[k] = (uint32_t)n;
        segs[k] = seg;
        lone = seg == (uint32_t)n && n >= HDR_LEN + TAG_LEN && get_le32(p) == MSG_TRANSPORT;
        ctrs[k] = lone ? get_le64(p + 8) : 0;
        joins[k] = (uint8_t)(lone && last_lone && get_le32(p + 4) == last_index &&
                             k > 0 && !memcmp(src, srcs + 28 * (k - 1), 28));
        last_lone = lone;
        last_index = lone ? get_le32(p + 4) : 0;
        pos += ((size_t)n + 15) & ~(size_t)15;
        k++;
    }
    *end = pos;
    return k;
}
