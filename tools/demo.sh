#!/bin/sh
# make demo: trace the bundled workload twice, the same CPU work as Python
# threads and as zlib threads, and print gilscope's two reports.
set -eu
cd "$(dirname "$0")/.."
py=$(./tools/find-python.sh)
echo "== demo 1/2: 4 threads running a pure-Python loop ($py)"
./gilscope record -- "$py" tools/demo.py threads 3
echo
echo "== demo 2/2: 4 threads compressing with zlib, which releases the GIL"
./gilscope record -- "$py" tools/demo.py zlib 3
