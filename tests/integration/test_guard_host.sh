#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The DaemonSet's pods, run here as the kubelet runs them: each pod has an
# agent container (procbindd --guard-host=S --take-over, PROCBIND_POD_UID
# set) and a guard container (procbindd --serve-guards=S), each a cgroup of
# its own, killed whole as a runtime kills a container. A sibling reads the
# owner's token in a loop throughout, and must get 0 bytes:
#  1. the guard runs in the guard container, not the agent's;
#  2. the agent container is killed (a crash, an OOM kill): the guard goes
#     on answering; the container restarted, its agent starts a new guard
#     through the host and the old one stops;
#  3. a rolling update: the new pod starts beside the old one, its agent
#     takes over and is ready with its own guard (in its own guard
#     container) before the old pod is deleted; the old pod's agent,
#     restarted by the kubelet meanwhile, does not take over again but
#     waits to be stopped; the old pod deleted, the owner still reads.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "python3 is not installed (the README's test command installs it)"

mkdir -p "$CG" "$POD_A" "$POD_B"
for c in p1-agent p1-guard p2-agent p2-guard; do mkdir -p "$CG/$c"; done
POD1=11111111-2222-4333-8444-555555555551
POD2=11111111-2222-4333-8444-555555555552

# in_cgroup CG LOG CMD...: CMD in cgroup CG (a container), output to LOG
in_cgroup() {
	local cg=$1 log=$2
	shift 2
	(echo "$BASHPID" >"$cg/cgroup.procs" && exec "$@") >>"$log" 2>&1 &
	PIDS+=($!)
}
guard_host() { # POD: the pod's guard container
	in_cgroup "$CG/$1-guard" "$T/$1-host.log" "$BUILD/procbindd" --serve-guards="$T/$1.sock"
	for _ in $(seq $((100 * SCALE))); do [ -S "$T/$1.sock" ] && return 0; sleep 0.05; done
	fail "the guard host of $1 did not listen: $(cat "$T/$1-host.log")"
}
pod_agent() { # POD UID: the pod's agent container; its PID into AGENT_PID
	(echo "$BASHPID" >"$CG/$1-agent/cgroup.procs" &&
		PROCBIND_POD_UID=$2 exec "$BUILD/procbindd" --state-dir "$T/state" --socket "$SOCK" \
			--bpffs /sys/fs/bpf --pin-dir "$PIN" --lsm off --take-over \
			--guard-host="$T/$1.sock" --policy "$PB_SOURCE/tests/integration/policy.yaml") \
		>>"$OUT" 2>>"$T/$1-agent.log" &
	AGENT_PID=$!
	PIDS+=($AGENT_PID)
}
serving() { # PID: until the control socket is served by PID
	for _ in $(seq $((300 * SCALE))); do
		[ "$(ctl status -o json 2>/dev/null | jq -r .pid)" = "$1" ] && return 0
		sleep 0.05
	done
	fail "agent $1 does not serve: $(tail -n 5 "$T"/p*-agent.log)"
}
kill_container() { # CGROUP: every process in it, SIGKILL, as a runtime does
	local p
	for p in $(cat "$1/cgroup.procs"); do kill -9 "$p" 2>/dev/null; done
	for _ in $(seq 100); do [ -z "$(cat "$1/cgroup.procs")" ] && return 0; sleep 0.02; done
	fail "$1 still has processes: $(cat "$1/cgroup.procs")"
}
guard_pid() { ctl status -o json | jq -r .guard.pid; }
in_cg() { grep -q "$2\$" "/proc/$1/cgroup" 2>/dev/null; }

