#!/bin/sh
# Check a gilscope flame graph SVG in headless Chromium (see check.js).
#   tools/svgcheck/run.sh FILE.svg SCREENSHOT.png NAME [NAME...]
# Installs what is missing: Debian's chromium (apt-get, as root) and
# playwright-core from package-lock.json into tools/svgcheck/node_modules.
set -eu

if [ $# -lt 3 ]; then
	echo "usage: $0 FILE.svg SCREENSHOT.png NAME [NAME...]" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)

if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "$0: chromium is missing: apt-get install chromium (as root)" >&2
		exit 1
	fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if ! command -v node >/dev/null 2>&1; then
	echo "$0: node is missing: apt-get install nodejs npm" >&2
	exit 1
fi
if [ ! -d "$here/node_modules/playwright-core" ]; then
	(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi
exec node "$here/check.js" "$@"
