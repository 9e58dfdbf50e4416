#!/bin/sh
# Print a CPython 3 interpreter gilscope can trace here: a pyenv build
# (unstripped, newest first), else python3 from PATH.
root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
for v in 3.12 3.11 3.13 3.10 3.9 3.8 3.7 3.6; do
	for p in "$root"/versions/$v.*/bin/python$v; do
		[ -x "$p" ] && { echo "$p"; exit 0; }
	done
done
command -v python3 || { echo "no python3 found" >&2; exit 1; }
