#!/usr/bin/python3
"""gilscope end-to-end tests: the entry point (make e2e). The runner is
harness.py, the cases are in *_cases.py; see harness.py for the options
(python3 tests/e2e/run.py --help)."""
import os
import sys

sys.dont_write_bytecode = True
os.environ["PYTHONDONTWRITEBYTECODE"] = "1"   # for the workloads too
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

if __name__ == "__main__":
    sys.exit(harness.main())
