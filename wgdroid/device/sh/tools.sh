# tools.sh: wg, wg-quick, wireguard-go and the userspace launcher on the
# phone: where they are, installing what it lacks, removing ours
# (wgdroid/device/tools.py describes the layout).
# Prelude constants: DATA, WGDROID_DIR, WGDROID_BIN, WGDROID_LIB, WGDROID_RUN,
# USERSPACE_ZIP, MODULES_DIR, MAGISK_MODULE, MODULE_ID, APP_BIN, APP_PACKAGE,
# USERSPACE_TOOL, VERSION, SYSTEM.
# needs: lib dialect tunnel

# app_apk: the official WireGuard app's APK, if it is installed.
app_apk() { pm path "$APP_PACKAGE" 2>/dev/null | sed -n 's/^package://p' | head -n 1; }

# app_lib LIB: that native library of the app's APK ($APK), if it has it.
app_lib() {
  [ -n "$APK" ] || return 1
  for _al_f in "${APK%/*}"/lib/*/"$1"; do
    if [ -f "$_al_f" ]; then echo "$_al_f"; return 0; fi
  done
  return 1
}

# find_python: python3 on PATH, else Termux's or one in /data/local/bin.
find_python() {
  command -v python3 2>/dev/null && return 0
  for _fp in "$DATA/data/com.termux/files/usr/bin/python3" "$DATA/local/bin/python3"; do
    if [ -x "$_fp" ]; then echo "$_fp"; return 0; fi
  done
  return 1
}

# tool_detail TOOL PATH: a version line (wg, wireguard-go, the launcher) or
# wg-quick's variant.
tool_detail() {
  case $1 in
    wg | wireguard-go) "$2" --version 2>&1 | head -n 1 ;;
    wg-quick) wg_dialect "$2" ;;
    "$USERSPACE_TOOL") sed -n 2p "$2" | sed -n "s/^# $USERSPACE_TOOL //p" ;;
  esac
}

# tool_source DIR: who put tools there.
tool_source() {
  case $1 in
    "$WGDROID_BIN") echo wgdroid ;;
    "$APP_BIN") echo app ;;
    "$SYSTEM"/*) echo system ;;
    "$MODULES_DIR"/*) _ts_m=${1#"$MODULES_DIR"/}; echo "magisk:${_ts_m%%/*}" ;;
    *) echo path ;;
  esac
}

# found TOOL PATH SOURCE: a `found` record if PATH is an executable file.
found() {
  if [ -f "$2" ] && [ -x "$2" ]; then rec found "$1" "$2" "$3" "$(tool_detail "$1" "$2")"; fi
}

# op_tools_status: facts, the active copy of each tool and every place one is.
op_tools_status() {
  rec fact abi "$(getprop ro.product.cpu.abi)"
  rec fact abilist "$(getprop ro.product.cpu.abilist)"
  has_kmod && rec fact module yes
  APK=$(app_apk)
  rec fact app_apk "$APK"
  _st_ifs=$IFS
  IFS=:
  set -f
  # shellcheck disable=SC2086
  set -- $PATH
  set +f
  IFS=$_st_ifs
  for _st_t in wg wg-quick wireguard-go "$USERSPACE_TOOL"; do
    _st_p=$(command -v "$_st_t" 2>/dev/null) && rec active "$_st_t" "$_st_p"
    for _st_d in "$@" "$MODULES_DIR"/*/system/bin "$MODULES_DIR"/*/system/xbin; do
      found "$_st_t" "$_st_d/$_st_t" "$(tool_source "$_st_d")"
    done
  done
  _st_f=$(app_lib libwg.so) && found wg "$_st_f" app-lib
  _st_f=$(app_lib libwg-quick.so) && found wg-quick "$_st_f" app-lib
  _st_w=$(command -v wg 2>/dev/null) && rec fact socket_dir "$(sock_dir "$_st_w")"
  if _st_py=$(find_python); then
    rec fact python3 "$_st_py"
    rec fact cryptography "$("$_st_py" -c 'import cryptography; print(cryptography.__version__)' 2>/dev/null)"
  fi
}

# commit TEMP DIR NAME MODE SOURCE: root-owned, MODE, renamed into DIR/NAME.
commit() {
  chown 0:0 "$1" || fail write "$2/$3"
  chmod "$4" "$1" || fail write "$2/$3"
  chcon u:object_r:system_file:s0 "$1" 2>/dev/null
  mv -f "$1" "$2/$3" || fail write "$2/$3"
  rec placed "$3" "$2/$3" "$5"
}

# place DIR NAME MODE SOURCE OFFSET SIZE SHA256: a part of the payload, checked.
place() {
  _pl_t=$1/.$2.tmp.$$
  temp "$_pl_t"
  tail -c +$(($5 + 1)) "$PAYLOAD" | head -c "$6" > "$_pl_t" || fail write "$1/$2"
  [ "$(wc -c < "$_pl_t")" -eq "$6" ] || fail truncated "$2"
  if command -v sha256sum >/dev/null 2>&1; then
    [ "$(sha256sum < "$_pl_t" | cut -d' ' -f1)" = "$7" ] || fail corrupt "$2"
  fi
  commit "$_pl_t" "$1" "$2" "$3" "$4"
}

# copy DIR NAME SRC SOURCE: a copy, not a link (an app update moves its files).
copy() {
  _cp_t=$1/.$2.tmp.$$
  temp "$_cp_t"
  cp "$3" "$_cp_t" || fail write "$1/$2"
  commit "$_cp_t" "$1" "$2" 755 "$4"
}

# tools_tidy: our directories go again when they hold nothing.
tools_tidy() {
  rmdir "$WGDROID_LIB" "$WGDROID_BIN" "$WGDROID_DIR" 2>/dev/null
  if [ -n "$TI_MODULE" ] && [ -z "$(ls -A "$TI_MODULE/system/bin" 2>/dev/null)" ]; then
    rm -rf "$TI_MODULE"
  fi
}

# check_interpreter OFFSET: a pushed wg-quick that is a script must name an
# interpreter the phone has (the Linux one needs bash; Android has none).
# Where wgdroid brings tunnels up itself (netd), wg-quick is not needed: one
# that cannot run is left out (false), with a `skipped` record.
check_interpreter() {
  _ci_l=$(tail -c +$(($1 + 1)) "$PAYLOAD" | head -n 1)
  case $_ci_l in
    '#!'*)
      set -f
      # shellcheck disable=SC2086
      set -- ${_ci_l#??}
      set +f
      [ -x "$1" ] && return 0
      netd_routing || fail no-interpreter "$1"
      rec skipped wg-quick "$1"
      return 1 ;;
  esac
  return 0
}

# write_launcher PYTHON SOCKDIR: the userspace backend's launcher.
write_launcher() {
  _wl_t=$WGDROID_BIN/.$USERSPACE_TOOL.tmp.$$
  temp "$_wl_t"
  {
    echo '#!/system/bin/sh'
    echo "# $USERSPACE_TOOL $VERSION"
    echo '# wgdroid tools install --userspace wrote this: wgdroid.userspace on python3.'
    echo '# wg looks for UAPI sockets in the directory compiled into it: this one.'
    echo "mkdir -p '$2' && chmod 700 '$2' || exit 1"
    echo "export WGDROID_UAPI_DIR='$2'"
    echo "export PYTHONPATH='$USERSPACE_ZIP'\"\${PYTHONPATH:+:\$PYTHONPATH}\""
    echo "exec '$1' -m wgdroid.userspace \"\$@\""
  } > "$_wl_t" || fail write "$WGDROID_BIN/$USERSPACE_TOOL"
  commit "$_wl_t" "$WGDROID_BIN" "$USERSPACE_TOOL" 755 wgdroid
}

# install_userspace OFFSET SIZE SHA256: the data plane's zip and launcher.
install_userspace() {
  _iu_py=$(find_python) || fail no-python
  "$_iu_py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null ||
    fail old-python "$_iu_py" "$("$_iu_py" -V 2>&1)"
  "$_iu_py" -c 'import cryptography' 2>/dev/null || fail no-cryptography "$_iu_py"
  # The Linux wg-quick starts it where routes in main work; on Android
  # wgdroid's own bring-up (android.sh) does.
  netd_routing || [ "$(wg_dialect "")" = linux ] || fail no-linux-wgquick
  _iu_sd=$(sock_dir "$(command -v wg)")
  case "$_iu_sd$_iu_py" in *[!-A-Za-z0-9_./+=]*) fail unusual-path "$_iu_sd" "$_iu_py" ;; esac
  mkdir -p "$_iu_sd" 2>/dev/null || fail socket-dir "$_iu_sd"
  place "$WGDROID_LIB" "${USERSPACE_ZIP##*/}" 644 wgdroid "$1" "$2" "$3"
  write_launcher "$_iu_py" "$_iu_sd"
  rec sockdir "$_iu_sd"
}

