#!/bin/sh
# Build (once) the Debian roots the distro e2e cases run CPython in:
#   trixie: python3.13 (Debian 13's), with -dbg and libpython3.13(-dbg)
#   sid:    python3.14 and python3.15, with -dbg and libpython3.X(-dbg)
# Roots are cached outside the checkout (GILSCOPE_ROOTS, default
# /var/cache/gilscope-tests) and rebuilt when missing or stale (the
# package list changed, or a build did not finish). The mirror is the one
# this machine's own apt sources name. Needs root and debootstrap.
# Usage: tools/test-roots.sh [trixie|sid ...]   (default: both)
set -eu
DIR=${GILSCOPE_ROOTS:-/var/cache/gilscope-tests}
mkdir -p "$DIR"

mirror() {
	m=""
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		m=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' "$f")
		[ -n "$m" ] && break
	done
	if [ -z "$m" ] && [ -r /etc/apt/sources.list ]; then
		m=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }' /etc/apt/sources.list)
	fi
	[ -n "$m" ] || { echo "test-roots: no Debian mirror in this machine's apt sources" >&2; exit 1; }
	echo "$m"
}

pkgs_for() {
	case $1 in
	trixie) echo "python3.13 python3.13-dbg libpython3.13 libpython3.13-dbg" ;;
	sid) echo "python3.14 python3.14-dbg libpython3.14 libpython3.14-dbg python3.15 python3.15-dbg libpython3.15 libpython3.15-dbg" ;;
	*) echo "test-roots: unknown suite $1" >&2; exit 2 ;;
	esac
}

# Every interpreter of the package list is there, with its debug file
# directory (a root half-deleted or from an older list is stale).
complete() {
	for p in $2; do
		case $p in
		python3.[0-9]*-dbg) ;;
		python3.[0-9]*) [ -x "$1/usr/bin/$p" ] || return 1 ;;
		libpython3.[0-9]*-dbg) ;;
		libpython3.[0-9]*) ls "$1"/usr/lib/*/"${p}".so.1.0 >/dev/null 2>&1 || return 1 ;;
		esac
	done
	[ -d "$1/usr/lib/debug/.build-id" ]
}

build() {
	suite=$1
	root=$DIR/$suite
	pkgs=$(pkgs_for "$suite")
	stamp="debootstrap --variant=minbase $suite: $pkgs"
	if [ -f "$root/.gilscope-root" ] && [ "$(cat "$root/.gilscope-root")" = "$stamp" ] && complete "$root" "$pkgs"; then
		echo "test-roots: $suite: cached in $root"
		return 0
	fi
	command -v debootstrap >/dev/null 2>&1 || {
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -q && apt-get install -y -q debootstrap
	}
	m=$(mirror)
	echo "test-roots: $suite: building $root from $m ($pkgs)"
	rm -rf "$root.tmp"
	inc=$(echo "$pkgs" | tr ' ' ',')
	if ! debootstrap --variant=minbase --include="$inc" "$suite" "$root.tmp" "$m" >"$DIR/$suite.log" 2>&1; then
		echo "test-roots: $suite: debootstrap failed; last lines of $DIR/$suite.log:" >&2
		tail -5 "$DIR/$suite.log" >&2
		exit 1
	fi
	rm -rf "$root.tmp/var/cache/apt/archives/"*.deb
	echo "$stamp" >"$root.tmp/.gilscope-root"
	rm -rf "$root"
	mv "$root.tmp" "$root"
	echo "test-roots: $suite: built"
}

[ $# -gt 0 ] || set -- trixie sid
for s in "$@"; do build "$s"; done
