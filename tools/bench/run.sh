#!/bin/sh
# gilscope overhead benchmark: `make bench` or tools/bench/run.sh [--quick]
# [--python 3.12.1] [--rounds N] [--out FILE]. Needs root. Installs what the
# benchmark drives when missing (Debian: bpftrace, bpftool, linux-perf, wrk,
# python3-gunicorn and python3-flask for the gunicorn app).
# Writes a Markdown report to stdout and to BENCHMARKS.md at the repo root.
set -e
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
if [ "$(id -u)" != 0 ]; then
	echo "bench: run as root (BPF tracing): sudo $0 $*" >&2
	exit 1
fi
# command:package pairs. perf is optional: without it the report's perf
# column says why instead of giving figures.
need=""
for cp in bpftrace:bpftrace bpftool:bpftool wrk:wrk perf:linux-perf; do
	command -v "${cp%%:*}" >/dev/null 2>&1 || need="$need ${cp#*:}"
done
if [ -n "$need" ]; then
	echo "bench: installing:$need" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q $need >&2 ||
		{ apt-get update -q >&2 && apt-get install -y -q $need >&2; } ||
		echo "bench: could not install:$need" >&2
fi
# Workload 5 (a gunicorn gthread Flask app) runs on Debian's own python3
# with Debian's python3-gunicorn and python3-flask. Without them the
# report's section 5 says why.
if ! /usr/bin/python3 -c "import gunicorn, flask" >/dev/null 2>&1; then
	echo "bench: installing: python3-gunicorn python3-flask" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q python3-gunicorn python3-flask >&2 ||
		{ apt-get update -q >&2 && apt-get install -y -q python3-gunicorn python3-flask >&2; } ||
		echo "bench: could not install python3-gunicorn python3-flask" >&2
fi
[ -x "$repo/gilscope" ] || make -C "$repo" gilscope
exec /usr/bin/python3 "$here/bench.py" "$@"
