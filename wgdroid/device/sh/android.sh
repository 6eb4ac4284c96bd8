# android.sh: a tunnel up and down the way Android's own wg-quick does it
# (wireguard-tools src/wg-quick/android.c, docs/android-phone.md), for every
# backend: the interface from the kernel module, wireguard-go or wgdroid's
# userspace data plane; its configuration with `wg`; addresses, MTU, routes,
# a VPN network, its users and its DNS through netd (`ndc`, the dnsresolver
# service). Nothing here needs bash, resolvconf, /etc/resolv.conf or
# /dev/net/tun, and `down` removes every rule, route and network `up` made.
# Prelude constants: STORE_DIR, STATE_DIR, NOTE_DIR, SYS, DEV, DATA, USERSPACE_TOOL.
# needs: lib

# netd_routing: this phone routes through netd's policy rules (every Android
# since 5.0): ndc is there and no rule looks up `main`, so routes the Linux
# wg-quick puts in `main` would carry no app traffic.
netd_routing() {
  command -v ndc >/dev/null 2>&1 || return 1
  ip rule show 2>/dev/null | grep -q 'lookup main' && return 1
  return 0
}

# an_ndc ARG...: `ndc ARG...` must answer 2xx (ndc itself exits 0 either way,
# android.c's cndc reads the code); else `ndc` failure with netd's reply.
an_ndc() {
  # Each call is quick, but a tunnel may need thousands (a route per
  # AllowedIPs entry): stop while there is budget left to undo them.
  [ "$(remaining)" -gt 3 ] || fail timeout "ndc $*" "$BUDGET"
  step "ndc $*"
  _nd_reply=$(ndc "$@" 2>&1 </dev/null | head -n 1)
  case $_nd_reply in
    2[0-9][0-9]' '*) return 0 ;;
  esac
  fail ndc "ndc $*" "${_nd_reply:-no reply from netd}"
}

# an_sdk: the phone's SDK level (0 if unknown).
an_sdk() {
  _sk=$(getprop ro.build.version.sdk 2>/dev/null)
  case $_sk in '' | *[!0-9]*) echo 0 ;; *) echo "$_sk" ;; esac
}

# an_service_ok REPLY: `service call` printed a reply without an exception
# (the parcel's first word is 0: EX_NONE).
an_service_ok() {
  case $1 in
    *'Parcel(00000000 '* | *'Parcel(00000000)'*) return 0 ;;
  esac
  return 1
}

