#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Run the build stage of deploy/Dockerfile as a script, for machines with no
# container engine (CI): its RUN steps, with WORKDIR and "COPY . ." mapped to
# a temporary copy of the repository and /build to a temporary directory.
# Usage: dockerfile_build_stage.sh [SOURCE_DIR]   (root: the stage apt-get installs)
set -euo pipefail
SRC=$(cd "${1:-$(dirname "$0")/..}" && pwd)
T=$(mktemp -d /tmp/pbdocker.XXXXXX)
trap 'rm -rf "$T"' EXIT
in_stage=0
workdir=$T/root
mkdir -p "$workdir"
steps=0
while IFS= read -r line; do
	case "$line" in
	"FROM "*" AS build") in_stage=1; continue ;;
	"FROM "*) in_stage=0; continue ;;
	esac
	[ $in_stage = 1 ] || continue
	case "$line" in
	"WORKDIR "*) workdir=$T/root${line#WORKDIR }; mkdir -p "$workdir" ;;
	"COPY . .") (cd "$SRC" && git ls-files -z | xargs -0 cp --parents -t "$workdir") ;;
	"RUN "*)
		cmd=${line#RUN }
		cmd=${cmd//\/build/$T/root/build}
		cmd=${cmd// && rm -rf \/var\/lib\/apt\/lists\/\*/} # the image's trim, not the host's
		echo "+ $cmd"
		(cd "$workdir" && DEBIAN_FRONTEND=noninteractive bash -euo pipefail -c "$cmd")
		steps=$((steps + 1))
		;;
	esac
done <"$SRC/deploy/Dockerfile"
[ $steps -ge 2 ] || { echo "FAIL: the build stage has $steps RUN steps"; exit 1; }
for bin in procbindd procbindctl; do
	[ -x "$T/root/build/$bin" ] || { echo "FAIL: the build stage did not produce $bin"; exit 1; }
done
"$T/root/build/procbindctl" policy check "$SRC/deploy/policy.yaml"
# the package the runtime stage installs, of the tree's version
ver=$(sed -n 's/^project(procbind VERSION \([0-9.]*\) .*/\1/p' "$SRC/CMakeLists.txt")
got=$(dpkg-deb -f "$T/root/build/procbind.deb" Version 2>/dev/null || true)
[ -n "$ver" ] && [ "$got" = "$ver-1" ] ||
	{ echo "FAIL: the build stage's package is version '$got', the tree's is '$ver'"; exit 1; }
dpkg-deb -c "$T/root/build/procbind.deb" >"$T/contents"
grep -q ' ./usr/sbin/procbindd$' "$T/contents" ||
	{ echo "FAIL: the package has no /usr/sbin/procbindd"; exit 1; }
echo "PASS: the Dockerfile's build stage ($steps RUN steps) built procbindd, procbindctl and procbind $got"
