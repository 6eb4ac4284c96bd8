# lib.sh: records, failures, steps, clean-up and tunnel locks; every phone
# script starts with it. The prelude (wgdroid/device/script.py) sets the
# constants first: TAB, NL, TAG_EXIT, GRANTED_TAG, NOT_ROOT_TAG, NOT_ROOT_EXIT,
# WGDROID_BIN, TOOL_DIRS, STORE_DIR, STATE_DIR, NOTE_DIR, SYS, LOCK_DIR,
# LOCK_WAIT, RESOLVE_RETRIES, BUDGET.
# needs:

# out TEXT: TEXT and a newline on stdout, in one write and without a
# process. mksh (every Android phone's sh) has no printf builtin: printf is
# toybox's, a process per line and at most 128 KiB per argument; its `print`
# is built in. Other shells (dash) have printf built in. One write matters:
# each becomes an adb packet, and only one may wait for the host's
# acknowledgement (docs/adb-protocol.md).
# shellcheck disable=SC3037,SC3028 # mksh's own print and KSH_VERSION
case $KSH_VERSION in
  *MIRBSD*) out() { print -r -- "$1"; } ;;
  *) out() { printf '%s\n' "$1"; } ;;
esac

# record KIND [FIELD...]: REC = one record's line, its fields joined by tabs
# (script.RECORDS names every kind and its fields); for a script that
# gathers its records into one write (status.sh).
record() {
  _rec_ifs=$IFS
  IFS=$TAB
  REC="$*"
  IFS=$_rec_ifs
}

# rec KIND [FIELD...]: one record on stdout.
rec() {
  record "$@"
  out "$REC"
}

# say KIND [FIELD...]: one record on stderr, `wgdroid:KIND<TAB>FIELD...`,
# between the lines the tools themselves print there.
say() {
  _say_k=$1
  shift
  record "wgdroid:$_say_k" "$@"
  out "$REC" >&2
}

# fail KIND [FIELD...]: stop here. The host turns KIND into its error
# (failures.py); FIELDs are values, never prose to match.
fail() {
  say fail "$@"
  exit "$TAG_EXIT"
}

# step NAME: what runs now, so a timeout can say which step hung.
step() { say step "$@"; }

# temp PATH: remove PATH when the script ends, however it ends.
TEMPS=
temp() { TEMPS="$TEMPS $1"; }

MKDIR_LOCKS=
# at_exit FUNCTION: run FUNCTION at the end, after the temp files went.
AT_EXIT=
at_exit() { AT_EXIT=$1; }
cleanup() {
  _cl_rc=$?
  # Word splitting on purpose: the paths are built from validated names.
  # shellcheck disable=SC2086
  [ -z "$TEMPS" ] || rm -f $TEMPS
  # shellcheck disable=SC2086
  [ -z "$MKDIR_LOCKS" ] || rm -rf $MKDIR_LOCKS
  [ -z "$AT_EXIT" ] || "$AT_EXIT"
  # mksh ends with the EXIT trap's last status: keep the script's own.
  exit "$_cl_rc"
}

# on_exit: clean up on exit and on the signals a dropped adb stream or a
# timeout sends (their traps exit, which runs the EXIT trap).
on_exit() {
  trap cleanup EXIT
  trap 'exit 129' HUP
  trap 'exit 130' INT
  trap 'exit 141' PIPE
  trap 'exit 143' TERM
}

# as_root: run only as uid 0 (a stale su form could run us as the shell
# user), then tell the host that root was granted.
as_root() {
  # The effective uid is the Uid line's second field in /proc (`id -u` is a
  # process more on every operation; kept for a phone without /proc).
  _ar_u=
  while read -r _ar_k _ar_r _ar_e _ar_x; do
    [ "$_ar_k" = Uid: ] && _ar_u=$_ar_e && break
  done 2>/dev/null < "/proc/$$/status"
  [ -n "$_ar_u" ] || _ar_u=$(id -u)
  [ "$_ar_u" = 0 ] || { echo "$NOT_ROOT_TAG" >&2; exit "$NOT_ROOT_EXIT"; }
  echo "$GRANTED_TAG" >&2
}

# setup: private files, wgdroid's tools first on PATH (AOSP su resets PATH),
# the environment wg and wireguard-go need, and clean-up on every exit.
setup() {
  umask 077
  PATH="$WGDROID_BIN:$PATH:$TOOL_DIRS"
  WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1
  # wg retries an endpoint that does not resolve 15 times (about 70 s):
  # a few tries, then its own error, fit inside the operation's deadline.
  WG_ENDPOINT_RESOLUTION_RETRIES=$RESOLVE_RETRIES
  export PATH WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD WG_ENDPOINT_RESOLUTION_RETRIES
  epoch
  NOW=$EPOCH  # the script's start (status reports it)
  DEADLINE=$((NOW + BUDGET))
  on_exit
}

