# net.sh: a running tunnel changed in place (push to a running tunnel):
# peers through `wg syncconf`, then the addresses, routes and MTU that
# changed, the way the Linux wg-quick sets them (ip(8)). A bring-up through
# netd replaces the net_* functions (defined after this file, they win).
# needs: lib dialect tunnel

KEY_ADDRESS='[Aa][Dd][Dd][Rr][Ee][Ss][Ss]'
KEY_ALLOWED='[Aa][Ll][Ll][Oo][Ww][Ee][Dd][Ii][Pp][Ss]'
KEY_DNS='[Dd][Nn][Ss]'
KEY_MTU='[Mm][Tt][Uu]'
KEY_TABLE='[Tt][Aa][Bb][Ll][Ee]'
KEY_FWMARK='[Ff][Ww][Mm][Aa][Rr][Kk]'

# conf_list FILE KEY: the values of KEY (a bracket pattern), one per line
# (comma lists split, blanks and comments dropped).
conf_list() {
  sed -n "s/^[[:space:]]*${2}[[:space:]]*=\\([^#]*\\).*/\\1/p" "$1" | while IFS= read -r _cl_l; do
    _cl_ifs=$IFS
    IFS=",	 "
    set -f
    # shellcheck disable=SC2086
    set -- $_cl_l
    set +f
    IFS=$_cl_ifs
    for _cl_v in "$@"; do echo "$_cl_v"; done
  done
}

# conf_strip FILE [FWMARK]: the config without wg-quick's own keys (all of
# them live in [Interface]): what `wg syncconf` reads. FWMARK: its FwMark
# line says that mark instead (without one, syncconf leaves the mark as is).
conf_strip() {
  _cs_fw='s/^//'
  [ -z "$2" ] || _cs_fw="s/^[[:space:]]*${KEY_FWMARK}[[:space:]]*=.*/FwMark = $2/"
  sed -e "$_cs_fw" -e "/^[[:space:]]*${KEY_ADDRESS}[[:space:]]*=/d" -e "/^[[:space:]]*${KEY_DNS}[[:space:]]*=/d" \
    -e "/^[[:space:]]*${KEY_MTU}[[:space:]]*=/d" -e "/^[[:space:]]*${KEY_TABLE}[[:space:]]*=/d" \
    -e '/^[[:space:]]*[Pp][Rr][Ee][Uu][Pp][[:space:]]*=/d' \
    -e '/^[[:space:]]*[Pp][Oo][Ss][Tt][Uu][Pp][[:space:]]*=/d' \
    -e '/^[[:space:]]*[Pp][Rr][Ee][Dd][Oo][Ww][Nn][[:space:]]*=/d' \
    -e '/^[[:space:]]*[Pp][Oo][Ss][Tt][Dd][Oo][Ww][Nn][[:space:]]*=/d' \
    -e '/^[[:space:]]*[Ss][Aa][Vv][Ee][Cc][Oo][Nn][Ff][Ii][Gg][[:space:]]*=/d' \
    -e '/^[[:space:]]*[Ii][Nn][Cc][Ll][Uu][Dd][Ee][Dd][Aa][Pp][Pp][Ll][Ii][Cc][Aa][Tt][Ii][Oo][Nn][Ss][[:space:]]*=/d' \
    -e '/^[[:space:]]*[Ee][Xx][Cc][Ll][Uu][Dd][Ee][Dd][Aa][Pp][Pp][Ll][Ii][Cc][Aa][Tt][Ii][Oo][Nn][Ss][[:space:]]*=/d' \
    "$1"
}

# net_facts FILE: `addr|route|dns|mtu|table VALUE` lines, sorted: what of a
# config wg-quick sets outside wg.
net_facts() {
  {
    conf_list "$1" "$KEY_ADDRESS" | sed 's/^/addr /'
    conf_list "$1" "$KEY_ALLOWED" | sed 's/^/route /'
    conf_list "$1" "$KEY_DNS" | sed 's/^/dns /'
    conf_list "$1" "$KEY_MTU" | sed 's/^/mtu /'
    conf_list "$1" "$KEY_TABLE" | sed 's/^/table /'
  } | sort -u
}

