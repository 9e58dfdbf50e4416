#!/bin/sh
# gilscope overhead benchmark: `make bench` or tools/bench/run.sh [--quick]
# [--python 3.12.1] [--rounds N] [--out FILE]. Needs root, bpftrace, bpftool.
# Writes a Markdown report to stdout and to BENCHMARKS.md at the repo root.
set -e
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
if [ "$(id -u)" != 0 ]; then
	echo "bench: run as root (BPF tracing): sudo $0 $*" >&2
	exit 1
fi
[ -x "$repo/gilscope" ] || make -C "$repo" gilscope
exec /usr/bin/python3 "$here/bench.py" "$@"
