# status.sh: the running tunnels: the phone's clock, per-interface facts,
# an optional first transfer sample, then `wg show all dump` with the
# private and preshared keys replaced by `(hidden)` before it is printed.
# Prelude constants: NOTE_DIR, SYS.
# needs: lib

# A sed program: field 2 of 5-field lines (an interface's private key) and
# field 3 of 9-field lines (a peer's preshared key, unless `(none)`).
HIDE_SECRETS_SED='s/^\([^	]*\)	[^	]*\(	[^	]*	[^	]*	[^	]*\)$/\1	(hidden)\2/
/^[^	]*	[^	]*	(none)	/!s/^\([^	]*	[^	]*\)	[^	]*\(\(	[^	]*\)\{6\}\)$/\1	(hidden)\2/'

# op_status [SAMPLE]: with SAMPLE seconds, transfer counters twice that far
# apart, so rates come from this one round trip. Everything goes out in one
# write at the end (sed writes line by line): every write becomes a WRTE of
# the adb stream, and only one may be unacknowledged at a time
# (docs/adb-protocol.md), so each costs a round trip to the host.
op_status() {
  command -v wg >/dev/null 2>&1 || fail no-tool wg
  _st_o="now$TAB$NOW"
  _st_ifs=$(wg show interfaces) || fail wg-failed "wg show interfaces"
  for _st_i in $_st_ifs; do
    _st_k=kernel
    [ -e "$SYS/class/net/$_st_i/tun_flags" ] && _st_k=tun
    # `read`, not `$(cat ...)`: no process per file (status is the hot path)
    _st_x=
    _st_u=
    read -r _st_x 2>/dev/null < "$SYS/class/net/$_st_i/ifindex"
    IFS= read -r _st_u 2>/dev/null < "$NOTE_DIR/$_st_i"
    _st_o="$_st_o${NL}iface$TAB$_st_i$TAB$_st_k$TAB$_st_x$TAB$_st_u"  # rec's format
  done
  if [ -n "$1" ]; then
    _st_o="$_st_o$NL$(wg show all transfer | sed "s/^/xfer$TAB/")"
    sleep "$1"
  fi
  # A pipe and a variable, not a temp file: the unhidden dump never touches
  # the disk; the secrets are gone before the shell holds it.
  _st_d=$(wg show all dump | sed -e "$HIDE_SECRETS_SED" -e "s/^/dump$TAB/")
  printf '%s' "$_st_o$NL${_st_d:+$_st_d$NL}"
}