# only_in KIND FACTS_A FACTS_B: the KIND values A has and B lacks.
only_in() {
  out "$2" | while IFS=' ' read -r _oi_k _oi_v; do
    [ "$_oi_k" = "$1" ] || continue
    case "
$3
" in
      *"
$1 $_oi_v
"*) ;;
      *) echo "$_oi_v" ;;
    esac
  done
}

# of KIND FACTS: the KIND values, one per line. (`out`, not printf: under
# mksh printf is a process, and FACTS of a big config pass 128 KiB.)
of() { out "$2" | sed -n "s/^$1 //p"; }

# net_addr_add|net_addr_del NAME CIDR, net_route_add|net_route_del NAME CIDR,
# net_mtu NAME MTU: what the Linux wg-quick does for these.
net_addr_add() { ip address add "$2" dev "$1"; }
net_addr_del() { ip address del "$2" dev "$1"; }
net_route_add() { ip route replace "$2" dev "$1"; }
net_route_del() { ip route del "$2" dev "$1" 2>/dev/null || ! ip route show dev "$1" | grep -q "^$2 "; }
net_mtu() { ip link set mtu "$2" dev "$1"; }

# live_blocker OLD NEW: why the change cannot be made in place (empty: it can).
live_blocker() {
  [ "$(of dns "$1")" = "$(of dns "$2")" ] || { echo dns; return; }
  [ -z "$(of table "$1")$(of table "$2")" ] || { echo table; return; }
  if [ "$(of route "$1")" != "$(of route "$2")" ]; then
    case "$(of route "$1") $(of route "$2")" in */0*) echo default-route; return ;; esac
  fi
  if [ -n "$(of mtu "$1")" ] && [ -z "$(of mtu "$2")" ]; then echo mtu; return; fi
  # Addresses, routes and MTU through netd (android.sh) come with a restart.
  if [ "$(of addr "$1")$(of route "$1")$(of mtu "$1")" != \
    "$(of addr "$2")$(of route "$2")$(of mtu "$2")" ] &&
    { netd_routing || [ "$(wg_dialect "")" != linux ]; }; then
    echo android-net
  fi
}

# change NAME KIND OLD NEW DEL ADD: DEL the KIND values only OLD has, ADD
# those only NEW has (each: DEL|ADD NAME VALUE); true if anything changed.
change() {
  _ch=1
  for _ch_v in $(only_in "$2" "$3" "$4"); do
    "$5" "$1" "$_ch_v" || fail apply-failed "$1" "$2 $_ch_v"
    _ch=0
  done
  for _ch_v in $(only_in "$2" "$4" "$3"); do
    "$6" "$1" "$_ch_v" || fail apply-failed "$1" "$2 $_ch_v"
    _ch=0
  done
  return "$_ch"
}

# apply_live NAME OLD_FACTS FILE: FILE (the pushed config, not stored yet)
# onto the running tunnel; `applied NAME WHAT` (WHAT: peers, then addresses
# routes mtu as they changed). Returns 1 with RESTART_WHY set when only a
# restart can do it. `live-refused`: wg syncconf took nothing (it reads the
# whole config, names resolved, before it sets anything); `apply-failed`: the
# peers changed, a later step did not.
apply_live() {
  _al_f=$3
  _al_new=$(net_facts "$_al_f")
  RESTART_WHY=$(live_blocker "$2" "$_al_new")
  [ -z "$RESTART_WHY" ] || return 1
  # Through netd, WireGuard's own packets carry 0x20000 whatever the config
  # says (android.c, as an_bind sets it): the firewall exemption matches it.
  _al_mark=
  netd_routing && _al_mark=0x20000
  step "wg syncconf"
  conf_strip "$_al_f" "$_al_mark" | wg syncconf "$1" /proc/self/fd/0 || fail live-refused "$1"
  _al_what=peers
  change "$1" addr "$2" "$_al_new" net_addr_del net_addr_add && _al_what="$_al_what addresses"
  if [ -z "$(of table "$_al_new")" ]; then
    change "$1" route "$2" "$_al_new" net_route_del net_route_add && _al_what="$_al_what routes"
  fi
  if [ "$(of mtu "$2")" != "$(of mtu "$_al_new")" ]; then
    net_mtu "$1" "$(of mtu "$_al_new")" || fail apply-failed "$1" mtu
    _al_what="$_al_what mtu"
  fi
  rec applied "$1" "$_al_what"
}
