#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The built binaries carry Debian's hardening (what hardening-check from
# devscripts checks, with binutils' readelf): PIE, full RELRO (a GNU_RELRO
# segment and BIND_NOW), the stack protector, FORTIFY's checked calls, and
# no executable stack. Usage: check_hardening.sh BUILD_DIR [BINARY...]
set -euo pipefail
BUILD=${1:?usage: check_hardening.sh BUILD_DIR [BINARY...]}
shift
[ $# -gt 0 ] || set -- "$BUILD/procbindd" "$BUILD/procbindctl"
command -v readelf >/dev/null || { echo "SKIP: readelf (binutils) is not installed"; exit 77; }
grep -q '^PB_HARDEN:BOOL=OFF' "$BUILD/CMakeCache.txt" 2>/dev/null &&
	{ echo "SKIP: this build was configured with -DPB_HARDEN=OFF"; exit 77; }
grep -q '^PB_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null &&
	{ echo "SKIP: a sanitizer build is not hardened (FORTIFY hides accesses from ASan)"; exit 77; }
bad=0
for b in "$@"; do
	h=$(readelf -h "$b"); l=$(readelf -lW "$b"); d=$(readelf -dW "$b"); s=$(readelf -sW --dyn-syms "$b")
	miss=()
	grep -q 'Type:[[:space:]]*DYN' <<<"$h" || miss+=("PIE")
	grep -q 'GNU_RELRO' <<<"$l" || miss+=("RELRO")
	grep -qE 'BIND_NOW|FLAGS_1.*NOW' <<<"$d" || miss+=("BIND_NOW")
	grep -q '__stack_chk_fail' <<<"$s" || miss+=("stack protector")
	grep -qE '__[a-z_]+_chk(@|$| )' <<<"$(grep -v __stack_chk_fail <<<"$s")" || miss+=("FORTIFY")
	grep -A1 'GNU_STACK' <<<"$l" | grep -q 'RWE' && miss+=("non-executable stack")
	if [ ${#miss[@]} -gt 0 ]; then
		echo "FAIL: $b lacks: ${miss[*]}"
		bad=1
	else
		echo "PASS: $b: PIE, full RELRO (BIND_NOW), stack protector, FORTIFY ($(grep -oE '__[a-z_]+_chk' <<<"$s" | sort -u | grep -vc stack_chk) checked calls), no executable stack"
	fi
done
exit $bad
