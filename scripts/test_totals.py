#!/usr/bin/env python3
"""The closing totals of scripts/test.sh, from meson's testlog.json files: every GoogleTest case
counts once (from the binary's own "[  PASSED  ] N tests" / "[  FAILED  ] N tests" lines), every
other test (the live tests, scripts) once by its result. A test that crashed or timed out without a
GoogleTest failure line counts as one failure; a skipped test (exit 77) counts as skipped, and is
named.

Usage: test_totals.py TESTLOG.json... Prints "N passed, M failed, K skipped", then one line per
skipped test. A missing or empty log is one failure (the run it stands for did not happen)."""

import json
import re
import sys

PASSED = re.compile(r"^\[  PASSED  \] (\d+) tests?\.", re.M)
FAILED = re.compile(r"^\[  FAILED  \] (\d+) tests?, listed below", re.M)


def totals(paths):
    passed = failed = 0
    skipped = []
    for path in paths:
        try:
            with open(path) as f:
                runs = [json.loads(line) for line in f if line.strip()]
        except (OSError, ValueError) as e:
            print("test_totals: %s: %s" % (path, e), file=sys.stderr)
            runs = []
        if not runs:
            failed += 1
            continue
        for t in runs:
            out = t.get("stdout") or ""
            gp = sum(int(n) for n in PASSED.findall(out))
            gf = sum(int(n) for n in FAILED.findall(out))
            result = t.get("result")
            if result == "SKIP":
                skipped.append(t.get("name", "?"))
            elif gp or gf:
                passed += gp
                failed += gf if gf or result == "OK" else 1
            elif result == "OK":
                passed += 1
            else:
                failed += 1
    return passed, failed, skipped


def main():
    passed, failed, skipped = totals(sys.argv[1:])
    print("%d passed, %d failed, %d skipped" % (passed, failed, len(skipped)))
    for name in skipped:
        print("skipped: %s" % name)


if __name__ == "__main__":
    main()
