# status.sh: the running tunnels: the phone's clock, an optional first
# transfer sample, `wg show all dump` with the private and preshared keys
# replaced by `(hidden)` before the shell holds it, and per-interface facts.
# Prelude constants: NOTE_DIR, SYS.
# needs: lib

WG_FAILED=wgdroid-wg-failed

# A sed program: field 2 of 5-field lines (an interface's private key) and
# field 3 of 9-field lines (a peer's preshared key, unless `(none)`).
HIDE_SECRETS_SED='s/^\([^	]*\)	[^	]*\(	[^	]*	[^	]*	[^	]*\)$/\1	(hidden)\2/
/^[^	]*	[^	]*	(none)	/!s/^\([^	]*	[^	]*\)	[^	]*\(\(	[^	]*\)\{6\}\)$/\1	(hidden)\2/'

# op_status [SAMPLE]: with SAMPLE seconds, transfer counters twice that far
# apart, so rates come from this one round trip. The interfaces are the
# dump's own (its lines whose second field is a hidden private key): no
# `wg show interfaces` process. Everything goes out in one write at the end
# (`out`; sed writes line by line): every write becomes a WRTE of the adb
# stream, and only one may be unacknowledged at a time (docs/adb-protocol.md),
# so each costs a round trip to the host.
op_status() {
  command -v wg >/dev/null 2>&1 || fail no-tool wg
  record now "$NOW"
  _st_o=$REC
  if [ -n "$1" ]; then
    _st_o="$_st_o$NL$(wg show all transfer | sed "s/^/xfer$TAB/")"
    sleep "$1"
  fi
  # A pipe and a variable, not a temp file: the unhidden dump never touches
  # the disk; the secrets are gone before the shell holds it. A wg that
  # fails leaves its mark at the end.
  _st_d=$({ wg show all dump || echo "$WG_FAILED"; } |
    sed -e "$HIDE_SECRETS_SED" -e "s/^/dump$TAB/")
  case $_st_d in
    *"$WG_FAILED")
      # wg show exits 1 when an interface it listed could not be read (gone
      # between its list and its get: a `disable` racing this status, a
      # userspace daemon exiting): what it printed is what is up. Only a
      # dump that printed nothing may be a failure to list at all
      # (permission, no wg that runs): then wg's own list says which.
      _st_d=${_st_d%"$WG_FAILED"}
      _st_d=${_st_d%"dump$TAB"}
      _st_d=${_st_d%"$NL"}
      [ -n "$_st_d" ] || wg show interfaces >/dev/null ||
        fail wg-failed "wg show all dump"
      ;;
  esac
  _st_ifs=$IFS
  IFS=$NL
  set -f
  for _st_l in $_st_d; do
    case $_st_l in *"$TAB(hidden)$TAB"*) ;; *) continue ;; esac  # most peers stop here
    _st_i=${_st_l#dump"$TAB"}
    _st_i=${_st_i%%"$TAB"*}
    case $_st_l in "dump$TAB$_st_i$TAB(hidden)$TAB"*) ;; *) continue ;; esac
    _st_k=kernel
    [ -e "$SYS/class/net/$_st_i/tun_flags" ] && _st_k=tun
    # `read`, not `$(cat ...)`: no process per file
    _st_x=
    _st_u=
    read -r _st_x 2>/dev/null < "$SYS/class/net/$_st_i/ifindex"
    IFS= read -r _st_u 2>/dev/null < "$NOTE_DIR/$_st_i"
    record iface "$_st_i" "$_st_k" "$_st_x" "$_st_u"
    _st_o=$_st_o$NL$REC
  done
  set +f
  IFS=$_st_ifs
  out "$_st_o${_st_d:+$NL$_st_d}"
}
