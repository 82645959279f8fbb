#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# One libFuzzer harness: replay every input of its corpus (the seeds and the
# regression inputs of crashes once found), then fuzz for SECONDS from the
# corpus in a scratch copy. A crash, leak, sanitizer report, timeout (10 s)
# or memory blow-up (2 GiB) fails it; the input is kept under the harness's
# build directory (artifacts-NAME/) and the command to reproduce it printed.
# Add such an input to the corpus once fixed: it is then replayed every run.
#
#   fuzz_run.sh HARNESS CORPUS SECONDS [libFuzzer flags...]
# e.g. fuzz for an hour, keeping what it finds in the corpus:
#   tools/fuzz_run.sh build/sanitize/tests/fuzz/fuzz_policy tests/fuzz/corpus/policy 3600
set -euo pipefail
H=${1:?harness}
CORPUS=${2:?corpus directory}
SECS=${3:?seconds}
shift 3
[ -x "$H" ] || { echo "fuzz_run: $H is not built (tools/sanitize_build.sh makes it)"; exit 1; }
[ -d "$CORPUS" ] && [ -n "$(ls -A "$CORPUS")" ] || { echo "fuzz_run: empty corpus $CORPUS"; exit 1; }
name=$(basename "$H")
art=$(dirname "$H")/artifacts-$name
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$art"

n=$(ls "$CORPUS" | wc -l)
echo "== $name: replaying $n inputs of $CORPUS"
"$H" -artifact_prefix="$art/" "$CORPUS"/* >"$work/replay.log" 2>&1 || {
	cat "$work/replay.log"
	echo "FAIL: $name: an input of the corpus fails (above)"
	exit 1
}
echo "== $name: fuzzing for $SECS s"
mkdir "$work/corpus"
if ! "$H" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix="$art/" "$@" "$work/corpus" "$CORPUS" >"$work/fuzz.log" 2>&1; then
	tail -n 60 "$work/fuzz.log"
	echo "FAIL: $name found a crash; the input is in $art/ (reproduce: $H $art/<file>)"
	exit 1
fi
grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|cov: " "$work/fuzz.log" | tail -n 3
echo "PASS: $name: $n inputs replayed, $(grep -c . <(ls "$work/corpus")) new corpus entries in $SECS s, no finding"
