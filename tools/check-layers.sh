#!/bin/sh
# The stages of user/ depend on each other one way only:
#   inspect: the target, on its own
#   model:   raw result -> figures; names the inspected target
#   trace:   inspects, attaches, fills the model's raw result
#   render:  formats the model
#   main.c:  all of them
# Prints each include that breaks this; exit 1 if any.
cd "$(dirname "$0")/.." || exit 2
bad=0
check() {   # stage, the stages it may not include
	stage=$1; shift
	for later in "$@"; do
		if grep -n "#include \"$later/" user/"$stage"/*.[ch]; then
			echo "check-layers: user/$stage includes user/$later (a later stage)" >&2
			bad=1
		fi
	done
}
check inspect trace model render
check model trace render
check trace render
check render trace
exit $bad
