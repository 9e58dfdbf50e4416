#!/bin/sh
# make demo: trace the bundled workload three times: the same CPU work as
# Python threads and as zlib threads, then threads waiting on I/O; print
# gilscope's three reports.
set -eu
cd "$(dirname "$0")/.."
py=$(./tools/find-python.sh)
echo "== demo 1/3: 4 threads running a pure-Python loop ($py)"
./gilscope record -- "$py" tools/workloads/demo.py threads 3
echo
echo "== demo 2/3: 4 threads compressing with zlib, which releases the GIL"
./gilscope record -- "$py" tools/workloads/demo.py zlib 3
echo
echo "== demo 3/3: 4 threads waiting on sockets, a little Python per message"
./gilscope record -- "$py" tools/workloads/demo.py io 3