# an_s16 STRING: the bytes `service call`'s `s16 STRING` writes: a length,
# the UTF-16 units and a NUL unit, padded to 4 (ASCII strings).
an_s16() { echo $((4 + ((${#1} + 1) * 2 + 3) / 4 * 4)); }

# an_set_dns NETID: the network's DNS servers (AN_SERVERS) and search domains
# (AN_DOMAINS) in the DnsResolver: its binder service (createNetworkCache,
# setResolverConfiguration with AOSP's default parameters, as android.c
# writes them) since Android 10, `ndc resolver setnetdns` before.
an_set_dns() {
  [ -n "$AN_SERVERS" ] || return 0
  if [ "$(an_sdk)" -lt 29 ]; then
    # shellcheck disable=SC2086
    an_ndc resolver setnetdns "$1" "$AN_DOMAINS" $AN_SERVERS
    return 0
  fi
  step "dnsresolver createNetworkCache $1"
  _ds_r=$(service call dnsresolver 8 i32 "$1" 2>&1)
  an_service_ok "$_ds_r" || fail dns "createNetworkCache($1)" "$(echo "$_ds_r" | head -n 3)"
  # The parcelable: its size (counted from the size field), 7 ints, the
  # servers, the domains, tlsName, tlsServers, tlsFingerprints.
  _ds_size=56
  _ds_args=
  _ds_n=0
  for _ds_s in $AN_SERVERS; do
    _ds_size=$((_ds_size + $(an_s16 "$_ds_s")))
    _ds_n=$((_ds_n + 1))
    _ds_args="$_ds_args s16 $_ds_s"
  done
  _ds_list="i32 $_ds_n$_ds_args"
  _ds_args=
  _ds_n=0
  for _ds_s in $AN_DOMAINS; do
    _ds_size=$((_ds_size + $(an_s16 "$_ds_s")))
    _ds_n=$((_ds_n + 1))
    _ds_args="$_ds_args s16 $_ds_s"
  done
  step "dnsresolver setResolverConfiguration $1"
  # Word splitting on purpose: servers and domains were validated (no spaces).
  # shellcheck disable=SC2086
  _ds_r=$(service call dnsresolver 3 i32 1 i32 "$_ds_size" i32 "$1" i32 1800 i32 25 \
    i32 8 i32 8 i32 5000 i32 2 $_ds_list i32 "$_ds_n"$_ds_args s16 '' i32 0 i32 0 2>&1)
  an_service_ok "$_ds_r" || fail dns "setResolverConfiguration($1)" "$(echo "$_ds_r" | head -n 3)"
}

# an_resolve HOST: HOST's address as the phone resolves it (bionic through
# netd: the DNS of the network root's traffic uses), in at most 3 seconds;
# nothing if it does not resolve. ping's first line names the address
# (iputils: `PING host (addr) ...`; toybox: `Ping host (addr): ...`).
an_resolve() {
  within 3 ping -c 1 -W 1 -w 1 "$1" 2>/dev/null </dev/null |
    sed -n '1s/^[Pp][Ii][Nn][Gg] [^(]*(\([0-9A-Fa-f.:]*\)).*/\1/p'
}

# an_random_netid: an even netId in 4096..65534, as android.c picks them.
an_random_netid() {
  _rn=$(od -An -N2 -tu2 /dev/urandom 2>/dev/null | tr -dc 0-9)
  _rn=$(( (${_rn:-$$} % 30720) * 2 + 4096 ))
  echo "$_rn"
}

# an_key LINE: AN_KEY, the lower-cased key of a normalised `Key=Value` line
# (set, not printed: no subshell per line for a config with thousands of peers).
an_key() {
  case ${1%%=*} in
    [Aa][Dd][Dd][Rr][Ee][Ss][Ss]) AN_KEY=address ;;
    [Dd][Nn][Ss]) AN_KEY=dns ;;
    [Mm][Tt][Uu]) AN_KEY=mtu ;;
    [Ii][Nn][Cc][Ll][Uu][Dd][Ee][Dd][Aa][Pp][Pp][Ll][Ii][Cc][Aa][Tt][Ii][Oo][Nn][Ss]) AN_KEY=included ;;
    [Ee][Xx][Cc][Ll][Uu][Dd][Ee][Dd][Aa][Pp][Pp][Ll][Ii][Cc][Aa][Tt][Ii][Oo][Nn][Ss]) AN_KEY=excluded ;;
    [Ee][Nn][Dd][Pp][Oo][Ii][Nn][Tt]) AN_KEY=endpoint ;;
    [Pp][Rr][Ii][Vv][Aa][Tt][Ee][Kk][Ee][Yy]) AN_KEY=privatekey ;;
    [Tt][Aa][Bb][Ll][Ee] | [Ss][Aa][Vv][Ee][Cc][Oo][Nn][Ff][Ii][Gg] | [Pp][Rr][Ee][Uu][Pp] | \
      [Pp][Oo][Ss][Tt][Uu][Pp] | [Pp][Rr][Ee][Dd][Oo][Ww][Nn] | [Pp][Oo][Ss][Tt][Dd][Oo][Ww][Nn])
      AN_KEY=unsupported ;;
    *) AN_KEY=other ;;
  esac
}

