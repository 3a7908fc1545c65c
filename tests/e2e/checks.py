"""The checks every end-to-end test script prints: "ok: ..." or "FAIL: ..." (then exit 1)."""

import sys

SKIP = 77  # meson's "skipped" exit status


def die(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        die(msg)
    print("ok: " + msg, flush=True)
