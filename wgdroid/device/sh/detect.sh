# detect.sh: run as the adb shell user when the phone's way to root is not
# known yet: find it, say it (METHOD_TAG + method, on stderr), then run the
# root script S with it, all in the same round trip.
# Prelude constants: S (the root script), STDIN (1: S reads stdin), METHOD_TAG.
# needs:

detect_and_run() {
  [ "$STDIN" = 1 ] || exec </dev/null
  if [ "$(id -u)" = 0 ]; then
    echo "${METHOD_TAG}adb-root" >&2
    exec sh -c "$S"
  fi
  if ! command -v su >/dev/null 2>&1; then
    echo "${METHOD_TAG}none" >&2
    exit 127
  fi
  _dt_v=$(su -v 2>&1 </dev/null)
  case $_dt_v in
    *MAGISKSU* | *magisksu*) _dt_m=magisk ;;
    *KernelSU* | *kernelsu* | *APatch* | *apatch*) _dt_m=kernelsu ;;
    *"invalid uid/gid"* | [Uu]sage*) _dt_m=aosp ;;
    *) _dt_m=su-c ;;
  esac
  echo "$METHOD_TAG$_dt_m" >&2
  # AOSP's su takes a user and a command; the -c family takes the script as
  # one argument after -c.
  if [ "$_dt_m" = aosp ]; then exec su 0 sh -c "$S"; fi
  exec su -c "$S"
}
