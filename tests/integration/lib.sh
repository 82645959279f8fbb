# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Shared by the integration tests: start a real agent on a private socket and
# state directory, make child cgroups that stand in for two pods, run actors,
# and wait for events. Everything is torn down on exit, pass or fail.
set -euo pipefail

BUILD=${PB_BUILD:?PB_BUILD must point at the build directory}
ACTOR=$BUILD/tests/integration/pb_actor
SKIP=77
# waits are stretched by this factor where the machine is slow (a TCG guest
# of the kernel matrix sets it); what a test asserts stays the same
SCALE=${PB_TIME_SCALE:-1}
HOLD=$((30000 * SCALE)) # ms an actor stays alive after its last step
# below the ephemeral range (32768-60999), so no client socket holds it
PORT=${PB_PORT:-$((10000 + $$ % 20000))}

# Waiting costs nothing. Under TCG (the kernel matrix) every exec of
# /bin/sleep or grep costs a guest vCPU a fraction of a second, and both of
# a guest's vCPUs share one host thread: a wait loop that forks a sleep and
# a grep every 50 ms takes half the CPU from the agent it waits for (its
# start, the verifier's work, went from 35 s to 19 s on 5.10 without the
# loop's execs). So the waits below are bash builtins: sleep reads with a
# timeout from a pipe no one writes, and a file is matched line by line in
# bash. Same waits, same deadlines, same assertions.
exec {PB_SLEEP_FD}<> <(:)
sleep() {
	local a=${1:-} whole frac end now left _pb_x
	# anything but one plain number of seconds goes to the real sleep
	if [ $# != 1 ] || [[ ! $a =~ ^([0-9]*)(\.([0-9]{1,6}))?$ ]] || [ -z "$a" ]; then
		command sleep "$@"
		return
	fi
	whole=${BASH_REMATCH[1]:-0} frac=${BASH_REMATCH[3]:-0}
	frac=${frac}000000 && frac=${frac:0:6} # microseconds
	now=${EPOCHREALTIME/./}
	end=$((10#$now + 10#$whole * 1000000 + 10#$frac))
	# a signal may end a read early: read again until the deadline
	while now=${EPOCHREALTIME/./} && ((10#$now < end)); do
		left=$((end - 10#$now))
		printf -v left '%d.%06d' $((left / 1000000)) $((left % 1000000))
		read -rt "$left" -u "$PB_SLEEP_FD" _pb_x || :
	done
}

# file_has FILE ERE: some line of FILE matches the extended regex (as grep -qE)
file_has() {
	local l
	[ -f "$1" ] || return 1
	while IFS= read -r l || [ -n "$l" ]; do
		[[ $l =~ $2 ]] && return 0
	done <"$1"
	return 1
}

# first_line_with FILE STRING: the first line of FILE that contains STRING
first_line_with() {
	local l
	[ -f "$1" ] || return 1
	while IFS= read -r l || [ -n "$l" ]; do
		[[ $l == *"$2"* ]] && { printf '%s\n' "$l"; return 0; }
	done <"$1"
	return 1
}

skip() { echo "SKIP: $*"; exit $SKIP; }
# on stderr: a failure inside $(...) or under >/dev/null must still be seen
fail() {
	PB_FAILED=1
	{ echo "FAIL: $*"; dump; } >&2
	exit 1
}
pass() { echo "PASS: $*"; }

[ "$(id -u)" = 0 ] || skip "integration tests need root (BPF, cgroups)"
[ -r /sys/kernel/btf/vmlinux ] || skip "kernel has no BTF at /sys/kernel/btf/vmlinux"
command -v jq >/dev/null || skip "jq is not installed (the README's test command installs it)"

T=$(mktemp -d /tmp/pbtest.XXXXXX)
CGROOT=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
[ -n "$CGROOT" ] || skip "no cgroup v2 mount"
CG=$CGROOT/pbtest-$$
POD_A=$CG/podA
POD_B=$CG/podB
SOCK=$T/control.sock
PIN=/sys/fs/bpf/pbtest-$$ # this test's pinned maps and links, removed at exit
OUT=$T/events.json
AGENT_PID=
PIDS=()

# a command that fails under set -e ends the test: say which (fail() says why)
PB_ERR=
PB_FAILED=0
trap 'PB_ERR="line $LINENO: $BASH_COMMAND"' ERR

# Under the sanitizers (ctest -L sanitize sets ASAN_OPTIONS): every report,
# from the agent, its guard, procbindctl or an actor, goes to a file of its
# own under $T, and any such file fails the test at its end.
if [ -n "${ASAN_OPTIONS:-}" ]; then
	export ASAN_OPTIONS="$ASAN_OPTIONS:log_path=$T/sanitizer"
	export UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:log_path=$T/sanitizer"
fi

sanitizer_reports() {
	local f found=0
	for f in "$T"/sanitizer.*; do
		[ -s "$f" ] || continue
		found=1
		echo "FAIL: a sanitizer report ($f):"
		head -n 60 "$f"
	done
	return $found
}

cleanup() {
	local rc=$?
	set +e
	if [ "$rc" != 0 ] && [ "$rc" != "$SKIP" ] && [ "$PB_FAILED" = 0 ]; then
		{ echo "FAIL: stopped with status $rc by a failing command (${PB_ERR:-unknown})"; dump; } >&2
	fi
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	[ -n "$AGENT_PID" ] && kill -CONT "$AGENT_PID" 2>/dev/null # if a test stopped it
	[ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null
	# every line the agents wrote, to stdout and to the trail, is one JSON
	# object with an event name (what a log shipper takes as it is)
	if [ "$rc" = 0 ] && ! pb_check_lines >&2; then
		rc=1
	fi
	# the hooks outlive the agent by design: take them away
	"$BUILD/procbindd" --cleanup --pin-dir "$PIN" >/dev/null 2>&1
	sleep 0.2 # a guard that was told to stop writes its report as it exits
	if ! sanitizer_reports >&2; then
		[ "$rc" = 0 ] || [ "$rc" = "$SKIP" ] && rc=1
	fi
	# every cgroup a test made below its own, deepest first, then its own
	if [ -d "$CG" ]; then
		for p in $(find "$CG" -name cgroup.procs -exec cat {} + 2>/dev/null); do
			kill -9 "$p" 2>/dev/null
		done
		sleep 0.1
		find "$CG" -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null
		rmdir "$CG" 2>/dev/null
	fi
	# mounts a test made in its directory (an overlay standing in for a
	# container's root), deepest first
	awk -v t="$T/" 'index($2, t) == 1 { print $2 }' /proc/mounts | sort -r | xargs -r umount -l
	rm -rf "$T"
	exit "$rc"
}
trap cleanup EXIT

# pb_check_lines: every line of the event stream ($OUT) and of the trail's
# segments ($T/state/audit, compressed or not) parses as one JSON object: a
# record with an event name, or (--events-format ocsf) an OCSF event. And
# OCSF: the trail rendered with procbindctl events -o ocsf, and the stream
# when it is OCSF, validate against OCSF's public schema (tests/ocsf; on the
# host only: the mapping is user space, the same on every kernel). The bad
# lines are printed.
pb_check_lines() {
	local f bad=0 out
	for f in "$OUT" "$T"/state/audit/seg-*.jsonl "$T"/state/audit/seg-*.jsonl.gz; do
		[ -s "$f" ] || continue
		out=$(zcat -f "$f" | jq -R -r 'if (try (fromjson | type == "object" and
			((.event | type) == "string" or (.class_uid | type) == "number")) catch false)
			then empty else . end' | head -5)
		if [ -n "$out" ]; then
			echo "FAIL: lines of $f that are not one JSON event each:"
			echo "$out" | cut -c1-300
			bad=1
		fi
	done
	[ "$SCALE" = 1 ] && [ -d "$T/state/audit" ] || return $bad
	if ! command -v python3 >/dev/null; then
		echo "SKIP (part): python3 is not installed: the OCSF rendering was not validated"
		return $bad
	fi
	"$BUILD/procbindctl" events --dir "$T/state/audit" -o ocsf >"$T/ocsf.jsonl" 2>/dev/null
	[ -f "$OUT" ] && grep '^{"category_uid"' "$OUT" >>"$T/ocsf.jsonl"
	[ -s "$T/ocsf.jsonl" ] || return $bad
	# (a storm's thousands of one kind: 200 of each kind are checked)
	if python3 "$PB_SOURCE/tests/ocsf/ocsf_validate.py" "$PB_SOURCE/tests/ocsf/schema-1.3.0" \
		--sample 200 <"$T/ocsf.jsonl" >"$T/ocsf.check" 2>&1; then
		echo "PASS: the trail as OCSF validates against OCSF 1.3's schema ($(tail -1 "$T/ocsf.check"))"
	else
		echo "FAIL: events that are not valid OCSF 1.3:"
		head -8 "$T/ocsf.check" | cut -c1-400
		bad=1
	fi
	return $bad
}

dump() {
	echo "--- agent log"; tail -20 "$T/agent.log" 2>/dev/null || true
	echo "--- events"; tail -20 "$OUT" 2>/dev/null || true
}

ctl() { "$BUILD/procbindctl" --socket "$SOCK" "$@"; }

pb_files_flags() {
	case ${PB_FILES:-guard} in
	guard) ;;
	tracepoints) echo "--file-guard off --acquire-tracepoints" ;;
	*) fail "PB_FILES must be guard or tracepoints" ;;
	esac
}

# start_agent [procbindd flags...]
# PB_LSM: --lsm for the agent (default off; test_lsm.sh tests BPF-LSM).
# PB_FILES: how credential files are kept: guard (the default, the fanotify
# file guard) or tracepoints (--file-guard off --acquire-tracepoints: every
# opener becomes a holder, judged at connect; the tests of the connect
# decision use it to make foreign holders).
# PB_CAPS: run it with only these capabilities in its bounding set.
start_agent() {
	local wrap=()
	mkdir -p "$CG" "$POD_A" "$POD_B"
	rm -f "$SOCK" # a killed agent's socket must not pass for the new one's
	if [ -n "${PB_CAPS:-}" ]; then
		wrap=(setpriv --bounding-set="-all$(echo ",$PB_CAPS" | tr 'A-Z' 'a-z' | sed 's/,/,+/g')"
			--inh-caps=-all --)
	fi
	"${wrap[@]}" "$BUILD/procbindd" --state-dir "$T/state" --socket "$SOCK" --bpffs /sys/fs/bpf \
		--pin-dir "$PIN" --lsm "${PB_LSM:-off}" $(pb_files_flags) --watch-policy "${PB_WATCH:-on}" \
		--policy "${PB_POLICY:-$PB_SOURCE/tests/integration/policy.yaml}" "$@" \
		>"$OUT" 2>"$T/agent.log" &
	AGENT_PID=$!
	wait_agent_ready
}

# wait_agent_ready: until $AGENT_PID's control socket $SOCK is there
wait_agent_ready() {
	for _ in $(seq $((100 * SCALE))); do
		[ -S "$SOCK" ] && return 0
		kill -0 "$AGENT_PID" 2>/dev/null || { cat "$T/agent.log"; fail "agent did not start"; }
		sleep 0.1
	done
	fail "agent socket never appeared"
}

# start_server [IPV4...]: listeners on 127.0.0.1, ::1 and these addresses
start_server() {
	"$ACTOR" serve "$PORT" "$@" >"$T/server.log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq $((50 * SCALE))); do file_has "$T/server.log" serving && return 0; sleep 0.1; done
	cat "$T/server.log"; fail "listener did not start"
}

# actor NAME [cgroup:DIR] STEP...: run an actor in the background, output in
# $T/NAME.out. A first cgroup: step is taken before the actor is exec'd, as a
# container runtime does, so the actor execs (and is tagged) in that cgroup.
# PB_ACTOR_BIN=PATH runs a copy of the actor from PATH (to match executables).
actor() {
	local name=$1 bin=${PB_ACTOR_BIN:-$ACTOR}; shift
	# Under the sanitizers an actor's leak check at exit is not wanted: it
	# runs in a task LeakSanitizer clones, which the agent rightly reports
	# as a child inheriting the actor's credentials. Everything else stays.
	local -x ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:detect_leaks=0}
	if [[ $1 == cgroup:* ]]; then
		local cg=${1#cgroup:}; shift
		(echo "$BASHPID" >"$cg/cgroup.procs" && exec "$bin" "$@") >"$T/$name.out" 2>&1 &
	else
		"$bin" "$@" >"$T/$name.out" 2>&1 &
	fi
	PIDS+=($!)
	eval "${name}_PID=$!"
}

# sibling_reads TOKEN OUT: a process in pod A reads TOKEN in a loop until
# $T/stop exists; OUT gets "LEAK <time>" for each read that got through (its
# bytes go to $T/stolen), then "tries N"
sibling_reads() {
	(
		echo "$BASHPID" >"$POD_A/cgroup.procs"
		n=0
		while [ ! -e "$T/stop" ]; do
			if cat "$1" >>"$T/stolen" 2>/dev/null; then echo "LEAK $(date +%s.%N)"; fi
			n=$((n + 1))
		done
		echo "tries $n"
	) >"$2" 2>&1 &
	PIDS+=($!)
}

# owner_reads TOKEN: the bound process of the guard's tests
# (owner_reads.py) in pod A, reading TOKEN once it exists until $T/stop;
# its rounds into $T/owner.out; its PID into OWNER once it runs python
owner_reads() {
	(echo "$BASHPID" >"$POD_A/cgroup.procs" &&
		exec python3 "$PB_SOURCE/tests/integration/owner_reads.py" "$1" "$T/stop") \
		>"$T/owner.out" 2>"$T/owner.err" &
	OWNER=$!
	PIDS+=("$OWNER")
	for _ in $(seq 200); do [[ $(readlink "/proc/$OWNER/exe") == *python3* ]] && break; sleep 0.01; done
}

# sibling_stop OUT: stop sibling_reads (and whatever waits for $T/stop);
# fails when it read a byte; prints how many reads it tried
sibling_stop() {
	local tries
	touch "$T/stop"
	for _ in $(seq $((100 * SCALE))); do grep -q "^tries" "$1" 2>/dev/null && break; sleep 0.05; done
	grep -q LEAK "$1" && fail "the sibling read the token $(grep -c LEAK "$1") times"
	[ -s "$T/stolen" ] && fail "the sibling got $(wc -c <"$T/stolen") bytes"
	tries=$(sed -n 's/^tries //p' "$1")
	[ "${tries:-0}" -gt 0 ] || fail "the sibling never tried"
	echo "$tries"
}

# stop_agent [-9]: stop the agent (SIGTERM, or SIGKILL as a crash) and wait
# for it. Its pins stay, as they do when a real agent stops or crashes.
stop_agent() {
	kill "${1:--TERM}" "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null || true
	AGENT_PID=
}

# started NAME: wait for actor NAME's pid file ($T/NAME.pid); print the PID
started() {
	wait_file "$T/$1.pid"
	cat "$T/$1.pid"
}

# wait_gone PID: wait until the process has exited (and is reaped)
wait_gone() {
	for _ in $(seq $((100 * SCALE))); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.05; done
	fail "process $1 did not exit"
}

# reuse_pid NAME PID STEP...: actor NAME is a new process that gets PID again
# (clone3 set_tid) and runs the steps. Skips the test where the kernel will
# not hand that PID out again.
reuse_pid() {
	local name=$1 pid=$2
	shift 2
	actor "$name" "spawnpid:$pid" "$@"
	wait_line "$name" "spawnpid"
	grep -q "^$pid spawnpid:$pid ok" "$T/$name.out" ||
		skip "could not take PID $pid again (clone3 set_tid): $(cat "$T/$name.out")"
}

# wait_file FILE: wait for an actor's pid file or other marker
wait_file() {
	for _ in $(seq $((200 * SCALE))); do [ -s "$1" ] && return 0; sleep 0.05; done
	fail "timed out waiting for $1"
}

# wait_line NAME PATTERN: wait until the actor's output has a line matching
wait_line() {
	for _ in $(seq $((200 * SCALE))); do file_has "$T/$1.out" "$2" && return 0; sleep 0.05; done
	{ echo "--- $1.out"; cat "$T/$1.out"; } >&2
	fail "$1 never printed /$2/"
}

# expect NAME STEP RESULT: the actor's result line for STEP is RESULT
expect() {
	local got
	wait_line "$1" " $2 "
	got=$(first_line_with "$T/$1.out" " $2 ")
	got=${got##* }
	[ "$got" = "$3" ] || { cat "$T/$1.out" >&2; fail "$1: $2 gave $got, expected $3"; }
	pass "$1: $2 -> $3"
}

# match_events FILTER: the event lines that satisfy a jq filter. A filter that names
# exactly one event type (.event=="X") is narrowed with grep first: a test that
# floods the log with connects must not make every wait rescan all of it in jq.
match_events() {
	local types
	types=$(grep -oE '\.event=="[a-z_]+"' <<<"$1" | sort -u)
	if [ "$(wc -l <<<"$types")" = 1 ] && [ -n "$types" ] && ! grep -q '\.event *!=' <<<"$1"; then
		grep -F "\"event\":\"$(cut -d'"' -f2 <<<"$types")\"" "$OUT" 2>/dev/null |
			jq -c "select($1)" 2>/dev/null || true
	else
		jq -c "select($1)" "$OUT" 2>/dev/null || true
	fi
}

# wait_event JQ-FILTER: wait until an event line satisfies the filter; prints it.
# Bounded by the clock, not by a count of tries: a try can be slow.
wait_event() {
	local line end=$((SECONDS + 5 * SCALE + 1)) seen= now ev=()
	while :; do
		# jq only when the stream has changed since the last look (its
		# line count or its last, maybe partial, line)
		ev=()
		[ -f "$OUT" ] && mapfile -t ev <"$OUT"
		now=${#ev[@]}
		((now == 0)) || now+=":${ev[now - 1]}"
		if [ "$now" != "$seen" ]; then
			seen=$now
			line=$(match_events "$1" | head -1)
			[ -n "$line" ] && { echo "$line"; return 0; }
		fi
		((SECONDS < end)) || break
		sleep 0.05
	done
	line=$(match_events "$1" | head -1) # the last look, at the deadline
	[ -n "$line" ] && { echo "$line"; return 0; }
	fail "no event matching: $1"
}

count_events() { match_events "$1" | wc -l; }

# wait_metric PATTERN: until the metrics file ($T/procbind.prom, written
# every second) has a line matching PATTERN (grep -E); 1 when it never does
wait_metric() {
	for _ in $(seq $((40 * SCALE))); do
		grep -qE "$1" "$T/procbind.prom" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# mint PID FILE [flags]: mint a token into FILE, echo the credential id
# (identity payments unless the flags name one)
mint() {
	local pid=$1; shift
	local out=$1; shift
	[[ " $* " == *" --identity "* ]] || set -- --identity payments "$@"
	ctl mint --pid "$pid" --out "$out" "$@" | sed -n "s/^id=//p"
}