# an_parse NORM: read the normalised config (comments and all whitespace gone,
# as wg reads it) into AN_ADDRS, AN_SERVERS, AN_DOMAINS, AN_MTU, AN_INCLUDED,
# AN_EXCLUDED and AN_HOSTS (`host:port` endpoints whose host is a name);
# what wg will not take stops here, with the key named. No [Interface]
# PrivateKey (an empty file too) stops here as well: the official app refuses
# such a config (Interface.Builder.build) and no hook may set the key later.
an_parse() {
  AN_ADDRS=''
  AN_SERVERS=''
  AN_DOMAINS=''
  AN_MTU=''
  AN_INCLUDED=''
  AN_EXCLUDED=''
  AN_HOSTS=
  _ap_iface=0
  _ap_key=''
  while IFS= read -r _ap_l; do
    case $_ap_l in
      \[[Ii][Nn][Tt][Ee][Rr][Ff][Aa][Cc][Ee]\]) _ap_iface=1; continue ;;
      \[*) _ap_iface=0; continue ;;
    esac
    an_key "$_ap_l"
    # Most lines (PublicKey, AllowedIPs... of every peer) are wg's alone.
    [ "$AN_KEY" = other ] && continue
    _ap_v=${_ap_l#*=}
    case $AN_KEY in
      address | dns | included | excluded) _ap_list=$(echo "$_ap_v" | tr ',' ' ') ;;
    esac
    case $AN_KEY in
      address) [ "$_ap_iface" = 1 ] && AN_ADDRS="$AN_ADDRS $_ap_list" ;;
      dns)
        for _ap_d in $_ap_list; do
          if an_is_ip "$_ap_d"; then AN_SERVERS="$AN_SERVERS $_ap_d"
          else
            case $_ap_d in *[!A-Za-z0-9.-]* | '' | -* | .*) fail bad-value DNS "$_ap_d" ;; esac
            AN_DOMAINS="$AN_DOMAINS $_ap_d"
          fi
        done ;;
      mtu)
        case $_ap_v in '' | *[!0-9]*) fail bad-value MTU "$_ap_v" ;; esac
        AN_MTU=$_ap_v ;;
      included | excluded)
        for _ap_p in $_ap_list; do
          # A package name (PackageParser's rules): letters, digits, `_`, dots.
          case $_ap_p in
            *[!A-Za-z0-9_.]* | .* | *. | *..* | [0-9_]*) fail bad-package "$_ap_p" ;;
          esac
        done
        if [ "$AN_KEY" = included ]; then AN_INCLUDED="$AN_INCLUDED $_ap_list"
        else AN_EXCLUDED="$AN_EXCLUDED $_ap_list"; fi ;;
      endpoint)
        _ap_h=${_ap_v%:*}
        case $_ap_h in \[*) ;; *) an_is_ip "$_ap_h" || AN_HOSTS="$AN_HOSTS $_ap_v" ;; esac ;;
      privatekey) [ "$_ap_iface" = 1 ] && [ -n "$_ap_v" ] && _ap_key=1 ;;
      unsupported) fail unsupported-key "${_ap_l%%=*}" ;;
    esac
  done <"$1"
  [ -n "$_ap_key" ] || fail no-private-key
  if [ -n "$AN_INCLUDED" ] && [ -n "$AN_EXCLUDED" ]; then fail both-app-lists; fi
  return 0
}

# an_is_ip TEXT: an IPv4 address, or an IPv6 one (it has a colon).
an_is_ip() {
  case $1 in
    *:*) case $1 in *[!0-9A-Fa-f:.]*) return 1 ;; esac; return 0 ;;
    *[!0-9.]* | '' | .* | *. | *..*) return 1 ;;
  esac
  return 0
}

# an_uid PACKAGE: its uid in packages.list; nothing if it is not installed.
an_uid() {
  _ai=$(sed -n "s/^$(echo "$1" | sed 's/\./\\./g') \([0-9][0-9]*\) .*/\1/p" \
    "$DATA/system/packages.list" 2>/dev/null | head -n 1)
  [ "$_ai" = 0 ] || echo "$_ai"
}

