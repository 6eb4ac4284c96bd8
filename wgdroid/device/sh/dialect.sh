# dialect.sh: which wg-quick the phone runs (wgdroid/device/dialect.py).
# needs: lib android

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

# phone_dialect: the dialect that reads this phone's configs: android where
# wgdroid brings tunnels up through netd itself (android.sh, the way android.c
# does: Included/ExcludedApplications, no hooks), else the wg-quick on PATH's.
phone_dialect() {
  if netd_routing; then echo android; else wg_dialect ""; fi
}

# dialect_guard OK_ANDROID OK_LINUX: report the phone's dialect and refuse
# (before anything is written) a config it would refuse (1 = accepts).
# Reads stdin away first, so the config never waits in a pipe nobody reads.
dialect_guard() {
  _dg=$(phone_dialect)
  rec dialect "$_dg"
  if ! dialect_ok "$_dg" "$1" "$2"; then
    cat >/dev/null
    fail dialect "$_dg"
  fi
}

# dialect_ok DIALECT OK_ANDROID OK_LINUX: whether DIALECT's wg-quick takes the
# config (1 = accepts; a phone without wg-quick takes any).
dialect_ok() {
  case $1 in
    android) [ "$2" = 1 ] ;;
    linux) [ "$3" = 1 ] ;;
    *) true ;;
  esac
}
