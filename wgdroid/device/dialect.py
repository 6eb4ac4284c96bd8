"""Which wg-quick a phone has: the Android one (WT src/wg-quick/android.c) or
the Linux bash script, so configs are checked against the right dialect.

Detection rule (one shell function, run inside a root script that already
exists, so it costs no round trip of its own):

- not a `#!` script (the real Android wg-quick is an NDK ELF binary, also
  the official app's libwg-quick.so) -> android;
- a script that contains `ndc network` (the Android wg-quick drives netd
  with `ndc network create/interface add/route add`; linux.bash never calls
  ndc; the simulator's Android wg-quick is such a script) -> android;
- any other script -> linux; no wg-quick -> none.
"""

from __future__ import annotations

from enum import StrEnum

# The marker a script must contain to count as the Android wg-quick.
ANDROID_MARKER = "ndc network"
DIALECT_TAG = "wgdroid:dialect="

# wg_dialect [PATH]: prints android | linux | none for PATH (default: the
# wg-quick on PATH). POSIX sh + toybox head/grep, as on any phone.
DETECT_FUNCTION = f"""
wg_dialect() {{
  wq=${{1:-$(command -v wg-quick 2>/dev/null)}}
  if [ -z "$wq" ] || [ ! -f "$wq" ]; then echo none; return 0; fi
  case "$(head -c 2 "$wq" 2>/dev/null)" in
    '#!') if grep -q '{ANDROID_MARKER}' "$wq" 2>/dev/null; then echo android; else echo linux; fi ;;
    *) echo android ;;
  esac
}}
"""


class WgQuickDialect(StrEnum):
    ANDROID = "android"
    LINUX = "linux"
    NONE = "none"  # no wg-quick found
