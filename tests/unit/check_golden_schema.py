#!/usr/bin/env python3
"""The golden JSON reports (tests/unit/golden/*.json, written by
test_golden through the JSON writer) against docs/report.schema.json:
the writer and the schema file cannot drift apart. The validator is the
e2e tests' (tests/e2e/gs.py), shape only: the golden models' figures are
synthetic, so the consistency checks of real reports do not apply."""
import glob
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import gs  # noqa: E402

files = sorted(glob.glob(os.path.join(HERE, "golden", "*.json")))
files = [f for f in files if not f.endswith(".trace.json")]
bad = 0
for f in files:
    with open(f) as fh:
        problems = gs.schema_problems(json.load(fh), gs.report_schema())
    for p in problems:
        print("%s: %s" % (os.path.relpath(f), p))
    bad += len(problems)
if not files:
    print("check_golden_schema: no golden reports found")
    sys.exit(1)
print("check_golden_schema: %d report(s), %d problem(s)" % (len(files), bad))
sys.exit(1 if bad else 0)