# remaining: whole seconds left of the operation's budget (BUDGET from the
# prelude: a little less than the host waits, so the script can still say
# what ran out and clean up).
remaining() {
  epoch
  echo $((DEADLINE - EPOCH))
}

# epoch: EPOCH = now, in unix seconds. mksh (Android's sh) keeps the clock in
# EPOCHREALTIME, which spares a `date` process; other shells ask `date`.
# Only mksh's is the clock: elsewhere EPOCHREALTIME is an ordinary variable,
# maybe inherited from the environment and frozen.
epoch() {
  # shellcheck disable=SC3028 # mksh's own KSH_VERSION and EPOCHREALTIME
  case $KSH_VERSION in
    *MIRBSD*) EPOCH=${EPOCHREALTIME%.*} ;;
    *) EPOCH= ;;
  esac
  case $EPOCH in '' | *[!0-9]*) EPOCH=$(date +%s) ;; esac
}

# note_up NAME BACKEND [NETID]: wgdroid's note of NAME's up (time, backend,
# ifindex, and the Android bring-up's netId), for status and for a restart on
# the same backend. Builtins only: no process for the clock or the ifindex.
note_up() {
  mkdir -p "$NOTE_DIR" && chmod 700 "$NOTE_DIR"
  epoch
  _nu_x=
  read -r _nu_x 2>/dev/null < "$SYS/class/net/$1/ifindex"
  echo "$EPOCH $2 $_nu_x${3:+ $3}" > "$NOTE_DIR/$1"
}

# bounded STEP COMMAND...: run COMMAND for at most the budget left (minus a
# reserve for clean-up); 124 if it did not finish, with BOUND = the seconds
# it had. Its output goes to stderr through a log file, not a pipe: a child
# it leaves behind (toybox's timeout stops only the command itself) must not
# hold the adb stream open. A phone without `timeout` runs it unbounded (the
# host still has its own deadline).
bounded() {
  _bd_step=$1
  shift
  BOUND=$(($(remaining) - 3))
  [ "$BOUND" -ge 1 ] || fail timeout "$_bd_step" 0
  step "$_bd_step"
  mkdir -p "$STATE_DIR" || fail write "$STATE_DIR"
  sweep "$STATE_DIR" .log.
  _bd_log=$STATE_DIR/.log.$$
  temp "$_bd_log"
  within "$BOUND" "$@" >"$_bd_log" 2>&1
  _bd_rc=$?
  cat "$_bd_log" >&2
  rm -f "$_bd_log"
  return "$_bd_rc"
}

# within SECONDS COMMAND...: COMMAND, stopped after SECONDS (124). Always
# `timeout --foreground`: toybox 0.8.9's timeout (Android 14's) in its own
# process group now and then exits 127 for a command that ran fine (seen
# with Debian's toybox 0.8.9 under mksh).
within() {
  if command -v timeout >/dev/null 2>&1; then
    timeout --foreground -k 2 "$@"
    _wi_rc=$?
    [ "$_wi_rc" = 137 ] && _wi_rc=124
    return "$_wi_rc"
  fi
  shift
  "$@"
}

# sweep DIR PATTERN: remove the DIR/PATTERN<PID> temp files (PATTERN may
# glob) whose script died without its traps (SIGKILL); a live script's files stay.
sweep() {
  # shellcheck disable=SC2231 # PATTERN is meant to glob
  for _sw_f in "$1"/$2*; do
    [ -e "$_sw_f" ] || continue
    _sw_pid=${_sw_f##*.}
    case $_sw_pid in '' | *[!0-9]*) continue ;; esac
    [ "$_sw_pid" = "$$" ] && continue
    # alive: still signallable, or still in /proc (root may be refused a
    # signal across SELinux domains; a false "dead" would delete a live push's file)
    if kill -0 "$_sw_pid" 2>/dev/null || [ -d "/proc/$_sw_pid" ]; then continue; fi
    rm -f "$_sw_f"
  done
}

