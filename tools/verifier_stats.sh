#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# What the verifier makes of each program, on this kernel and on each row of
# the kernel matrix: instructions processed, states (total and peak), for
# one BPF object or two side by side (before and after a change, with the
# ratio of instructions). Root; the guests are tools/kmatrix.sh's.
#
#   verifier_stats.sh [-b BUILD] OBJECT [OBJECT2] [-- KERNEL...]
#
# OBJECT is a linked procbind.bpf.o (BUILD/bpf/procbind.bpf.o is the
# tree's; a build of an earlier commit gives the "before"). KERNEL as
# kmatrix.sh takes them (default 5.10 6.1 6.1+lsm 6.12 6.18); "-- host"
# runs on this kernel only.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$SRC/build
if [ "${1:-}" = -b ]; then BUILD=$(cd "$2" && pwd); shift 2; fi
OBJS=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do OBJS+=("$(readlink -f "$1")"); shift; done
[ "${1:-}" = -- ] && shift
KERNELS=("$@")
[ ${#OBJS[@]} -ge 1 ] && [ ${#OBJS[@]} -le 2 ] || { sed -n '3,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
TOOL=$BUILD/tools/pb_verifier_stats
[ -x "$TOOL" ] || { echo "verifier_stats: build $TOOL first"; exit 2; }
echo "== this host: $(uname -r)"
"$TOOL" "${OBJS[@]}"
[ "${KERNELS[*]:-}" = host ] && exit 0
# the guests see this host's root read-only, /tmp excepted: the objects go
# under the build directory
V=$BUILD/vstats
mkdir -p "$V"
args=()
for i in "${!OBJS[@]}"; do
	cp "${OBJS[$i]}" "$V/obj$i.bpf.o"
	args+=("$V/obj$i.bpf.o")
done
PB_KMATRIX_LOGS=$V/logs bash "$SRC/tools/kmatrix.sh" -b "$BUILD" -x "$TOOL ${args[*]}" "${KERNELS[@]}" >"$V/kmatrix.out" 2>&1 || true
for log in "$V"/logs/*.log.clean; do
	[ -e "$log" ] || { cat "$V/kmatrix.out"; exit 1; }
	k=$(basename "$log" .log.clean)
	echo "== $k: $(sed -n 's/^PBMATRIX uname //p' "$log")"
	sed -n '/^program /,/^PBMATRIX done/p' "$log" | grep -v '^PBMATRIX' | grep -v '^\['
done
