#!/bin/sh
# Run a command as a container in a Debian root (tools/test-roots.sh), the
# way container runtimes build one: a private mount namespace (and a PID
# namespace), a tmpfs as the new root holding read-only bind mounts of the
# root's directories, fresh /proc, /dev, /tmp, /run, then pivot_root into
# it with the old root detached. The cached root is never written to.
#
# usage: ctr.sh [OPTIONS] ROOT COMMAND [ARGS...]
#   --at DIR        empty host directory to build the new root on (the
#                   tmpfs is mounted there inside the namespace only);
#                   default: a temporary one, removed afterwards
#   --wl DIR        bind DIR read-only at /gs/wl
#   --scratch DIR   bind DIR read-write at /gs/scratch
#   --bin FILE      bind FILE read-only at /gs/bin/BASENAME
#   --no-debug      hide the debug files: an empty tmpfs over /usr/lib/debug
#   --exec          no PID namespace: the command replaces this script's
#                   process through exec only (gilscope's launch mode
#                   follows execs, not forks); default: a PID namespace
#                   whose init (sh) runs the command as a child and exits
#                   with its status
# The command runs in the new root with / as its working directory and
# stdin, stdout, stderr and the environment of this script.
set -eu

die() {
	echo "ctr.sh: $*" >&2
	exit 125
}

inner=0 at="" wl="" scratch="" bin="" nodebug=0 mode=pidns
while [ $# -gt 0 ]; do
	case $1 in
	--inner) inner=1 ;;
	--at | --wl | --scratch | --bin | --mode)
		[ $# -ge 2 ] || die "$1 needs a value"
		case $1 in
		--at) at=$2 ;;
		--wl) wl=$2 ;;
		--scratch) scratch=$2 ;;
		--bin) bin=$2 ;;
		--mode) mode=$2 ;;
		esac
		shift
		;;
	--no-debug) nodebug=1 ;;
	--exec) mode="exec" ;;
	--) shift; break ;;
	-*) die "unknown option $1" ;;
	*) break ;;
	esac
	shift
done
[ $# -ge 2 ] || die "usage: ctr.sh [--at DIR] [--wl DIR] [--scratch DIR] [--bin FILE] [--no-debug] [--exec] ROOT COMMAND [ARGS...]"
root=$1
shift
[ -d "$root/usr" ] || die "$root is not a root directory"

if [ $inner = 0 ]; then
	self=$(readlink -f "$0")
	nd=""
	[ $nodebug = 1 ] && nd=--no-debug
	if [ "$mode" = exec ]; then
		[ -n "$at" ] || die "--exec needs --at (nothing is left to clean up after an exec)"
		exec unshare --mount --propagation private \
			sh "$self" --inner --mode exec ${nd} --at "$at" --wl "$wl" \
			--scratch "$scratch" --bin "$bin" -- "$root" "$@"
	fi
	if [ -n "$at" ]; then
		exec unshare --mount --propagation private --pid --fork --kill-child \
			sh "$self" --inner --mode pidns ${nd} --at "$at" --wl "$wl" \
			--scratch "$scratch" --bin "$bin" -- "$root" "$@"
	fi
	at=$(mktemp -d /tmp/gs-ctr.XXXXXX)
	rc=0
	unshare --mount --propagation private --pid --fork --kill-child \
		sh "$self" --inner --mode pidns ${nd} --at "$at" --wl "$wl" \
		--scratch "$scratch" --bin "$bin" -- "$root" "$@" || rc=$?
	rmdir "$at"
	exit $rc
fi

# ---- inside the new mount namespace (and PID namespace, as its init)
[ -d "$at" ] || die "--at $at: no such directory"
ro_bind() {
	mount --bind "$1" "$2"
	mount -o remount,bind,ro "$2"
}
mount -t tmpfs -o mode=0755 gs-ctr-root "$at"
for e in "$root"/* "$root"/.[!.]*; do
	[ -e "$e" ] || [ -L "$e" ] || continue
	name=${e##*/}
	case $name in
	proc | sys | dev | tmp | run | gs | .gilscope-root | gs-e2e-*) continue ;;
	esac
	if [ -L "$e" ]; then
		ln -s "$(readlink "$e")" "$at/$name"
	elif [ -d "$e" ]; then
		mkdir "$at/$name"
		ro_bind "$e" "$at/$name"
	fi
done
mkdir "$at/proc" "$at/dev" "$at/tmp" "$at/run" "$at/sys" "$at/gs"
mount -t proc proc "$at/proc"
mount -t tmpfs -o mode=0755,nosuid gs-ctr-dev "$at/dev"
for d in null zero full random urandom; do
	: >"$at/dev/$d"
	mount --bind "/dev/$d" "$at/dev/$d"
done
ln -s /proc/self/fd "$at/dev/fd"
ln -s /proc/self/fd/0 "$at/dev/stdin"
ln -s /proc/self/fd/1 "$at/dev/stdout"
ln -s /proc/self/fd/2 "$at/dev/stderr"
mkdir "$at/dev/shm"
mount -t tmpfs -o mode=1777,nosuid,nodev gs-ctr-shm "$at/dev/shm"
mount -t tmpfs -o mode=1777,nosuid,nodev gs-ctr-tmp "$at/tmp"
mount -t tmpfs -o mode=0755,nosuid,nodev gs-ctr-run "$at/run"
if [ -n "$wl" ]; then
	mkdir -p "$at/gs/wl"
	ro_bind "$wl" "$at/gs/wl"
fi
if [ -n "$scratch" ]; then
	mkdir -p "$at/gs/scratch"
	mount --bind "$scratch" "$at/gs/scratch"
fi
if [ -n "$bin" ]; then
	mkdir -p "$at/gs/bin"
	: >"$at/gs/bin/${bin##*/}"
	ro_bind "$bin" "$at/gs/bin/${bin##*/}"
fi
if [ $nodebug = 1 ] && [ -d "$at/usr/lib/debug" ]; then
	mount -t tmpfs -o ro,mode=0755 gs-ctr-nodebug "$at/usr/lib/debug"
fi
cd "$at"
mkdir .oldroot
pivot_root . .oldroot
cd /
# from here on, commands are the root's own (its umount)
umount -l /.oldroot
rmdir /.oldroot
if [ "$mode" = exec ]; then
	exec "$@"
fi
# a foreground child (an asynchronous one would start with SIGINT ignored)
set +e
"$@"
exit $?
