#!/bin/sh
# Install gilscope's build and test dependencies from Debian, only those
# missing. Needs root (apt-get) when anything is missing.
set -e
# (make SAN=1's ASan, LSan and UBSan runtimes, libasan8, liblsan0 and
# libubsan1, come with gcc: libgcc-12-dev depends on them)
# --test adds what the tests drive: bpftrace (cross-check), Chromium (SVG
# and speedscope checks), debootstrap (the Debian roots), golang-go (`go
# tool pprof` reads --pprof) and Node.js/npm where the machine has none.
pkgs="make gcc clang llvm libbpf-dev libelf-dev zlib1g-dev libcapstone-dev libmicrohttpd-dev libncurses-dev bpftool xxd python3 util-linux procps"
if [ "${1:-}" = "--test" ]; then
	# python3.11-dbg: Debian's stripped python3.11 with its debug file
	# (installing it upgrades python3.11 to the matching version);
	# debootstrap: the Debian roots of Debian's CPython 3.13-3.15
	# (tools/test-roots.sh)
	# libclang-rt-14-dev: clang's ASan/UBSan and libFuzzer runtimes
	# (make fuzz, and make fuzz-regress in make unit)
	pkgs="$pkgs bpftrace chromium python3.11-dbg libpython3.11 libpython3.11-dbg strace debootstrap golang-go"
	pkgs="$pkgs libclang-rt-14-dev prometheus tmux"
	command -v npm >/dev/null 2>&1 || pkgs="$pkgs nodejs npm"
fi
need=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || need="$need $p"
done
[ -z "$need" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "missing packages:$need; run as root or: sudo apt-get install$need" >&2
	exit 1
fi
echo "installing:$need"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q $need
