#!/usr/bin/env bash
# Install the Debian packages named, as root or through sudo, without asking:
# "make demo" calls it when libraries are missing (see INSTALL), .ci/run
# for the packages CI needs.  It says each command it runs.
set -eu
[ $# -gt 0 ] || exit 0
command -v apt-get >/dev/null 2>&1 || {
	echo "deps.sh: no apt-get here; install: $*" >&2
	exit 1
}
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 || {
		echo "deps.sh: not root and no sudo; as root run: apt-get install $*" >&2
		exit 1
	}
	sudo="sudo -n"
fi
export DEBIAN_FRONTEND=noninteractive
run() {
	echo "deps.sh: $*" >&2
	"$@" >&2
}
run $sudo apt-get update -qq
run $sudo apt-get install -y -qq --no-install-recommends "$@"
