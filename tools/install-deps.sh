#!/bin/sh
# Install gilscope's build and test dependencies from Debian, only those
# missing. Needs root (apt-get) when anything is missing.
set -e
need=""
for p in make gcc clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool bpftrace python3 util-linux procps; do
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
