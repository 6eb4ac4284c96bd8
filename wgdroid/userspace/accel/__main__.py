"""`python -m wgdroid.userspace.accel build`: compile the optional fast path."""

import sys

from wgdroid.userspace.accel import main

raise SystemExit(main(sys.argv[1:]))
