#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The agent reloads its policy when the file changes, with no procbindctl
# reload: the file is a ConfigMap's, replaced as the kubelet replaces it (a
# new timestamped directory, a ..data_tmp symlink renamed over ..data, the
# old directory removed). A new policy is in force within 2 s; a broken one
# is refused (a policy_rejected event, the metric) and the old one stays;
# an editor's save (write a copy, rename it over the file) is seen too.
. "$(dirname "$0")/lib.sh"
CM=$T/configmap
mkdir -p "$CM"
# publish NAME FILE: the kubelet's atomic update of the volume
publish() {
	local old
	old=$(readlink "$CM/..data" 2>/dev/null || true)
	mkdir "$CM/$1"
	cp "$2" "$CM/$1/policy.yaml"
	ln -s "$1" "$CM/..data_tmp"
	mv -T "$CM/..data_tmp" "$CM/..data"
	[ -e "$CM/policy.yaml" ] || ln -s ..data/policy.yaml "$CM/policy.yaml"
	[ -z "$old" ] || rm -rf "${CM:?}/$old"
}
version() { ctl status -o json | jq -r .policy_version; }
# until the policy in force is version V (at most 2 s); prints the ms it took
in_force_within() {
	local start=$(date +%s%N) end=$(($(date +%s%N) + 2000000000 * SCALE))
	while [ "$(date +%s%N)" -lt "$end" ]; do
		[ "$(version)" = "$1" ] && { echo $((($(date +%s%N) - start) / 1000000)); return 0; }
		sleep 0.05
	done
	return 1
}

cp "$PB_SOURCE/tests/integration/policy.yaml" "$T/p1.yaml"
publish ..2026_12_05_10_00_00.1 "$T/p1.yaml"
PB_POLICY=$CM/policy.yaml start_agent --metrics-file "$T/procbind.prom"
V1=$(version)

# 1. a new policy through the ConfigMap swap: the mode changes
sed 's/^mode: .*/mode: monitor/' "$T/p1.yaml" >"$T/p2.yaml"
grep -q '^mode: monitor' "$T/p2.yaml" || echo 'mode: monitor' >>"$T/p2.yaml"
"$BUILD/procbindctl" policy check "$T/p2.yaml" >/dev/null || fail "the test's second policy does not parse"
V2=$("$BUILD/procbindctl" policy check "$T/p2.yaml" | sed -n 's/.*version \([^,]*\),.*/\1/p')
[ "$V2" != "$V1" ] || fail "the two policies have one version"
publish ..2026_12_05_10_01_00.2 "$T/p2.yaml"
ms=$(in_force_within "$V2") || fail "the swapped ConfigMap's policy ($V2) is not in force after 2 s: $(version)"
[ "$(ctl status -o json | jq -r .mode)" = monitor ] || fail "the new policy's mode is not in force"
wait_event ".event==\"policy_loaded\" and .version==\"$V2\"" >/dev/null
pass "a ConfigMap update (..data swap) is in force ${ms} ms later, without procbindctl reload"

# 2. a broken one: refused, the old one stays
printf 'version: 1\nidentities:\n  - name: [broken\n' >"$T/bad.yaml"
publish ..2026_12_05_10_02_00.3 "$T/bad.yaml"
wait_event '.event=="policy_rejected"' >/dev/null
[ "$(version)" = "$V2" ] || fail "a broken policy replaced the one in force"
wait_metric '^procbind_policy_reloads_total\{outcome="refused"\} 1$' ||
	fail "metrics: $(grep policy_reloads "$T/procbind.prom")"
pass "a broken policy is refused (a policy_rejected event, procbind_policy_reloads_total{outcome=\"refused\"}); $V2 stays"
sleep 0.5
[ "$(count_events '.event=="policy_rejected"')" = 1 ] || fail "the broken file was refused more than once"

# 3. back to the first, then an editor's save (a copy renamed over the file)
publish ..2026_12_05_10_03_00.4 "$T/p1.yaml"
in_force_within "$V1" >/dev/null || fail "the first policy is not back in force: $(version)"
rm -f "$CM/policy.yaml"
cp "$T/p2.yaml" "$CM/.policy.yaml.swp" && mv "$CM/.policy.yaml.swp" "$CM/policy.yaml"
ms=$(in_force_within "$V2") || fail "an editor's save is not in force after 2 s: $(version)"
pass "an editor's save (a copy renamed over the file) is in force ${ms} ms later"
loaded=$(grep '^procbind_policy_reloads_total{outcome="loaded"}' "$T/procbind.prom" | awk '{print $2}')
echo "reloads: $loaded loaded"
