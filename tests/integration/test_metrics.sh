#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Metrics over HTTP (--metrics-addr):
#   GET /metrics answers 200 in the Prometheus text format, which promtool
#   checks clean, with the same series as the textfile; HEAD works; another
#   path is 404, another method 405;
#   a decision made by the hooks shows up in a later scrape;
#   a client that connects and sends nothing, or 40 at once, does not keep
#   a scrape (or the control socket) from being answered;
#   a bad address, an address not on this node and a port in use are each
#   refused at start with a clear error, and the agent does not start.
# a foreign holder (one that read the token) is judged at connect: the
# open tracepoints make one (the file guard would refuse the read)
PB_FILES=tracepoints
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || skip "curl is not installed (the README's test command installs it)"
MPORT=$((PORT + 1))
URL=http://127.0.0.1:$MPORT/metrics

scrape() { curl -sS --max-time 3 "$@"; }
code() { curl -s -o /dev/null --max-time 3 -w '%{http_code}' "$@"; }

# 1. start-time refusals: the agent says why and exits
bad() {
	local want=$1; shift
	"$BUILD/procbindd" --state-dir "$T/bad" --socket "$T/bad.sock" --pin-dir "$PIN-bad" \
		--lsm off --policy "$PB_SOURCE/tests/integration/policy.yaml" "$@" \
		>/dev/null 2>"$T/bad.log" && fail "procbindd $* started"
	grep -q -- "$want" "$T/bad.log" || { cat "$T/bad.log"; fail "procbindd $*: no '$want' in its error"; }
	"$BUILD/procbindd" --cleanup --pin-dir "$PIN-bad" >/dev/null 2>&1 || true
}
bad "expected HOST:PORT" --metrics-addr localhost
bad "port must be 1 to 65535" --metrics-addr 127.0.0.1:0
bad "not a numeric IP address" --metrics-addr localhost:9464
bad "in brackets" --metrics-addr ::1:9464
pass "bad --metrics-addr values refused before anything loads"

# 2. the agent, scraped
start_agent --metrics-addr "127.0.0.1:$MPORT" --metrics-file "$T/procbind.prom"
start_server
[ "$(code "$URL")" = 200 ] || fail "GET /metrics: $(code "$URL")"
scrape -D "$T/headers" -o "$T/scrape.prom" "$URL"
grep -qi '^content-type: text/plain; version=0.0.4' "$T/headers" || { cat "$T/headers"; fail "content type"; }
grep -q '^procbind_up 1$' "$T/scrape.prom" || fail "procbind_up is not 1"
if command -v promtool >/dev/null; then
	promtool check metrics <"$T/scrape.prom" >"$T/promtool.out" 2>&1 ||
		{ cat "$T/promtool.out"; fail "promtool check metrics"; }
	pass "GET /metrics: 200, text format 0.0.4, promtool check metrics clean ($(grep -c '^procbind_' "$T/scrape.prom") series)"
else
	echo "SKIP (part): promtool is not installed (Debian's prometheus package); the format was not linted"
	pass "GET /metrics: 200, text format 0.0.4 ($(grep -c '^procbind_' "$T/scrape.prom") series)"
fi
sleep 1.2 # the file and the server get the same rendering, once a second
scrape -o "$T/scrape.prom" "$URL"
diff <(grep '^# TYPE' "$T/procbind.prom") <(grep '^# TYPE' "$T/scrape.prom") >/dev/null ||
	fail "the textfile and the HTTP scrape have different metric families"