guard_host p1
pod_agent p1 "$POD1"
serving "$AGENT_PID"
owner_reads "$T/tok"
mint "$OWNER" "$T/tok" >/dev/null
owner_reads_ok() { # the owner reads its token again (a round after now)
	local from
	from=$(wc -l <"$T/owner.out")
	for _ in $(seq $((300 * SCALE))); do
		tail -n +$((from + 2)) "$T/owner.out" | grep -q " ok ok$" && return 0
		sleep 0.02
	done
	fail "the owner no longer reads its token: $(tail -n 3 "$T/owner.out")"
}
owner_reads_ok
G1=$(guard_pid)
in_cg "$G1" "/p1-guard" || fail "guard $G1 is not in the guard container: $(cat "/proc/$G1/cgroup")"
pass "the guard ($G1) runs in the guard container, started by the guard host"
sibling_reads "$T/tok" "$T/sib.out"
sleep 0.5

# 2. the agent container killed, then restarted
kill_container "$CG/p1-agent"
kill -0 "$G1" || fail "the guard died with the agent's container"
sleep 1
kill -0 "$G1" || fail "the guard stopped while no agent ran"
owner_reads_ok
pass "the agent's container killed: guard $G1 answers on alone, the owner reads"
pod_agent p1 "$POD1"
serving "$AGENT_PID"
G2=$(guard_pid)
[ "$G2" != "$G1" ] && in_cg "$G2" "/p1-guard" || fail "the restarted agent's guard: $G2"
for _ in $(seq 100); do kill -0 "$G1" 2>/dev/null || break; sleep 0.05; done
kill -0 "$G1" 2>/dev/null && fail "the earlier guard $G1 still runs"
pass "the agent restarted: its new guard $G2 (guard container) took over from $G1"

# 3. a rolling update: pod 2 beside pod 1
P1=$AGENT_PID
guard_host p2
pod_agent p2 "$POD2"
P2=$AGENT_PID
serving "$P2"
for _ in $(seq 100); do kill -0 "$P1" 2>/dev/null || break; sleep 0.05; done
kill -0 "$P1" 2>/dev/null && fail "pod 1's agent did not step down"
G3=$(guard_pid)
in_cg "$G3" "/p2-guard" || fail "pod 2's guard $G3 is not in pod 2's guard container"
for _ in $(seq 100); do kill -0 "$G2" 2>/dev/null || break; sleep 0.05; done
kill -0 "$G2" 2>/dev/null && fail "pod 1's guard $G2 still runs"
pass "rolling update: pod 2's agent took over with its guard $G3; pod 1's agent and guard stopped"
# the kubelet restarts pod 1's agent container
pod_agent p1 "$POD1"
P1B=$AGENT_PID
for _ in $(seq $((100 * SCALE))); do grep -q "was replaced by another pod" "$T/p1-agent.log" && break; sleep 0.05; done
grep -q "was replaced by another pod" "$T/p1-agent.log" || fail "pod 1's restarted agent: $(tail -n 3 "$T/p1-agent.log")"
sleep 0.5
kill -0 "$P1B" || fail "pod 1's restarted agent exited (the kubelet would restart it again and again)"
[ "$(ctl status -o json | jq -r .pid)" = "$P2" ] || fail "pod 1's restarted agent took over again"
pass "pod 1's agent, restarted by the kubelet, waits to be stopped; pod 2's still serves"
AGENT_PID=$P2
# the old pod deleted
kill -TERM "$P1B"
for _ in $(seq 100); do kill -0 "$P1B" 2>/dev/null || break; sleep 0.05; done
kill -0 "$P1B" 2>/dev/null && fail "pod 1's waiting agent did not stop on SIGTERM"
kill_container "$CG/p1-guard"
owner_reads_ok
pass "pod 1 deleted: pod 2's agent and guard serve, the owner reads"
# pod 2's agent container restarts later: pod 2 was not replaced, it serves
kill_container "$CG/p2-agent"
pod_agent p2 "$POD2"
serving "$AGENT_PID"
owner_reads_ok
pass "pod 2's agent container restarted: it serves again"

TRIES=$(sibling_stop "$T/sib.out")
pass "through a container restart and a rolling update, the sibling's $TRIES reads got 0 bytes"