# an_app_uids LIST: AN_APP_UIDS, the uids of LIST's packages sorted; the
# packages that are not installed are said in `warn` records.
an_app_uids() {
  AN_APP_UIDS=''
  for _aa_p in $1; do
    _aa_u=$(an_uid "$_aa_p")
    if [ -n "$_aa_u" ]; then AN_APP_UIDS="$AN_APP_UIDS $_aa_u"
    else rec warn not-installed "$_aa_p"; fi
  done
  # shellcheck disable=SC2086
  [ -z "$AN_APP_UIDS" ] || AN_APP_UIDS=$(printf '%s\n' $AN_APP_UIDS | sort -n -u)
}

# an_users NETID: the VPN's users, as android.c's set_users: the apps of
# IncludedApplications, else every uid of user 0 but ExcludedApplications';
# 18 ranges per `ndc network users add`.
an_users() {
  _us_ranges=
  _us_count=0
  if [ -n "$AN_INCLUDED" ]; then
    an_app_uids "$AN_INCLUDED"
    [ -n "$AN_APP_UIDS" ] || fail no-apps "$(echo "${AN_INCLUDED# }" | tr ' ' ',')"
    for _us_u in $AN_APP_UIDS; do
      _us_ranges="$_us_ranges $_us_u"
      _us_count=$((_us_count + 1))
      [ $((_us_count % 18)) = 0 ] && { an_users_add "$1"; _us_ranges=; }
    done
  else
    _us_start=0
    an_app_uids "$AN_EXCLUDED"
    for _us_u in $AN_APP_UIDS; do
      if [ "$_us_start" -lt "$_us_u" ]; then
        if [ "$_us_start" = $((_us_u - 1)) ]; then _us_ranges="$_us_ranges $_us_start"
        else _us_ranges="$_us_ranges $_us_start-$((_us_u - 1))"; fi
        _us_count=$((_us_count + 1))
        [ $((_us_count % 18)) = 0 ] && { an_users_add "$1"; _us_ranges=; }
      fi
      _us_start=$((_us_u + 1))
    done
    [ "$_us_start" -le 99999 ] && _us_ranges="$_us_ranges $_us_start-99999"
  fi
  [ -z "$_us_ranges" ] || an_users_add "$1"
}
an_users_add() {
  # shellcheck disable=SC2086
  an_ndc network users add "$1" $_us_ranges
}

# an_route_mtu DEST: the MTU of the route to DEST (its own, or its device's).
an_route_mtu() {
  _rm=$(ip -o route get "$1" 2>/dev/null)
  case $_rm in
    *' mtu '*) _rm=${_rm#* mtu }; echo "${_rm%% *}"; return 0 ;;
    *' dev '*) _rm=${_rm#* dev }; _rm=${_rm%% *} ;;
    *) return 1 ;;
  esac
  cat "$SYS/class/net/$_rm/mtu" 2>/dev/null
}

# an_mtu NAME: the config's MTU, else android.c's: the smallest route MTU
# towards the endpoints (1500 without), minus 80.
an_mtu() {
  if [ -n "$AN_MTU" ] && [ "$AN_MTU" != 0 ]; then echo "$AN_MTU"; return 0; fi
  _mt=1500
  _mt_seen=' '
  for _mt_e in $(wg show "$1" endpoints 2>/dev/null | cut -f 2); do
    _mt_h=${_mt_e%:*}
    _mt_h=${_mt_h#[}
    _mt_h=${_mt_h%]}
    # A peer without an endpoint says (none); each address once: a route
    # lookup is a process, and a tunnel may have thousands of peers.
    case $_mt_seen in *" $_mt_h "*) continue ;; esac
    _mt_seen="$_mt_seen$_mt_h "
    [ "$_mt_e" = "(none)" ] && continue
    _mt_r=$(an_route_mtu "$_mt_h") || continue
    [ -n "$_mt_r" ] && [ "$_mt_r" -lt "$_mt" ] && _mt=$_mt_r
  done
  echo $((_mt - 80))
}

