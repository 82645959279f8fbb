#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The tests and kernel rows a change touches, to run before stopping instead
# of the whole .ci/run (which runs everything).
#
#   tools/affected.sh [-b BUILD] [--run] [BASE]
#
# The change is what differs from BASE (default HEAD: the uncommitted work;
# "main" or a commit takes committed work too). Prints the ctest regex for
# this host and the kernel rows with their tests; --run runs them: ctest
# -R on the host, then tools/kmatrix.sh -r with the rows side by side.
#
# What a file touches:
#   *.md, docs/, .clang-format, .gitignore            nothing to run
#   bpf/, include/procbind/{abi,decision}.h,
#   user/kernel/, user/guard/, user/procs/,
#   tests/integration/{lib.sh,pb_actor.c,pb_steal.*,policy.yaml},
#   tools/kmatrix*.sh, CMakeLists.txt (any)          every test, every row
#   bpf/lsm.bpf.c                                     also the +lsm row
#   tests/integration/test_NAME.sh                    NAME on the host, under
#                                                     the sanitizers, and in
#                                                     every row (unless
#                                                     host_only)
#   tests/unit/test_NAME.c                            that unit, twice
#   tests/fuzz/, tools/fuzz_run.sh                    the fuzz harnesses
#   deploy/                                           the deploy checks and
#                                                     the package test
#   anything else (user/, include/, tools/)           every host test (the
#                                                     unit, sanitizer, fuzz
#                                                     and integration
#                                                     suites); no row
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$SRC/build
RUN=0
while [ $# -gt 0 ]; do
	case $1 in
	-b) BUILD=$(cd "$2" && pwd); shift 2 ;;
	--run) RUN=1; shift ;;
	-h | --help) sed -n '3,31p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "affected: unknown option $1 (see --help)" >&2; exit 2 ;;
	*) break ;;
	esac
done
BASE=${1:-HEAD}
cd "$SRC"
git rev-parse -q --verify "$BASE^{commit}" >/dev/null || { echo "affected: no commit $BASE" >&2; exit 2; }
mapfile -t FILES < <({ git diff --name-only "$BASE"; git ls-files --others --exclude-standard; } | sort -u)
[ ${#FILES[@]} -gt 0 ] || { echo "affected: nothing changed since $BASE"; exit 0; }

# the tests labelled host_only: the names in the set_tests_properties that
# gives that label
HOST_ONLY=$(awk '/^set_tests_properties\(integration_/ { on = 1; buf = "" } on { buf = buf " " $0 }
	on && /host_only/ { print buf; on = 0 }' tests/integration/CMakeLists.txt |
	grep -o 'integration_[a-z_]*' | sed 's/^integration_//' | sort -u)
all=0 lsm=0 host_all=0
host=() guest=()
for f in "${FILES[@]}"; do
	case $f in
	*.md | docs/* | .clang-format | .gitignore) ;;
	bpf/lsm.bpf.c) all=1 lsm=1 ;;
	bpf/* | include/procbind/abi.h | include/procbind/decision.h | user/kernel/* | user/guard/* | \
		user/procs/* | tests/integration/lib.sh | tests/integration/pb_actor.c | \
		tests/integration/pb_steal.* | tests/integration/policy.yaml | tools/kmatrix*.sh | \
		CMakeLists.txt | */CMakeLists.txt) all=1 ;;
	tests/integration/test_*.sh)
		n=${f#tests/integration/test_} n=${n%.sh}
		host+=("integration_$n$" "sanitize_integration_$n$")
		grep -qx "$n" <<<"$HOST_ONLY" || guest+=("integration_$n")
		[ "$n" = lsm ] && lsm=1
		;;
	tests/unit/test_*.c)
		n=${f#tests/unit/} n=${n%.c}
		host+=("unit_$n$" "sanitize_unit_$n$")
		;;
	tests/fuzz/* | tools/fuzz_run.sh) host+=("^fuzz_") ;;
	deploy/*) host+=("^lint_manifests$" "^deploy_build_stage$" "integration_deploy$" "integration_package$") ;;
	*) host_all=1 ;;
	esac
done

if [ $all = 1 ]; then
	hre="-LE kmatrix"
	rows="5.10 6.1 6.12 6.18"
	gre=
elif [ $host_all = 1 ] || [ ${#host[@]} -gt 0 ]; then
	if [ $host_all = 1 ]; then hre="-LE kmatrix"; else hre="-R $(IFS='|'; echo "${host[*]}")"; fi
	rows=
	gre=
	if [ ${#guest[@]} -gt 0 ]; then
		rows="5.10 6.1 6.12 6.18"
		gre=$(IFS='|'; echo "^(${guest[*]})$")
	fi
else
	echo "affected: only documentation changed since $BASE: nothing to run"
	exit 0
fi
# the +lsm row runs integration_lsm alone (tools/CMakeLists.txt)
[ $lsm = 1 ] && [ -n "$rows" ] && rows="$rows 6.1+lsm"
[ $lsm = 1 ] && [ -z "$rows" ] && rows="6.1+lsm"

echo "affected: ${#FILES[@]} files changed since $BASE"
echo "  host:   (cd $BUILD && ctest $hre --output-on-failure)"
if [ -n "$rows" ]; then
	echo "  kernel: tools/kmatrix.sh -b $BUILD${gre:+ -r '$gre'} $rows"
else
	echo "  kernel: no row (nothing the kernel sees changed)"
fi
[ $RUN = 1 ] || exit 0

rc=0
# shellcheck disable=SC2086 # hre is flags
(cd "$BUILD" && ctest -j5 $hre --output-on-failure) || rc=1
if [ -n "$rows" ]; then
	# the +lsm row runs integration_lsm alone, whatever the regex
	plain=$(tr ' ' '\n' <<<"$rows" | grep -v '+lsm' | tr '\n' ' ' || true)
	if [ -n "$plain" ]; then
		# shellcheck disable=SC2086 # plain is a list of rows
		bash tools/kmatrix.sh -b "$BUILD" ${gre:+-r "$gre"} $plain || rc=1
	fi
	if [ $lsm = 1 ]; then
		bash tools/kmatrix.sh -b "$BUILD" -r integration_lsm 6.1+lsm || rc=1
	fi
fi
exit $rc
