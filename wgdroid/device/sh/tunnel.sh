# tunnel.sh: one tunnel up and down under the tunnel's lock: the Android way
# (android.sh) on a phone that routes through netd, which is every Android
# phone; with the Linux wg-quick only on one whose kernel rules still look
# up `main` (where that wg-quick's routes work).
# Prelude constants: STORE_DIR, STATE_DIR, NOTE_DIR, BOOT_DIR, BOOT_SCRIPT,
# APP_FILES, DATA, SYS, USERSPACE_TOOL, DOWN_WAIT.
# needs: lib dialect android

# is_up NAME: NAME runs as a tunnel: wg knows it, or the kernel has it and
# wgdroid's note says wgdroid brought it up (a userspace backend whose socket
# this wg does not see). One of the phone's own interfaces (wlan0, rmnet_data0,
# another VPN's tun0) is no tunnel: taking it down cuts the phone off.
is_up() {
  wg show "$1" >/dev/null 2>&1 || { [ -e "$SYS/class/net/$1" ] && [ -f "$NOTE_DIR/$1" ]; }
}

# present NAME: wg or the kernel has NAME, whoever made it (only for waiting
# on an interface this script made or took down itself).
present() { wg show "$1" >/dev/null 2>&1 || [ -e "$SYS/class/net/$1" ]; }

# not_foreign NAME: else `iface-taken`: the kernel has NAME and it is no tunnel.
not_foreign() {
  if [ -e "$SYS/class/net/$1" ] && ! is_up "$1"; then fail iface-taken "$1"; fi
}

has_kmod() { [ -d "$SYS/module/wireguard" ]; }

# listen_port FILE: the config's ListenPort (the last one wins, as in wg).
LISTEN_PORT_SED='s/^[[:space:]]*[Ll][Ii][Ss][Tt][Ee][Nn][Pp][Oo][Rr][Tt][[:space:]]*=[[:space:]]*\([0-9][0-9]*\).*/\1/p'
listen_port() { sed -n "$LISTEN_PORT_SED" "$1" | tail -n 1; }

# port_user PORT: the running tunnel that listens on PORT, if any.
port_user() {
  wg show all listen-port 2>/dev/null | while read -r _pu_i _pu_p; do
    if [ "$_pu_p" -eq "$1" ] 2>/dev/null; then echo "$_pu_i"; break; fi
  done
}

# sock_dir WG: where that wg binary looks for UAPI sockets (its RUNSTATEDIR
# plus /wireguard, compiled in); /var/run/wireguard if it does not say.
sock_dir() {
  _sd=$(grep -ao '/[-A-Za-z0-9_./]*/wireguard/%s\.sock' "$1" 2>/dev/null | head -n 1)
  [ -n "$_sd" ] || _sd=$(strings "$1" 2>/dev/null | grep '/wireguard/%s\.sock$' | head -n 1)
  [ -n "$_sd" ] || _sd=/var/run/wireguard/%s.sock
  echo "${_sd%/%s.sock}"
}

# forget_socket NAME: a UAPI socket left by a userspace backend that died
# (killed, or its interface deleted under it) makes the name look taken.
forget_socket() {
  present "$1" && return 0
  _fs=$(sock_dir "$(command -v wg 2>/dev/null)")/$1.sock
  if [ -S "$_fs" ]; then rm -f "$_fs"; fi
}

# conf_of NAME: NAME's config: wgdroid's store first, then the official
# app's folder (where the Android wg-quick also looks); nothing if neither.
conf_of() {
  if [ -f "$STORE_DIR/$1.conf" ]; then echo "$STORE_DIR/$1.conf"
  elif [ -f "$APP_FILES/$1.conf" ]; then echo "$APP_FILES/$1.conf"
  fi
}

# pick_backend BACKEND [android]: check BACKEND (auto picks the best the
# phone has) and set BACKEND and the wg-quick environment for it. `android`:
# wgdroid makes the interface itself, so any backend the phone has will do.
pick_backend() {
  BACKEND=$1
  if [ "$BACKEND" = auto ]; then
    if has_kmod; then BACKEND=kernel
    elif command -v wireguard-go >/dev/null 2>&1; then BACKEND=wireguard-go
    elif command -v "$USERSPACE_TOOL" >/dev/null 2>&1; then BACKEND=userspace
    else fail no-backend
    fi
  fi
  # The Android wg-quick (a binary, not a bash script) has no userspace fallback.
  if [ "$2" != android ] && [ "$BACKEND" != kernel ] && [ "$(wg_dialect "")" != linux ]; then
    fail android-wgquick "$BACKEND"
  fi
  case $BACKEND in
    kernel)
      has_kmod || fail no-kmod
      unset WG_QUICK_USERSPACE_IMPLEMENTATION ;;
    wireguard-go)
      command -v wireguard-go >/dev/null 2>&1 || fail no-wireguard-go
      [ "$2" = android ] || ! has_kmod || fail kmod-wins "$BACKEND"
      WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go
      export WG_QUICK_USERSPACE_IMPLEMENTATION ;;
    userspace)
      _pb_u=$(command -v "$USERSPACE_TOOL" 2>/dev/null) || fail no-userspace
      [ "$2" = android ] || ! has_kmod || fail kmod-wins "$BACKEND"
      WG_QUICK_USERSPACE_IMPLEMENTATION=$_pb_u
      export WG_QUICK_USERSPACE_IMPLEMENTATION ;;
  esac
}

