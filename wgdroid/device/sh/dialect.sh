# dialect.sh: which wg-quick the phone runs (wgdroid/device/dialect.py).
# needs: lib

# wg_dialect [PATH]: android | linux | none for PATH (default: the wg-quick
# on PATH). The Android wg-quick is an ELF binary (also the official app's
# libwg-quick.so) or a script that drives netd with `ndc network`; any other
# script is the Linux one.
wg_dialect() {
  _wd=${1:-$(command -v wg-quick 2>/dev/null)}
  if [ -z "$_wd" ] || [ ! -f "$_wd" ]; then echo none; return 0; fi
  case "$(head -c 2 "$_wd" 2>/dev/null)" in
    '#!')
      if grep -q 'ndc network' "$_wd" 2>/dev/null; then echo android; else echo linux; fi ;;
    *) echo android ;;
  esac
}

# dialect_guard OK_ANDROID OK_LINUX: report the phone's wg-quick and refuse
# (before anything is written) a config that one would refuse (1 = accepts).
# Reads stdin away first, so the config never waits in a pipe nobody reads.
dialect_guard() {
  _dg=$(wg_dialect "")
  rec dialect "$_dg"
  case $_dg in
    android) _dg_ok=$1 ;;
    linux) _dg_ok=$2 ;;
    *) _dg_ok=1 ;;
  esac
  if [ "$_dg_ok" != 1 ]; then
    cat >/dev/null
    fail dialect "$_dg"
  fi
}
