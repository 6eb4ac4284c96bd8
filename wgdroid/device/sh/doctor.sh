# doctor.sh: what the phone has for WireGuard, as `fact` records. Runs as
# root, or (when root fails) as the shell user, to still say the rest: `uid`
# says which, since the shell user cannot see root-only places.
# Prelude constants: STORE_DIR, SYS, DEV, TOOL_DIRS, USERSPACE_TOOL.
# needs: lib dialect tunnel tools

# fact KEY VALUE: one fact; VALUE's whitespace (newlines too) squeezed to spaces.
fact() {
  _fa_k=$1
  set -f
  # shellcheck disable=SC2086
  set -- $2
  set +f
  rec fact "$_fa_k" "$*"
}

# where TOOL: its path on PATH, else in one of TOOL_DIRS; nothing if neither.
where() {
  command -v "$1" 2>/dev/null && return 0
  _wh_ifs=$IFS
  IFS=:
  for _wh_d in $TOOL_DIRS; do
    if [ -x "$_wh_d/$1" ]; then IFS=$_wh_ifs; echo "$_wh_d/$1"; return 0; fi
  done
  IFS=$_wh_ifs
  return 1
}

yes_no() { if "$@"; then echo yes; else echo no; fi; }

has_tun() { [ -c "$DEV/net/tun" ] || [ -c "$DEV/tun" ]; }

# tun_nodes: the TUN nodes the phone has (Android's /dev/tun, Linux's
# /dev/net/tun), comma-separated.
tun_nodes() {
  _tn=
  [ -c "$DEV/tun" ] && _tn=/dev/tun
  [ -c "$DEV/net/tun" ] && _tn="${_tn:+$_tn, }/dev/net/tun"
  echo "$_tn"
}

# app_has_tools: the official app's APK ($APK) carries wg and wg-quick.
app_has_tools() { app_lib libwg.so >/dev/null && app_lib libwg-quick.so >/dev/null; }

# can_make DIR: DIR exists, or its nearest existing parent is a directory
# root may write (a read-only /, as on Android, is not).
can_make() {
  _cm=$1
  while [ ! -e "$_cm" ]; do
    _cm=${_cm%/*}
    [ -n "$_cm" ] || _cm=/
  done
  [ -d "$_cm" ] && [ -w "$_cm" ]
}

op_doctor() {
  fact uid "$(id -u)"
  fact model "$(getprop ro.product.model)"
  fact release "$(getprop ro.build.version.release)"
  fact sdk "$(getprop ro.build.version.sdk)"
  fact abi "$(getprop ro.product.cpu.abi)"
  fact kernel "$(uname -r)"
  fact selinux "$(getenforce 2>/dev/null)"
  fact module "$(yes_no test -d "$SYS/module/wireguard")"
  fact module_version "$(cat "$SYS/module/wireguard/version" 2>/dev/null)"
  fact tun "$(yes_no has_tun)"
  fact tun_nodes "$(tun_nodes)"
  fact store "$(yes_no test -d "$STORE_DIR")"
  for _dr_t in wg wg-quick wireguard-go "$USERSPACE_TOOL" ip su bash; do
    fact "path:$_dr_t" "$(where "$_dr_t")"
  done
  fact path:python3 "$(find_python)"
  for _dr_t in wg wireguard-go; do
    _dr_p=$(where "$_dr_t") && fact "version:$_dr_t" "$("$_dr_p" --version 2>&1 | head -n 1)"
  done
  _dr_p=$(where wg-quick) && fact wg_quick_variant "$(wg_dialect "$_dr_p")"
  # How tunnels come up here (tunnel.sh wg_up): wgdroid's Android bring-up
  # where netd routes (no rule looks up main), else the Linux wg-quick.
  if netd_routing; then fact bring_up android; else fact bring_up wg-quick; fi
  APK=$(app_apk)
  fact app_apk "$APK"
  fact app_tools "$(yes_no app_has_tools)"
  if _dr_p=$(where wg); then
    _dr_sd=$(sock_dir "$_dr_p")
    fact socket_dir "$_dr_sd"
    fact socket_dir_ok "$(yes_no can_make "$_dr_sd")"
  fi
  if _dr_p=$(find_python); then
    fact version:python3 "$("$_dr_p" -V 2>&1)"
    fact cryptography "$("$_dr_p" -c 'import cryptography; print(cryptography.__version__)' 2>/dev/null)"
  fi
}
