# boot.sh: what Magisk and KernelSU run at late_start service
# (BOOT_SCRIPT, in /data/adb/service.d): the tunnels marked with `enable
# --on-boot` come up again, each with the backend it last used.
# Prelude constants: BOOT_DIR, STATE_DIR.
# needs: lib dialect android tunnel

# op_boot: late_start runs while the phone is still bringing its network up:
# wait (at most two minutes) until root's traffic has a route, then bring
# each marked tunnel up in a shell of its own, so one that fails does not
# stop the others; a tunnel whose endpoint does not resolve yet (the
# network's DNS comes with it) gets a few more tries.
op_boot() {
  mkdir -p "$STATE_DIR" || exit 1
  exec >>"$STATE_DIR/boot.log" 2>&1
  echo "boot: $(date)"
  _bo_i=0
  until ip route get 1.1.1.1 >/dev/null 2>&1; do
    _bo_i=$((_bo_i + 1))
    [ "$_bo_i" -le 240 ] || { echo "boot: no network"; return 0; }
    sleep 0.5
  done
  for _bo_f in "$BOOT_DIR"/*; do
    [ -f "$_bo_f" ] || continue
    _bo_n=${_bo_f##*/}
    _bo_b=$(cat "$_bo_f")
    _bo_t=0
    until (on_exit; locked "$_bo_n" boot_up "$_bo_n" "$_bo_b"); do
      _bo_t=$((_bo_t + 1))
      [ "$_bo_t" -lt 5 ] || break
      sleep 2
    done
  done
}

# boot_up NAME BACKEND: NAME up, unless it already is.
boot_up() {
  is_up "$1" && return 0
  wg_up "$1" "$2"
}