[ "$(code -I "$URL")" = 200 ] || fail "HEAD /metrics"
[ "$(code "http://127.0.0.1:$MPORT/nothing")" = 404 ] || fail "GET /nothing is not 404"
[ "$(code -X POST -d x "$URL")" = 405 ] || fail "POST /metrics is not 405"
pass "HEAD 200, another path 404, POST 405; the textfile has the same families"

# the families an operator expects, each meaning one thing
for fam in procbind_build_info process_cpu_seconds_total process_resident_memory_bytes \
	process_virtual_memory_bytes process_start_time_seconds process_open_fds process_max_fds \
	procbind_credentials_minted_total procbind_credentials_ended_total \
	procbind_workload_requests_total procbind_proofs_total procbind_events_received_total \
	procbind_kernel_events_lost_total procbind_kernel_events_sent_total \
	procbind_policy_reloads_total procbind_refusals_folded_total; do
	grep -q "^# TYPE $fam " "$T/scrape.prom" || fail "no metric family $fam"
done
grep -q "^procbind_build_info{version=\"$("$BUILD/procbindd" --version | awk '{print $2}')\"," "$T/scrape.prom" ||
	fail "procbind_build_info: $(grep build_info "$T/scrape.prom")"
grep -q '^procbind_kernel_total' "$T/scrape.prom" && fail "procbind_kernel_total still mixes unrelated counters"
grep -q 'procbind_events_total{outcome="received"}' "$T/scrape.prom" &&
	fail "procbind_events_total has a series that is the sum of the others"
awk '/^process_open_fds / { exit !($2 > 3) }' "$T/scrape.prom" || fail "process_open_fds: $(grep '^process_open_fds' "$T/scrape.prom")"
pass "build_info, the process_* families, credentials, workload requests and proofs, each kernel counter a family of its own; no series that sums its siblings"
[ "$(code "http://127.0.0.1:$MPORT/healthz")" = 200 ] || fail "GET /healthz: $(code "http://127.0.0.1:$MPORT/healthz")"
[ "$(code "http://127.0.0.1:$MPORT/readyz")" = 200 ] || fail "GET /readyz: $(code "http://127.0.0.1:$MPORT/readyz")"
# a stopped agent fails both, as a kubelet's probe sees it (no answer
# within its timeout, or 503 from a loop that stopped rendering)
kill -STOP "$AGENT_PID"
h=$(code "http://127.0.0.1:$MPORT/healthz" || true) r=$(code "http://127.0.0.1:$MPORT/readyz" || true)
kill -CONT "$AGENT_PID"
[ "$h" != 200 ] && [ "$r" != 200 ] || fail "with the agent stopped: /healthz $h, /readyz $r"
for _ in $(seq $((40 * SCALE))); do [ "$(code "http://127.0.0.1:$MPORT/healthz" || true)" = 200 ] && break; sleep 0.1; done
[ "$(code "http://127.0.0.1:$MPORT/healthz")" = 200 ] || fail "/healthz after SIGCONT"
pass "/healthz and /readyz answer 200 while the agent enforces, not while it is stopped ($h, $r)"

# 3. a denial made by the hooks is in a later scrape
deny_count() { scrape "$URL" | awk '/^procbind_verdicts_total\{verdict="deny",/ { s += $2 } END { print s + 0 }'; }
before=$(deny_count)
actor owner cgroup:$POD_A pidfile:$T/owner.pid wait:$T/go sleep:30
wait_file $T/owner.pid
mint "$(cat $T/owner.pid)" "$T/tok" >/dev/null
actor thief cgroup:$POD_B read:$T/tok connect:tcp:127.0.0.1:$PORT sleep:$HOLD
expect thief connect:tcp:127.0.0.1:$PORT EPERM
after=$before
for _ in $(seq $((30 * SCALE))); do
	after=$(deny_count)
	[ "$after" -gt "$before" ] && break
	sleep 0.2
done
[ "$after" -gt "$before" ] || fail "the deny verdicts stayed $before in the scrapes"
scrape -o "$T/after.prom" "$URL"
grep -q '^procbind_credentials_minted_total{identity="payments"} [1-9]' "$T/after.prom" ||
	fail "the mint is not in procbind_credentials_minted_total: $(grep minted "$T/after.prom")"
pass "a denial at connect is counted in a later scrape ($before -> $after)"

# 4. silent clients: 100 connections that send nothing; scrapes and the
# control socket still answer at once (curl gives up after 3 s)
for i in $(seq 100); do
	exec {fd}<>/dev/tcp/127.0.0.1/$MPORT || fail "connection $i to the metrics port"
done
for i in $(seq 5); do
	[ "$(code "$URL")" = 200 ] || fail "scrape $i was not answered with 100 silent connections held"
done
ctl status >/dev/null || fail "the control socket did not answer while 100 scrapers hung"
# the server closes them after its 5 s timeout: their fds read EOF
sleep $((7 * SCALE))
[ "$(ls /proc/$AGENT_PID/fd | wc -l)" -lt 100 ] ||
	fail "the agent still holds $(ls /proc/$AGENT_PID/fd | wc -l) fds after the timeout"
pass "100 silent connections: 5 scrapes and the control socket answered; the server closed them after its timeout"

# 5. a port in use (this agent's) is refused by a second agent
bad "Address already in use" --metrics-addr "127.0.0.1:$MPORT"
bad "Cannot assign requested address" --metrics-addr "192.0.2.1:$MPORT"
pass "a port in use and an address not on this node are refused at start"