# an_iptables ADD|DEL NAME [PORT]: android.c's firewall rules, commented
# `wireguard rule NAME`: WireGuard's own packets (fwmark 0x20000) out, and
# its listen port in (IPv6 dropped when no endpoint is IPv6).
an_iptables() {
  if [ "$1" = ADD ]; then
    _ip_c="wireguard rule $2"
    iptables -I OUTPUT 1 -m mark --mark 0x20000 -j ACCEPT -m comment --comment "$_ip_c" ||
      fail iptables OUTPUT
    ip6tables -I OUTPUT 1 -m mark --mark 0x20000 -j ACCEPT -m comment --comment "$_ip_c" ||
      fail ip6tables OUTPUT
    if [ -n "$3" ]; then
      _ip_v6=DROP
      wg show "$2" endpoints 2>/dev/null | cut -f 2 | grep -q '^\[' && _ip_v6=ACCEPT
      iptables -I INPUT 1 -p udp --dport "$3" -j ACCEPT -m comment --comment "$_ip_c" ||
        fail iptables INPUT
      ip6tables -I INPUT 1 -p udp --dport "$3" -j "$_ip_v6" -m comment --comment "$_ip_c" ||
        fail ip6tables INPUT
    fi
    return 0
  fi
  for _ip_t in iptables ip6tables; do
    "$_ip_t-save" 2>/dev/null | grep -F -- "--comment \"wireguard rule $2\"" |
      sed -n 's/^-A //p' | while IFS= read -r _ip_r; do
        # The rule as iptables-save printed it, split back into words.
        eval "set -- $_ip_r"
        "$_ip_t" -D "$@" 2>/dev/null
      done
  done
  return 0
}

# an_netid NAME: the netId of NAME's VPN: from its state file, else from
# netd's rules (an_rule_netid).
an_netid() {
  _ni=$(sed -n 's/^[0-9]* [a-z-]* [0-9]* \([0-9][0-9]*\)$/\1/p' "$NOTE_DIR/$1" 2>/dev/null)
  [ -n "$_ni" ] || _ni=$(an_rule_netid "$1")
  echo "$_ni"
}

# an_rule_netid NAME: the netId of the network netd has NAME in, from its
# rules (`fwmark 0xcNETID/0xcffff lookup NAME`, as android.c's del_if finds
# it); nothing if none.
an_rule_netid() {
  _rni=$(ip rule show 2>/dev/null |
    sed -n "s/.*fwmark 0xc\\([0-9a-f]*\\)\\/0xcffff lookup $1\$/\\1/p" | head -n 1)
  [ -z "$_rni" ] || echo $((0x$_rni))
}

# an_stale NAME: remove what an up of NAME that was killed half-way left
# (NAME is down and its lock held, so nothing of NAME is a live up's): the
# VPN network netd still holds NAME in (netd refuses NAME to a new one:
# EBUSY) with its rules, and the firewall rules. True if there was any.
an_stale() {
  _sl_id=$(an_rule_netid "$1")
  _sl_fw=$(iptables-save 2>/dev/null | grep -F -- "--comment \"wireguard rule $1\"")
  [ -n "$_sl_id$_sl_fw" ] || return 1
  step "clean-up of an interrupted up of $1"
  an_teardown "$1" "$_sl_id"
  rec warn stale "$1"
}

# an_teardown NAME NETID: everything up made, whatever exists of it.
an_teardown() {
  ip link del "$1" >/dev/null 2>&1
  an_iptables DEL "$1"
  if [ -n "$2" ]; then ndc network destroy "$2" >/dev/null 2>&1 </dev/null; fi
  return 0
}