# need_tools: wg-quick and wg, or the `no-tool` failure naming the first missing.
need_tools() {
  for _nt in wg-quick wg; do
    command -v "$_nt" >/dev/null 2>&1 || fail no-tool "$_nt"
  done
}

# check_conf FILE NAME: every PrivateKey/PresharedKey/PublicKey line of
# NAME's config holds a key wg takes (44 base64 characters, 32 bytes: the
# one before `=` is one of AEIMQUYcgkosw048), before any wg reads the file:
# wg quotes a value it cannot take in its error, part of a private key.
# Key names match in any case, as wg's do. Nothing of the value is said:
# `bad-key NAME LINE KEY`.
check_conf() {
  _cc_b=ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/
  _cc_p="[$_cc_b][$_cc_b][$_cc_b][$_cc_b][$_cc_b][$_cc_b]"
  _cc_p="$_cc_p$_cc_p$_cc_p$_cc_p$_cc_p$_cc_p${_cc_p}[AEIMQUYcgkosw048]="
  _cc_x=$(grep -n -i -E '^[[:space:]]*(private|preshared|public)key[[:space:]]*=' "$1" |
    while IFS= read -r _cc_l; do
      _cc_v=${_cc_l#*=}
      _cc_v=${_cc_v%%#*}
      _cc_v=${_cc_v#"${_cc_v%%[![:space:]]*}"}
      _cc_v=${_cc_v%"${_cc_v##*[![:space:]]}"}
      # shellcheck disable=SC2254 # the pattern is meant to match
      case $_cc_v in $_cc_p) continue ;; esac
      _cc_k=${_cc_l#*:}
      _cc_k=${_cc_k%%=*}
      _cc_k=${_cc_k#"${_cc_k%%[![:space:]]*}"}
      echo "${_cc_l%%:*} ${_cc_k%"${_cc_k##*[![:space:]]}"}"
      break
    done)
  [ -z "$_cc_x" ] || fail bad-key "$2" "${_cc_x%% *}" "${_cc_x#* }"
}

# wg_up NAME BACKEND: bring NAME up (its lock held, NAME down). A failed up
# removes what it created, and only that: the interface did not exist before
# and nobody else could create it meanwhile (the lock).
wg_up() {
  _up_n=$1
  _up_f=$(conf_of "$1")
  [ -n "$_up_f" ] || fail not-found "$_up_n"
  check_conf "$_up_f" "$_up_n"
  _up_android=''
  if netd_routing; then
    _up_android=1
    command -v wg >/dev/null 2>&1 || fail no-tool wg
  else
    need_tools
  fi
  is_up "$_up_n" && fail already-up "$_up_n"
  not_foreign "$_up_n"  # its clean-up deletes NAME: it must be this up's own
  if [ -n "$_up_android" ]; then
    pick_backend "$2" android
    forget_socket "$_up_n"
    an_up "$_up_n" "$_up_f" "$BACKEND"
  else
    pick_backend "$2"
    forget_socket "$_up_n"
    phone_locked wg_quick_up "$_up_n" "$_up_f"
    note_up "$_up_n" "$BACKEND"  # an_up writes its own, with the VPN's netId
  fi
  # A tunnel marked for boot comes back with the backend it last used.
  if [ -f "$BOOT_DIR/$_up_n" ]; then echo "$BACKEND" > "$BOOT_DIR/$_up_n"; fi
  rec up "$_up_n" "$BACKEND"
}

# port_free FILE: FILE's ListenPort is not another running tunnel's, else
# `port-clash`. Only true until a tunnel binds: check and bind under the
# phone's lock (phone_locked), or two ups may both pass and one fail to bind.
port_free() {
  _pf_p=$(listen_port "$1")
  if [ -n "$_pf_p" ] && [ "$_pf_p" -ne 0 ]; then
    _pf_c=$(port_user "$_pf_p")
    [ -n "$_pf_c" ] && fail port-clash "$_pf_p" "$_pf_c"
  fi
  return 0
}

# wg_quick_up NAME FILE: NAME up with the Linux wg-quick (the phone's lock held).
wg_quick_up() {
  port_free "$2"
  # wg-quick's stdout (`[#]` lines) goes to stderr (bounded): stdout is
  # ours. A userspace backend it starts must not inherit the locks' fds.
  bounded "wg-quick up" wg-quick up "$2" 7>&- 8>&-
  _up_rc=$?
  if [ "$_up_rc" != 0 ]; then
    undo_up "$1" "$2"
    [ "$_up_rc" = 124 ] && fail timeout "wg-quick up" "$BOUND"
    fail up-failed "$1"
  fi
}

# undo_up NAME FILE: take down what a failed `wg-quick up` left.
undo_up() {
  step "clean-up"
  within 3 wg-quick down "$2" >/dev/null 2>&1 7>&- 8>&-
  ip link del "$1" >/dev/null 2>&1
  wait_gone "$1" 3
  forget_socket "$1"
}

# wait_gone NAME SECONDS: wait until NAME is gone (a userspace backend with
# thousands of peers takes a while to let go).
wait_gone() {
  _wg_i=0
  while present "$1"; do
    _wg_i=$((_wg_i + 1))
    [ "$_wg_i" -gt $(($2 * 10)) ] && return 1
    sleep 0.1
  done
  return 0
}

# wg_down NAME [quiet]: take NAME down; `quiet`: a tunnel that is down is fine.
wg_down() {
  _dn_n=$1
  _dn_f=$(conf_of "$1")
  if ! is_up "$_dn_n"; then
    not_foreign "$_dn_n"
    rm -f "$NOTE_DIR/$_dn_n"
    forget_socket "$_dn_n"
    # An up killed half-way leaves no interface but netd's network and rules.
    if netd_routing && an_stale "$_dn_n"; then rec down "$_dn_n"; return 0; fi
    [ "$2" = quiet ] && return 0
    fail not-up "$_dn_n"
  fi
  if netd_routing; then
    an_down "$_dn_n"
  elif [ -n "$_dn_f" ] && command -v wg-quick >/dev/null 2>&1; then
    bounded "wg-quick down" wg-quick down "$_dn_f" 8>&-
    _dn_rc=$?
    [ "$_dn_rc" = 0 ] || ip link del "$_dn_n" 2>/dev/null
  else
    step "ip link del"
    ip link del "$_dn_n" 1>&2
  fi
  step "waiting for the interface to go"
  wait_gone "$_dn_n" "$DOWN_WAIT" || fail down-failed "$_dn_n" "$DOWN_WAIT"
  forget_socket "$_dn_n"
  rm -f "$NOTE_DIR/$_dn_n"
  rec down "$_dn_n"
}

# noted_backend NAME: the backend NAME came up on (wgdroid's note), else auto.
noted_backend() {
  _nb=$(cut -d' ' -f2 "$NOTE_DIR/$1" 2>/dev/null)
  echo "${_nb:-auto}"
}

# boot_mark NAME yes|no BACKEND: whether the boot script brings NAME up.
boot_mark() {
  if [ "$2" = yes ]; then
    mkdir -p "$BOOT_DIR" || fail write "$BOOT_DIR"
    echo "$3" > "$BOOT_DIR/$1" || fail write "$BOOT_DIR/$1"
  else
    rm -f "$BOOT_DIR/$1"
  fi
  rec boot "$1" "$2"
}

# boot_install: the boot script (on stdin) into BOOT_SCRIPT, where Magisk
# and KernelSU run it at late_start service; without either, nothing.
boot_install() {
  if [ ! -d "$DATA/adb/magisk" ] && [ ! -d "$DATA/adb/ksu" ]; then
    rec bootscript "$BOOT_SCRIPT" none
    return 0
  fi
  mkdir -p "${BOOT_SCRIPT%/*}" || fail write "${BOOT_SCRIPT%/*}"
  _bi_t=$BOOT_SCRIPT.tmp.$$
  temp "$_bi_t"
  cat > "$_bi_t" || fail write "$BOOT_SCRIPT"
  [ -s "$_bi_t" ] || fail write "$BOOT_SCRIPT"
  chmod 700 "$_bi_t" || fail write "$BOOT_SCRIPT"
  mv -f "$_bi_t" "$BOOT_SCRIPT" || fail write "$BOOT_SCRIPT"
  rec bootscript "$BOOT_SCRIPT" installed
}

# op_enable NAME BACKEND BOOT: up; BOOT yes|no marks NAME for the boot
# script (yes: the script comes on stdin) or not, `-` leaves the mark; a
# tunnel that is up only gets the mark.
op_enable() { locked "$1" enable_locked "$1" "$2" "${3:--}"; }
enable_locked() {
  if [ "$3" != - ] && is_up "$1"; then
    BACKEND=$(noted_backend "$1")
  else
    wg_up "$1" "$2"
  fi
  [ "$3" = - ] || boot_mark "$1" "$3" "$BACKEND"
  [ "$3" != yes ] || boot_install
}

# op_disable NAME: down; a tunnel that is down is fine, one that does not
# exist at all is `not-found`.
op_disable() { locked "$1" disable_locked "$1"; }
disable_locked() {
  if ! is_up "$1" && [ -z "$(conf_of "$1")" ]; then fail not-found "$1"; fi
  wg_down "$1" quiet
}
