#!/usr/bin/env bash
# The device lane on the CI emulator; android-emulator-runner runs it once the
# emulator has booted (its `script` runs each line in its own shell, so the
# logic lives here). WGDROID_LANE_ROOT picks how root is reached:
#   adb-root  `adb root`: adbd runs as uid 0, no su involved;
#   su        adbd stays uid 2000: every root step goes through AOSP `su 0`.
set -euo pipefail
serial=${WGDROID_TEST_SERIAL:?set WGDROID_TEST_SERIAL}
mode=${WGDROID_LANE_ROOT:?set WGDROID_LANE_ROOT to adb-root or su}
tools=${WGDROID_TEST_TOOLS_DIR:-build/device-tools}
# One adb for everything: the SDK's, whose server the runner started (another
# adb client would restart the server and drop the emulator for a while).
ADBUTILS_ADB_PATH=$(command -v adb)
export ADBUTILS_ADB_PATH
a() { adb -s "$serial" "$@"; }

a wait-for-device
case $mode in
  adb-root) a root; a wait-for-device; uid=0 ;;
  su) a unroot >/dev/null 2>&1 || true; a wait-for-device; uid=2000 ;;
  *) echo "emulator-lane: unknown WGDROID_LANE_ROOT=$mode" >&2; exit 2 ;;
esac
# Let adbd settle after a restart, then check we got the row we asked for.
for _ in $(seq 30); do [ "$(a shell id -u 2>/dev/null | tr -d '\r')" = "$uid" ] && break; sleep 1; done
[ "$(a shell id -u | tr -d '\r')" = "$uid" ] || { echo "adbd is not uid $uid" >&2; exit 1; }
as_root() { if [ "$mode" = adb-root ]; then a shell "$1"; else a shell "su 0 sh -c '$1'"; fi; }
[ "$(as_root 'id -u' | tr -d '\r')" = 0 ] || { echo "no root through $mode" >&2; exit 1; }

sdk=$(a shell getprop ro.build.version.sdk | tr -d '\r')
echo "emulator: SDK $sdk, kernel $(a shell uname -r | tr -d '\r'), root via $mode"
if ! as_root 'ip link add wgprobe type wireguard && ip link del wgprobe'; then
  echo "emulator-lane: this emulator's kernel has no WireGuard (SDK $sdk); use API 31+" >&2
  exit 1
fi

wgdroid doctor -s "$serial" || true  # the report in the log, before and after tools
wgdroid tools install -s "$serial" --from "$tools"
wgdroid tools status -s "$serial"
wgdroid doctor -s "$serial" --check

python -m pytest -m device tests/lane -p no:cacheprovider -rs -v