# an_abort: a failed up leaves nothing (runs at exit while AN_UP names it).
AN_UP=
AN_NETID=
an_abort() {
  [ -n "$AN_UP" ] || return 0
  an_teardown "$AN_UP" "$AN_NETID"
  wait_gone "$AN_UP" 3
  forget_socket "$AN_UP"
}

# an_create NAME BACKEND: the interface, from the kernel module, wireguard-go
# (given the TUN node it opens: Android's is /dev/tun) or the userspace data
# plane. The phone's lock held (phone_locked): the /dev/net/tun link is
# every tunnel's, made and removed by whichever up needs it.
an_create() {
  case $2 in
    kernel)
      step "ip link add $1 type wireguard"
      ip link add "$1" type wireguard 1>&2 || fail create "$1" kernel ;;
    wireguard-go)
      # wireguard-go opens only /dev/net/tun, and only as it starts: the link
      # to Android's node lives as long as that, and the phone stays as it was.
      _cr_link=''
      _cr_dir=''
      if [ ! -c "$DEV/net/tun" ]; then
        [ -c "$DEV/tun" ] || fail no-tun
        [ -d "$DEV/net" ] || { mkdir "$DEV/net" || fail no-tun; _cr_dir=1; }
        ln -s "$DEV/tun" "$DEV/net/tun" || fail no-tun
        _cr_link=1
      fi
      bounded "wireguard-go $1" wireguard-go "$1" 7>&- 8>&-
      _cr_rc=$?
      [ -z "$_cr_link" ] || rm -f "$DEV/net/tun"
      [ -z "$_cr_dir" ] || rmdir "$DEV/net" 2>/dev/null
      [ "$_cr_rc" = 0 ] || fail create "$1" wireguard-go ;;
    userspace)
      bounded "$USERSPACE_TOOL $1" "$USERSPACE_TOOL" "$1" 7>&- 8>&- ||
        fail create "$1" userspace ;;
  esac
  [ -e "$SYS/class/net/$1" ] || fail create "$1" "$2"
}

# an_bind NAME BACKEND FILE: the interface made and configured by wg (its
# ListenPort bound), the phone's lock held: what tunnels share is free
# (port_free) until then. From an_up: _au_norm, _au_subst.
an_bind() {
  port_free "$3"
  an_create "$1" "$2"
  step "wg setconf $1"
  # Everything wg takes: the keys this script handles go (android.c's rule).
  set -f
  # shellcheck disable=SC2086
  sed -e '/^[Aa][Dd][Dd][Rr][Ee][Ss][Ss]=/d' -e '/^[Dd][Nn][Ss]=/d' -e '/^[Mm][Tt][Uu]=/d' \
    -e '/^[Ii][Nn][Cc][Ll][Uu][Dd][Ee][Dd][Aa][Pp][Pp][Ll][Ii][Cc][Aa][Tt][Ii][Oo][Nn][Ss]=/d' \
    -e '/^[Ee][Xx][Cc][Ll][Uu][Dd][Ee][Dd][Aa][Pp][Pp][Ll][Ii][Cc][Aa][Tt][Ii][Oo][Nn][Ss]=/d' \
    $_au_subst "$_au_norm" | wg setconf "$1" /dev/stdin 1>&2
  _ab_rc=$?
  set +f
  [ "$_ab_rc" = 0 ] || fail wg-setconf "$1"
  wg set "$1" fwmark 0x20000 || fail wg-setconf "$1"
}

