#!/bin/sh
# Re-measure the CPython layout facts docs/cpython-layouts.md records, from
# the debug files of Debian's builds in the test roots (tools/test-roots.sh):
# gdb prints the struct layouts and field offsets from DWARF.
# Usage: tools/measure-layouts.sh [ROOTS_DIR]   (needs gdb)
set -eu
DIR=${1:-${GILSCOPE_ROOTS:-/var/cache/gilscope-tests}}
for spec in trixie:3.13 sid:3.14 sid:3.15; do
	root=$DIR/${spec%%:*}
	v=${spec##*:}
	exe=$root/usr/bin/python$v
	[ -x "$exe" ] || { echo "== $v: $exe missing (run tools/test-roots.sh)"; continue; }
	id=$(readelf -n "$exe" | awk '/Build ID/ { print $3 }')
	dbg=$root/usr/lib/debug/.build-id/$(echo "$id" | cut -c1-2)/$(echo "$id" | cut -c3-).debug
	echo "== python$v build-id $id"
	gdb -batch -nx \
		-ex 'ptype /o struct _Py_DebugOffsets' \
		-ex 'ptype /o struct _gil_runtime_state' \
		-ex 'print &((PyThreadState *)0)->interp' \
		-ex 'print &((PyThreadState *)0)->eval_breaker' \
		-ex 'print &((struct _is *)0)->ceval.gil' \
		-ex 'print &((struct _is *)0)->_gil' \
		-ex 'print &((_PyRuntimeState *)0)->_main_interpreter' \
		-ex 'print sizeof(_PyRuntimeState)' \
		-ex 'print sizeof(PyInterpreterState)' \
		"$dbg"
done
