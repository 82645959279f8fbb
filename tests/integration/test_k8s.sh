#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Kubernetes selectors against the real kernel, without a kubelet: cgroups
# named as the kubelet and the runtimes name them (cgroupfs driver with
# containerd, systemd driver with CRI-O), nested below the test's own cgroup,
# and a directory of log links named as the kubelet names them. A container
# whose link exists when its cgroup appears is tagged at once; one whose link
# appears later is tagged when it does; another container of the same pod is
# not.
. "$(dirname "$0")/lib.sh"
P=$PORT
LOGS=$T/containers
mkdir -p "$LOGS"
UID_D=0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b
CID1=$(printf '%064x' $((0x4c01db0b + $$)))
CID2=$(printf '%064x' $((0x7d02ec1c + $$)))
CID3=$(printf '%064x' $((0x9e03fd2d + $$)))
# cgroupfs driver + containerd: /kubepods/burstable/pod<uid>/<id>
CG1=$CG/kubepods/burstable/pod$UID_D/$CID1
# systemd driver + CRI-O: .../kubepods-besteffort-pod<uid_>.slice/crio-<id>.scope
SLICE=$CG/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_D//-/_}.slice
CG2=$SLICE/crio-$CID2.scope
CG3=$CG/kubepods/burstable/pod$UID_D/$CID3
CID4=$(printf '%064x' $((0x3f04ae3e + $$)))
# systemd driver + containerd, a second pod
UID4=7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d
CG4=$CG/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID4//-/_}.slice/cri-containerd-$CID4.scope

cat >"$T/policy.yaml" <<EOF
version: 1
identities:
  - name: reconciler
    owner: procbind-tests@example.invalid
    purpose: Stands in for the payments reconciler container.
    expires: 2099-01-01
    match:
      kubernetes: {namespace: payments, pod: "reconciler-*", container: reconciler}
    scope: [{cidr: 127.0.0.1/32, ports: $P, protocol: tcp}]
EOF
mkdir -p "$CG"
PB_POLICY=$T/policy.yaml start_agent --k8s-log-dir "$LOGS"
start_server

# 1. the kubelet's link exists before the runtime makes the cgroup
touch "$LOGS/reconciler-7f9c-x2_payments_reconciler-$CID1.log"
touch "$LOGS/reconciler-7f9c-x2_payments_metrics-$CID3.log"
mkdir -p "$CG1" "$CG3"
wait_event ".event==\"cgroup_matched\" and (.cgroup|endswith(\"$CID1\")) and
	.identities==[\"reconciler\"] and .how==\"created\"" >/dev/null
pass "container cgroup (cgroupfs driver, containerd) matched when created"

# 2. the link appears after the cgroup: the agent retries until it does
mkdir -p "$CG2"
sleep 0.3
[ "$(count_events ".event==\"cgroup_matched\" and (.cgroup|endswith(\"$CID2.scope\"))")" = 0 ] ||
	fail "matched before the kubelet named the container"
touch "$LOGS/reconciler-5d4c-q8_payments_reconciler-$CID2.log"
wait_event ".event==\"cgroup_matched\" and (.cgroup|endswith(\"crio-$CID2.scope\")) and
	.how==\"kubelet\"" >/dev/null
pass "container cgroup (systemd driver, CRI-O) matched once its log link appeared"

actor c1 cgroup:$CG1 pidfile:$T/c1.pid wait:$T/go read:$T/tok1 connect:tcp:127.0.0.1:$P \
	connect:tcp:::1:$P sleep:$HOLD
actor c2 cgroup:$CG2 pidfile:$T/c2.pid sleep:$HOLD
actor c3 cgroup:$CG3 pidfile:$T/c3.pid sleep:$HOLD
wait_file $T/c1.pid; wait_file $T/c2.pid; wait_file $T/c3.pid
[ -n "$(mint "$(cat $T/c1.pid)" "$T/tok1" --identity reconciler)" ] || fail "mint c1"
[ -n "$(mint "$(cat $T/c2.pid)" "$T/tok2" --identity reconciler)" ] || fail "mint c2"
if ctl mint --pid "$(cat $T/c3.pid)" --identity reconciler >$T/err 2>&1; then
	fail "the pod's other container (metrics) was minted for reconciler"
fi
grep -q "it carries none" $T/err || { cat $T/err; fail "wrong refusal"; }
pass "both reconciler containers tagged at exec; the metrics container of the same pod refused"
touch $T/go
expect c1 connect:tcp:127.0.0.1:$P ok
expect c1 connect:tcp:::1:$P EPERM
pass "the Kubernetes-tagged holder is held to its scope"

# 3. the container execs before the kubelet's link exists: the exec hook could
# not tag it, the agent matches the cgroup when the link appears, and minting
# derives the tag from the same exec-time inputs.
mkdir -p "$CG4"
actor c4 cgroup:$CG4 pidfile:$T/c4.pid sleep:$HOLD
wait_file $T/c4.pid
if ctl mint --pid "$(cat $T/c4.pid)" --identity reconciler >$T/err 2>&1; then
	fail "minted before the kubelet named the container"
fi
touch "$LOGS/reconciler-9b8a-z1_payments_reconciler-$CID4.log"
wait_event ".event==\"cgroup_matched\" and (.cgroup|endswith(\"cri-containerd-$CID4.scope\")) and
	.how==\"kubelet\"" >/dev/null
[ -n "$(mint "$(cat $T/c4.pid)" "$T/tok4" --identity reconciler)" ] || fail "mint c4"
pass "a container that exec'd before its log link was minted once the link appeared"