# magisk_module: put the tools in our Magisk module instead (mounted into
# /system/bin at the next boot); sets TARGET.
magisk_module() {
  [ -d "$MODULES_DIR" ] || fail not-magisk
  TI_MODULE=$MAGISK_MODULE
  TARGET=$MAGISK_MODULE/system/bin
  mkdir -p "$TARGET" || fail write "$MAGISK_MODULE"
  chown -R 0:0 "$MAGISK_MODULE"
  chmod 755 "$MAGISK_MODULE" "$MAGISK_MODULE/system" "$TARGET"
  _mm_t=$MAGISK_MODULE/.module.prop.tmp.$$
  temp "$_mm_t"
  printf '%s\n' "id=$MODULE_ID" 'name=WireGuard tools (wgdroid)' "version=$VERSION" \
    versionCode=1 author=wgdroid 'description=wg, wg-quick and wireguard-go installed by wgdroid' \
    > "$_mm_t" || fail write "$MAGISK_MODULE/module.prop"
  commit "$_mm_t" "$MAGISK_MODULE" module.prop 644 wgdroid >/dev/null
}

# op_tools_install REUSE MAGISK USERSPACE [TOOL:OFFSET:SIZE:SHA256...]:
# tools from stdin's payload, then (REUSE=1) what the phone or the app has
# for wg and wg-quick, then (USERSPACE = OFFSET:SIZE:SHA256, or -) the
# userspace backend.
op_tools_install() {
  _ti_reuse=$1
  _ti_magisk=$2
  _ti_us=$3
  shift 3
  TI_MODULE=
  mkdir -p "$WGDROID_BIN" "$WGDROID_LIB" || fail write "$WGDROID_BIN"
  chown 0:0 "$WGDROID_DIR" "$WGDROID_BIN" "$WGDROID_LIB"
  chmod 755 "$WGDROID_DIR" "$WGDROID_BIN" "$WGDROID_LIB"
  at_exit tools_tidy
  sweep "$WGDROID_DIR" .payload.
  PAYLOAD=
  if [ $# -gt 0 ] || [ "$_ti_us" != - ]; then
    PAYLOAD=$WGDROID_DIR/.payload.$$
    temp "$PAYLOAD"
    cat > "$PAYLOAD" || fail write "$PAYLOAD"
  fi
  _ti_pushed=' '
  _ti_skip=' '
  for _ti_s in "$@"; do
    _ti_t=${_ti_s%%:*}
    _ti_pushed="$_ti_pushed$_ti_t "
    if [ "$_ti_t" = wg-quick ]; then
      _ti_r=${_ti_s#*:}
      check_interpreter "${_ti_r%%:*}" || _ti_skip="$_ti_skip$_ti_t "
    fi
  done
  TARGET=$WGDROID_BIN
  [ "$_ti_magisk" = 1 ] && magisk_module
  for _ti_s in "$@"; do
    _ti_t=${_ti_s%%:*}
    case $_ti_skip in *" $_ti_t "*) continue ;; esac
    _ti_r=${_ti_s#*:}
    _ti_o=${_ti_r%%:*}
    _ti_r=${_ti_r#*:}
    sweep "$TARGET" ".$_ti_t.tmp."
    place "$TARGET" "$_ti_t" 755 local "$_ti_o" "${_ti_r%%:*}" "${_ti_r#*:}"
  done
  if [ "$_ti_reuse" = 1 ]; then
    APK=$(app_apk)
    for _ti_tl in wg:libwg.so wg-quick:libwg-quick.so; do
      _ti_t=${_ti_tl%%:*}
      case $_ti_pushed in *" $_ti_t "*) continue ;; esac
      if _ti_p=$(command -v "$_ti_t" 2>/dev/null); then
        rec placed "$_ti_t" "$_ti_p" kept
      elif _ti_f=$(app_lib "${_ti_tl#*:}"); then
        copy "$TARGET" "$_ti_t" "$_ti_f" app-lib
      fi
    done
  fi
  # wgdroid's Android bring-up needs wg only; the Linux wg-quick path both.
  if ! command -v wg >/dev/null 2>&1; then fail no-tools; fi
  if ! netd_routing && ! command -v wg-quick >/dev/null 2>&1; then fail no-tools; fi
  if [ "$_ti_us" != - ]; then
    _ti_o=${_ti_us%%:*}
    _ti_r=${_ti_us#*:}
    install_userspace "$_ti_o" "${_ti_r%%:*}" "${_ti_r#*:}"
  fi
  sync
}

# op_tools_remove FORCE: delete WGDROID_DIR and our Magisk module (only one
# with our id, never someone else's); refused while a tunnel is up (it may
# run on these tools) unless FORCE is 1.
op_tools_remove() {
  _tr_force=$1
  if [ -d "$WGDROID_DIR" ] || [ -d "$MAGISK_MODULE" ]; then
    set -f
    # shellcheck disable=SC2046
    set -- $(wg show interfaces 2>/dev/null)
    set +f
    _tr_up="$*"
    if [ -n "$_tr_up" ] && [ "$_tr_force" != 1 ]; then fail in-use "$_tr_up"; fi
  fi
  if [ -d "$WGDROID_DIR" ]; then
    rm -rf "$WGDROID_DIR" || fail write "$WGDROID_DIR"
    rec removed "$WGDROID_DIR"
  fi
  if [ -f "$MAGISK_MODULE/module.prop" ] && grep -qx "id=$MODULE_ID" "$MAGISK_MODULE/module.prop"; then
    rm -rf "$MAGISK_MODULE" || fail write "$MAGISK_MODULE"
    rec removed "$MAGISK_MODULE"
  fi
  # The boot script (`enable --on-boot`) and the marks it reads.
  if [ -f "$BOOT_SCRIPT" ]; then
    rm -f "$BOOT_SCRIPT" || fail write "$BOOT_SCRIPT"
    rec removed "$BOOT_SCRIPT"
  fi
  rm -rf "$BOOT_DIR"
  sync
}