# locked NAME FUNCTION [ARG...]: run FUNCTION with NAME's tunnel lock held
# (nested for two names: take them in sorted order, so two scripts locking
# one pair never deadlock), after sweeping the temp files that killed
# pushes left, of any name (they hold a whole config, key included; a name
# never used again would keep its file for ever). Waiting longer than LOCK_WAIT seconds (or the
# budget left) fails `busy`; with under a second of the budget left (a batch's
# shared budget spent by the entries before), nobody's lock is to blame: it
# fails `timeout`, as `bounded` does. The lock is flock(2) on fd 8, opened for the
# call (mksh does not pass fds opened by `exec` to commands): it dies with
# its last fd, so a killed script never leaves it behind, and a command that
# may leave a daemon running (wg-quick up) must close fd 8 (`8>&-`).
locked() {
  _lk_n=$1
  shift
  mkdir -p "$LOCK_DIR" || fail write "$LOCK_DIR"
  lock_wait "lock $_lk_n"
  if command -v flock >/dev/null 2>&1 && command -v timeout >/dev/null 2>&1; then
    {
      timeout --foreground "$_lk_w" flock -x 8 ||
        fail busy "$_lk_n" "$_lk_w"
      sweep "$STORE_DIR" ".*.conf.tmp."
      "$@"
    } 8>>"$LOCK_DIR/$_lk_n.lock"
  else
    mkdir_lock "$_lk_n"
    sweep "$STORE_DIR" ".*.conf.tmp."
    "$@"
  fi
}

# lock_wait STEP: _lk_w = the seconds a lock may be waited for: LOCK_WAIT,
# or the budget left (minus the clean-up reserve) if less; under 1 s, STEP
# fails `timeout` with the operation's BUDGET (the budget ran out, nobody is busy).
lock_wait() {
  _lk_w=$(($(remaining) - 3))
  [ "$_lk_w" -ge 1 ] || fail timeout "$1" "$BUDGET"
  if [ "$_lk_w" -gt "$LOCK_WAIT" ]; then _lk_w=$LOCK_WAIT; fi
}

# phone_locked FUNCTION [ARG...]: run FUNCTION holding the phone's own lock
# (taken after a tunnel's, never before one), for what all tunnels share:
# a ListenPort's check and its bind, the /dev/net/tun link wireguard-go opens.
# flock(2) on fd 7, as `locked` does on fd 8 (a daemon started under it must
# close fd 7 too: `7>&-`); without flock, a mkdir lock held until the script
# ends. `.phone` is no tunnel's lock: names never start with a dot.
PHONE_LOCKED=
phone_locked() {
  if [ -n "$PHONE_LOCKED" ]; then "$@"; return; fi
  mkdir -p "$LOCK_DIR" || fail write "$LOCK_DIR"
  lock_wait "lock of the phone"
  if command -v flock >/dev/null 2>&1 && command -v timeout >/dev/null 2>&1; then
    {
      timeout --foreground "$_lk_w" flock -x 7 ||
        fail phone-busy "$_lk_w"
      PHONE_LOCKED=1
      "$@"
      _pl_rc=$?
      PHONE_LOCKED=
      return "$_pl_rc"
    } 7>>"$LOCK_DIR/.phone.lock"
  else
    mkdir_lock .phone
    PHONE_LOCKED=1
    "$@"
  fi
}

# mkdir_lock NAME: the same lock without flock: mkdir is atomic; the holder's
# PID inside lets a later script break the lock of one that was killed.
mkdir_lock() {
  _ml_d=$LOCK_DIR/$1.d
  _ml_i=0
  until mkdir "$_ml_d" 2>/dev/null; do
    _ml_p=$(cat "$_ml_d/pid" 2>/dev/null)
    if [ -n "$_ml_p" ] && ! kill -0 "$_ml_p" 2>/dev/null && [ ! -d "/proc/$_ml_p" ]; then
      mv "$_ml_d" "$_ml_d.stale.$$" 2>/dev/null && rm -rf "$_ml_d.stale.$$"
      continue
    fi
    _ml_i=$((_ml_i + 1))
    if [ "$_ml_i" -gt $((_lk_w * 10)) ]; then
      [ "$1" = .phone ] && fail phone-busy "$_lk_w"
      fail busy "$1" "$_lk_w"
    fi
    sleep 0.1
  done
  echo "$$" > "$_ml_d/pid"
  MKDIR_LOCKS="$MKDIR_LOCKS $_ml_d"
}

# apart FUNCTION [ARG...]: FUNCTION in a subshell, so that its `fail` (after
# its own clean-up by the subshell's EXIT trap) returns non-zero here instead
# of ending the script. The subshell owns none of this script's temp files or locks.
apart() {
  # shellcheck disable=SC2034 # cleanup, the subshell's EXIT trap, reads them
  (
    TEMPS=
    MKDIR_LOCKS=
    AT_EXIT=
    on_exit
    "$@"
  )
}
