#!/bin/sh
# SPDX-License-Identifier: MIT
# Import files with speedscope's own importers (its bundled app, driven in
# headless Chromium by check.js) and say what it made of them.
#
#   tools/speedscope/run.sh FILE...     exit 0 only if speedscope imports every FILE
#   tools/speedscope/run.sh --self-test a hand-written folded file and a trace
#                                       from the unit test must import; a broken
#                                       and a truncated file must not
#
# Needs node/npm (installs the pinned package-lock.json into node_modules on
# first use) and Debian's chromium (apt-get install -y chromium), or
# CHROMIUM=/path/to/chrome.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

setup() {
	command -v node >/dev/null && command -v npm >/dev/null || {
		echo "run.sh: needs node and npm (apt-get install -y nodejs npm)" >&2
		exit 2
	}
	chrome=${CHROMIUM:-/usr/bin/chromium}
	[ -x "$chrome" ] || {
		echo "run.sh: no $chrome (apt-get install -y chromium, or set CHROMIUM)" >&2
		exit 2
	}
	# npm ci again whenever the lock file is newer than the install.
	if [ ! -f "$here/node_modules/.package-lock.json" ] ||
	   [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
		(cd "$here" && npm ci --no-audit --no-fund --loglevel=error) >&2
	fi
}

self_test() {
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT

	# gilscope's folded form: view;thread;frame;...;leaf WEIGHT(ns)
	cat > "$tmp/gil.folded" <<'EOF'
held;MainThread;<module> (app.py:30);main (app.py:22);compute (app.py:8) 41250
held;worker-1;<module> (app.py:30);run (app.py:12);compute (app.py:8) 9500
wait;worker-1;<module> (app.py:30);run (app.py:12);waiter (app.py:5) 1234
wait;MainThread;<module> (app.py:30);main (app.py:22);time.sleep [native] 9750
native;MainThread;<module> (app.py:30);main (app.py:22);hashlib.sha256 (<frozen>:0) 5000
offcpu;worker-1;<module> (app.py:30);run (app.py:12);socket.recv [native] 30000
EOF
	# The unit test's scenario, written by user/render/chrome_trace.c.
	${CC:-gcc} -std=gnu11 -D_GNU_SOURCE -iquote "$repo/user" -I"$repo/bpf" \
		"$repo/tests/unit/test_chrome_trace.c" "$repo/user/render/chrome_trace.c" \
		"$repo/user/model/timeline.c" "$repo/user/common.c" \
		"$repo/user/render/json.c" -o "$tmp/test_chrome_trace"
	"$tmp/test_chrome_trace" "$tmp/gil_trace.json" >&2
	printf 'this is not a profile\njust; some words\n' > "$tmp/broken.txt"
	head -c 400 "$tmp/gil_trace.json" > "$tmp/truncated.json"

	echo "== must import"
	node "$here/check.js" "$tmp/gil.folded" "$tmp/gil_trace.json"
	for bad in "$tmp/broken.txt" "$tmp/truncated.json"; do
		echo "== must fail"
		if node "$here/check.js" "$bad"; then
			echo "self-test FAILED: speedscope accepted $bad" >&2
			exit 1
		fi
	done
	echo "self-test passed"
}

case "${1:-}" in
""|-h|--help)
	sed -n '3,13p' "$0" | sed 's/^# \{0,1\}//'
	[ $# -gt 0 ] || exit 2
	;;
--self-test)
	setup
	self_test
	;;
*)
	setup
	exec node "$here/check.js" "$@"
	;;
esac
