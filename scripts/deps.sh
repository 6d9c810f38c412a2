#!/bin/sh
# deps.sh PACKAGE...: installs the Debian packages named that are missing, and
# nothing else. Runs apt-get as root, or through sudo for another user, so
# `make demo` and `make test` work on a machine that has only Go.
set -eu
need=""
for p in "$@"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		need="$need $p"
	fi
done
[ -z "$need" ] && exit 0
echo "installing system packages:$need" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 || { echo "need root or sudo to install:$need" >&2; exit 1; }
	sudo=sudo
fi
$sudo apt-get update -qq
# shellcheck disable=SC2086 # word splitting of the list is wanted
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $need >&2