# an_up NAME FILE BACKEND: NAME up from FILE on BACKEND (its lock held).
an_up() {
  _au_n=$1
  # The config as wg reads it (comments and whitespace gone); it holds the
  # private key: a root-only temp file, removed however the script ends.
  mkdir -p "$STATE_DIR" || fail write "$STATE_DIR"
  chmod 700 "$STATE_DIR"
  sweep "$STATE_DIR" ".up.*."  # every killed up's, not only this name's
  _au_norm=$STATE_DIR/.up.$_au_n.$$
  temp "$_au_norm"
  sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$2" >"$_au_norm" || fail write "$_au_norm"
  an_parse "$_au_norm"
  # First: a leftover VPN network would carry the resolving below too.
  an_stale "$_au_n" || :
  # Hostname endpoints, resolved here (wg may have no resolver on a phone).
  _au_subst=
  _au_done=' '
  for _au_e in $AN_HOSTS; do
    _au_h=${_au_e%:*}
    # Each name once, however many peers use it.
    case $_au_done in *" $_au_h "*) continue ;; esac
    _au_done="$_au_done$_au_h "
    case $_au_h in *[!A-Za-z0-9.-]* | '' | -* | .*) fail bad-value Endpoint "$_au_e" ;; esac
    step "resolve $_au_h"
    _au_ip=$(an_resolve "$_au_h")
    [ -n "$_au_ip" ] || fail unresolved "$_au_h"
    case $_au_ip in *:*) _au_ip="[$_au_ip]" ;; esac
    rec resolved "$_au_h" "$_au_ip"
    _au_subst="$_au_subst -e s/^\\([Ee][Nn][Dd][Pp][Oo][Ii][Nn][Tt]=\\)$(echo "$_au_h" |
      sed 's/\./\\./g'):/\\1$_au_ip:/"
  done
  AN_UP=$_au_n
  at_exit an_abort
  phone_locked an_bind "$_au_n" "$3" "$2"
  ip link set up dev "$_au_n" || fail create "$_au_n" "$3"
  _au_port=$(wg show "$_au_n" listen-port 2>/dev/null)
  an_iptables ADD "$_au_n" "$_au_port"
  # The VPN network (secure: apps cannot bypass it), a fresh netId.
  _au_i=0
  while :; do
    AN_NETID=$(an_random_netid)
    if [ "$(an_sdk)" -lt 31 ]; then
      _au_r=$(ndc network create "$AN_NETID" vpn 1 1 2>&1 </dev/null | head -n 1)
    else
      _au_r=$(ndc network create "$AN_NETID" vpn 1 2>&1 </dev/null | head -n 1)
    fi
    case $_au_r in
      2[0-9][0-9]' '*) break ;;
      *'File exists'*) _au_i=$((_au_i + 1)); [ "$_au_i" -lt 5 ] && continue ;;
    esac
    _au_id=$AN_NETID
    AN_NETID=
    fail ndc "ndc network create $_au_id vpn 1" "${_au_r:-no reply from netd}"
  done
  an_ndc network interface add "$AN_NETID" "$_au_n"
  for _au_a in $AN_ADDRS; do
    case $_au_a in
      *:*) an_ndc interface ipv6 "$_au_n" enable
        ip -6 addr add "$_au_a" dev "$_au_n" || fail address "$_au_a" ;;
      */*) ip -4 addr add "$_au_a" dev "$_au_n" || fail address "$_au_a" ;;
      *) ip -4 addr add "$_au_a/32" dev "$_au_n" || fail address "$_au_a" ;;
    esac
  done
  an_set_dns "$AN_NETID"
  for _au_c in $(wg show "$_au_n" allowed-ips | cut -f 2); do
    [ "$_au_c" = "(none)" ] || an_ndc network route add "$AN_NETID" "$_au_n" "$_au_c"
  done
  an_ndc interface setmtu "$_au_n" "$(an_mtu "$_au_n")"
  an_users "$AN_NETID"
  note_up "$_au_n" "$3" "$AN_NETID"  # with the netId an_down needs
  AN_UP=
  at_exit ''
}

# an_down NAME: take NAME down with everything its up made.
an_down() {
  _ad_netid=$(an_netid "$1")
  step "ip link del $1"
  an_teardown "$1" "$_ad_netid"
}
