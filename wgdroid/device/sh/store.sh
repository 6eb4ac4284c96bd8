# store.sh: the configs in STORE_DIR (NAME.conf, 0600 root): list, pull,
# push, rm and rename. Everything that touches a tunnel holds its lock.
# needs: lib dialect tunnel net

# op_list: one `tunnel` record per stored config: wgdroid's store, then the
# official app's folder (a name in both is the store's, as conf_of picks it).
op_list() {
  _ls_up=" $(wg show interfaces 2>/dev/null) "
  _ls_seen=" "
  for _ls_f in "$STORE_DIR"/*.conf "$APP_FILES"/*.conf; do
    [ -f "$_ls_f" ] || continue
    _ls_n=${_ls_f##*/}
    _ls_n=${_ls_n%.conf}
    case $_ls_seen in *" $_ls_n "*) continue ;; esac
    _ls_seen="$_ls_seen$_ls_n "
    _ls_u=0
    case $_ls_up in *" $_ls_n "*) _ls_u=1 ;; esac
    _ls_s=wgdroid
    case $_ls_f in "$APP_FILES"/*) _ls_s=app ;; esac
    _ls_b=0
    [ -f "$BOOT_DIR/$_ls_n" ] && _ls_b=1
    rec tunnel "$_ls_n" "$(wc -c < "$_ls_f")" "$(stat -c %Y "$_ls_f" 2>/dev/null)" "$_ls_u" \
      "$_ls_s" "$_ls_b"
  done
}

# op_pull NAME: the config, as is, on stdout (read-only: no lock); the
# store's, else the official app's.
op_pull() {
  _pl=$(conf_of "$1")
  [ -n "$_pl" ] || fail not-found "$1"
  cat "$_pl"
}

# op_pull_many MARK NAME...: several configs in one script (read-only: no
# lock, as op_pull). Each goes as a newline, the line `MARK<TAB>config<TAB>NAME`,
# then the file as is (cat: one open, so a push renaming over it meanwhile
# gives the old or the new file whole); `MARK<TAB>end` on its own line ends
# it. MARK is the host's random boundary (store.pull_many): a config cannot
# hold it, so the host cuts the files apart byte for byte. Every NAME is
# looked up before anything is sent: a missing one fails not-found.
op_pull_many() {
  _pm_m=$1
  shift
  for _pm_n; do [ -n "$(conf_of "$_pm_n")" ] || fail not-found "$_pm_n"; done
  for _pm_n; do
    _pm_f=$(conf_of "$_pm_n")
    out "$NL$_pm_m${TAB}config$TAB$_pm_n"
    cat "$_pm_f" || fail not-found "$_pm_n"
  done
  out "$NL$_pm_m${TAB}end"
}

# store_dir: STORE_DIR there, root's only.
store_dir() {
  mkdir -p "$STORE_DIR" || fail write "$STORE_DIR"
  chmod 700 "$STORE_DIR"
}

# receive NAME SIZE SHA256 TEMP: stdin into TEMP (0600 root), checked.
receive() {
  store_dir
  temp "$4"
  cat > "$4" || fail write "$4"
  received "$@"
}

# received NAME SIZE SHA256 TEMP: TEMP holds SIZE bytes hashing to SHA256
# (else `truncated` or `corrupt`), now owned by root, 0600.
received() {
  [ "$(wc -c < "$4")" -eq "$2" ] || fail truncated "$1"
  if command -v sha256sum >/dev/null 2>&1; then
    [ "$(sha256sum < "$4" | cut -d' ' -f1)" = "$3" ] || fail corrupt "$1"
  fi
  chown 0:0 "$4" || fail write "$4"
  chmod 600 "$4" || fail write "$4"
}

# op_push NAME SIZE SHA256 OK_ANDROID OK_LINUX ENABLE RESTART: store stdin
# as NAME.conf (temp file, checked, fsynced, renamed over the old one: a
# failed or interrupted push leaves the old config as it was). OK_*: whether
# that wg-quick accepts the config (`-`: do not ask). A running tunnel gets
# the new config in place (net.sh `apply_live`), or is restarted (RESTART=1,
# or a change that cannot be made in place); ENABLE (a backend, or `-`)
# brings a tunnel that is down up.
op_push() {
  [ "$4" = - ] || dialect_guard "$4" "$5"
  _ps_t=$STORE_DIR/.$1.conf.tmp.$$
  receive "$1" "$2" "$3" "$_ps_t"
  locked "$1" push_locked "$1" "$_ps_t" "$6" "$7"
}
# op_push_many MARK OVERWRITE LIST_SIZE LIST_SHA256: several configs in one
# script (one su), each stored as op_push stores one (no ENABLE, no RESTART).
# Stdin holds the list, then the configs one after another. The list
# (LIST_SIZE bytes hashing to LIST_SHA256) has a line per config,
# NAME<TAB>SIZE<TAB>SHA256<TAB>OK_ANDROID<TAB>OK_LINUX as op_push's arguments:
# on the command line they would outgrow an adb request with a few hundred
# configs. Stdin is kept whole in a temp file first (names no tunnel's temp
# file can have: names never start with a dot), then each entry runs apart
# (lib.sh): its own bytes checked by `received`, under its own tunnel lock,
# into push_locked, so its `fail` ends only that entry and the next one
# still runs. An entry whose name is taken (`taken`) fails `exists` unless
# OVERWRITE is 1. Every entry's output (stdout and stderr) follows the line
# `MARK<TAB>entry<TAB>NAME` and ends with `MARK<TAB>done<TAB>NAME<TAB>STATUS`,
# each after a newline; `MARK<TAB>end` ends the batch. MARK is the host's
# random boundary (store.push_many), as op_pull_many's: no config or tool
# line can hold it.
op_push_many() {
  _pn_m=$1
  _pn_o=$2
  _pn_d=$(phone_dialect)
  rec dialect "$_pn_d"
  store_dir
  _pn_a=$STORE_DIR/..batch.conf.tmp.$$
  _pn_l=$STORE_DIR/..list.conf.tmp.$$
  temp "$_pn_a"
  temp "$_pn_l"
  cat > "$_pn_a" || fail write "$_pn_a"
  head -c "$3" "$_pn_a" > "$_pn_l" || fail write "$_pn_l"
  received list "$3" "$4" "$_pn_l"
  _pn_at=$3
  while IFS=$TAB read -r _pn_n _pn_s _pn_x _pn_ka _pn_kl; do
    # The shapes push_many sent (a name and a size go into paths and sums).
    case $_pn_n in '' | [.-]* | *[!A-Za-z0-9_=+.-]*) fail corrupt list ;; esac
    case $_pn_s in '' | *[!0-9]*) fail corrupt list ;; esac
    out "$NL$_pn_m${TAB}entry$TAB$_pn_n"
    apart push_entry "$_pn_a" "$_pn_at" "$_pn_d" "$_pn_o" "$_pn_n" "$_pn_s" "$_pn_x" \
      "$_pn_ka" "$_pn_kl" </dev/null 2>&1
    _pn_rc=$?
    out "$NL$_pn_m${TAB}done$TAB$_pn_n$TAB$_pn_rc"
    _pn_at=$((_pn_at + _pn_s))
  done < "$_pn_l"
  rm -f "$_pn_a" "$_pn_l"
  out "$NL$_pn_m${TAB}end"
}

# push_entry ALL OFFSET DIALECT OVERWRITE NAME SIZE SHA256 OK_ANDROID OK_LINUX:
# one entry of op_push_many: SIZE bytes of the file ALL from OFFSET on.
push_entry() {
  dialect_ok "$3" "$8" "$9" || fail dialect "$3"
  _pe_t=$STORE_DIR/.$5.conf.tmp.$$
  temp "$_pe_t"
  tail -c "+$(($2 + 1))" "$1" | head -c "$6" > "$_pe_t" || fail write "$_pe_t"
  received "$5" "$6" "$7" "$_pe_t"
  locked "$5" push_new "$5" "$_pe_t" "$4"
}

# push_new NAME TEMP OVERWRITE: push_locked (no ENABLE, no RESTART), unless
# NAME is taken and OVERWRITE is not 1; checked under NAME's lock.
push_new() {
  [ "$3" != 1 ] && taken "$1" && fail exists "$1"
  push_locked "$1" "$2" - 0
}

push_locked() {
  not_foreign "$1"
  _ps_old=""
  [ -f "$STORE_DIR/$1.conf" ] && _ps_old=$(net_facts "$STORE_DIR/$1.conf")
  if is_up "$1"; then
    if [ "$4" = 1 ]; then
      _ps_why=asked
    elif [ -z "$_ps_old" ]; then
      _ps_why=no-old-config
    elif apply_live "$1" "$_ps_old" "$2"; then
      # In place first: a change the running tunnel refuses stores nothing.
      store_conf "$1" "$2"
      return 0
    else
      _ps_why=$RESTART_WHY
    fi
    push_restart "$1" "$2" "$3" "$_ps_why"
    return 0
  fi
  store_conf "$1" "$2"
  if [ "$3" != - ]; then wg_up "$1" "$3"; fi
}

# push_restart NAME TEMP BACKEND WHY: NAME (up) restarted with TEMP as its
# config. The old file is kept (a hard link, else an fsynced copy) until the
# new config is up; if it does not come up, the old file is renamed back and
# brought up again (on the backend it had), and `push-reverted` (up with the
# old config) or `push-reverted-down` says what holds. `stored` only once
# the new config runs.
push_restart() {
  _pr_b=$(noted_backend "$1")
  _pr_nb=$3
  [ "$_pr_nb" = - ] && _pr_nb=$_pr_b
  wg_down "$1"
  PUSH_NAME=$1
  PUSH_KEEP=
  if [ -f "$STORE_DIR/$1.conf" ]; then
    # A push temp file by its name: if this script is SIGKILLed (no trap runs),
    # the next locked op sweeps it, and the new config stays stored.
    PUSH_KEEP=$STORE_DIR/.$1.conf.tmp.old.$$
    rm -f "$PUSH_KEEP"
    if ! ln "$STORE_DIR/$1.conf" "$PUSH_KEEP" 2>/dev/null; then
      cp "$STORE_DIR/$1.conf" "$PUSH_KEEP" || fail write "$PUSH_KEEP"
      chmod 600 "$PUSH_KEEP" || fail write "$PUSH_KEEP"
    fi
  fi
  at_exit push_back  # killed before the new config runs: the old file back
  place_conf "$1" "$2"
  if up_apart "$1" "$_pr_nb"; then
    at_exit ''
    [ -z "$PUSH_KEEP" ] || rm -f "$PUSH_KEEP"
    rec stored "$1"
    rec restarted "$1" "$4"
    return 0
  fi
  push_back
  at_exit ''
  up_apart "$1" "$_pr_b" || fail push-reverted-down "$1"
  fail push-reverted "$1"
}

# push_back: the old config (PUSH_KEEP; none: NAME had no file in the
# store) back in place of the new one, fsynced.
push_back() {
  if [ -n "$PUSH_KEEP" ]; then
    mv -f "$PUSH_KEEP" "$STORE_DIR/$PUSH_NAME.conf"
  else
    rm -f "$STORE_DIR/$PUSH_NAME.conf"
  fi
  sync
}

# up_apart NAME BACKEND: wg_up apart (lib.sh), so that its `fail` (after its
# own clean-up: an_abort by the EXIT trap) returns non-zero here.
up_apart() { apart wg_up "$1" "$2"; }

# store_conf NAME TEMP: TEMP (checked, 0600) becomes NAME.conf (place_conf), said so.
store_conf() {
  place_conf "$1" "$2"
  rec stored "$1"
}

# place_conf NAME TEMP: TEMP renamed over NAME.conf, fsynced before and after.
place_conf() {
  sync
  mv -f "$2" "$STORE_DIR/$1.conf" || fail write "$STORE_DIR/$1.conf"
  sync
}

# taken NAME: a config or an interface has that name already: stored here or
# in the official app's folder (the app's would hide behind a NAME.conf here:
# conf_of picks the store's), or up without either.
taken() { [ -e "$STORE_DIR/$1.conf" ] || [ -e "$APP_FILES/$1.conf" ] || is_up "$1"; }

# own_conf NAME: NAME is wgdroid's (in STORE_DIR), else `app-owned` (only the
# official app's: it keeps its own list, and deletes and renames there) or
# `not-found`.
own_conf() {
  [ -f "$STORE_DIR/$1.conf" ] && return 0
  [ -f "$APP_FILES/$1.conf" ] && fail app-owned "$1"
  fail not-found "$1"
}

# op_rm NAME FORCE: delete NAME.conf and its on-boot mark (`locked` sweeps
# the temp files of pushes that died); refused while NAME is up unless FORCE
# is 1 (then it goes down first).
op_rm() { locked "$1" rm_locked "$1" "$2"; }
rm_locked() {
  own_conf "$1"
  if is_up "$1"; then
    [ "$2" = 1 ] || fail is-up "$1"
    wg_down "$1"
  fi
  rm -f "$STORE_DIR/$1.conf" || fail write "$STORE_DIR/$1.conf"
  rm -f "$NOTE_DIR/$1" "$BOOT_DIR/$1"
  sync
}

# op_rename OLD NEW FORCE: refused while OLD is up unless FORCE is 1: then
# down, rename, up again on the backend it had. The on-boot mark moves along.
op_rename() {
  _ro_a=$(printf '%s\n' "$1" "$2" | sort | head -n 1)
  if [ "$_ro_a" = "$1" ]; then _ro_b=$2; else _ro_b=$1; fi
  locked "$_ro_a" locked "$_ro_b" rename_locked "$@"
}
rename_locked() {
  own_conf "$1"
  not_foreign "$2"
  taken "$2" && fail exists "$2"
  _rn_r=0
  if is_up "$1"; then
    [ "$3" = 1 ] || fail is-up "$1"
    _rn_b=$(noted_backend "$1")
    wg_down "$1"
    _rn_r=1
  fi
  mv "$STORE_DIR/$1.conf" "$STORE_DIR/$2.conf" || fail write "$STORE_DIR/$2.conf"
  if [ -f "$BOOT_DIR/$1" ]; then
    mv -f "$BOOT_DIR/$1" "$BOOT_DIR/$2" || fail write "$BOOT_DIR/$2"
  else
    rm -f "$BOOT_DIR/$2"  # an old mark of NEW's is no mark of this tunnel
  fi
  sync
  rec stored "$2"
  if [ "$_rn_r" = 1 ]; then
    wg_up "$2" "$_rn_b"
    rec restarted "$2" renamed
  fi
}
