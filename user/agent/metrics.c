// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Metrics in the Prometheus text format, rendered once a second: written to
 * a file for node_exporter's textfile collector (--metrics-file), and/or
 * served over HTTP (--metrics-addr, metrics_http.c). */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agent.h"
#include "creds.h"
#include "guard.h"
#include "audit.h"
#include "kernel.h"
#include "log.h"
#include "proto.h"
#include "util.h"
#include "procbind.skel.h"

static void pb_metric_head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void pb_stats_read(struct pb_agent *a, struct pb_stats *st)
{
	memset(st, 0, sizeof(*st));
	pb_counters_read(a, st->cnt);
	pb_map_count(bpf_map__fd(a->kern.skel->maps.procs), sizeof(__u32), &st->nprocs);
	pb_map_count(bpf_map__fd(a->kern.skel->maps.creds), sizeof(__u64), &st->ncreds);
	for (size_t i = 0; i < a->creds.store.n; i++)
		st->live += !a->creds.store.v[i].died;
}

/* procbind_build_info: what runs, as Prometheus exporters say it. */
static void pb_metrics_build(FILE *f)
{
	struct utsname u;

	uname(&u);
	pb_metric_head(f, "procbind_build_info", "gauge",
		       "the agent's version, the libbpf it runs with and the kernel, as labels");
	fprintf(f, "procbind_build_info{version=\"%s\",libbpf=\"%u.%u\",kernel=\"%s\"} 1\n",
		PB_VERSION, libbpf_major_version(), libbpf_minor_version(), u.release);
}

/* The process_* families every Prometheus client library exports. */
static void pb_metrics_process(FILE *f)
{
	unsigned long long utime = 0, stime = 0, start = 0, vsize = 0;
	long rss = 0, hz = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	char buf[1024], *p;
	struct rlimit rl = {0};
	struct sysinfo si;
	unsigned int nfd = 0;
	DIR *d;
	FILE *s = fopen("/proc/self/stat", "re");
	size_t n = s ? fread(buf, 1, sizeof(buf) - 1, s) : 0;

	if (s)
		fclose(s);
	buf[n] = 0;
	p = strrchr(buf, ')'); /* comm may hold spaces */
	if (!p || sscanf(p + 2,
			 "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d "
			 "%*d %*d %llu %llu %ld",
			 &utime, &stime, &start, &vsize, &rss) != 5)
		return;
	if ((d = opendir("/proc/self/fd"))) {
		while (readdir(d))
			nfd++;
		closedir(d);
		nfd = nfd > 3 ? nfd - 3 : 0; /* ., .. and the directory's own */
	}
	getrlimit(RLIMIT_NOFILE, &rl);
	sysinfo(&si);
	pb_metric_head(f, "process_cpu_seconds_total", "counter",
		       "user and system CPU time spent, in seconds");
	fprintf(f, "process_cpu_seconds_total %.2f\n", (double)(utime + stime) / (double)hz);
	pb_metric_head(f, "process_resident_memory_bytes", "gauge",
		       "resident memory size in bytes");
	fprintf(f, "process_resident_memory_bytes %lld\n", (long long)rss * page);
	pb_metric_head(f, "process_virtual_memory_bytes", "gauge", "virtual memory size in bytes");
	fprintf(f, "process_virtual_memory_bytes %llu\n", vsize);
	pb_metric_head(f, "process_start_time_seconds", "gauge",
		       "start time of the process since the Unix epoch, in seconds");
	fprintf(f, "process_start_time_seconds %.2f\n",
		(double)time(NULL) - (double)si.uptime + (double)start / (double)hz);
	pb_metric_head(f, "process_open_fds", "gauge", "open file descriptors");
	fprintf(f, "process_open_fds %u\n", nfd);
	pb_metric_head(f, "process_max_fds", "gauge", "the limit on open file descriptors");
	fprintf(f, "process_max_fds %llu\n", (unsigned long long)rl.rlim_cur);
}

/* Every metric, in the text format 0.0.4. */
static void pb_metrics_render(struct pb_agent *a, FILE *f)
{
	struct pb_stats st;
	const uint64_t *cnt = st.cnt;
	struct bpf_program *prog;

	pb_stats_read(a, &st);

	pb_metric_head(f, "procbind_up", "gauge", "1 while the agent runs");
	fprintf(f, "procbind_up 1\n");
	pb_metrics_build(f);
	pb_metrics_process(f);
	pb_metric_head(f, "procbind_adopted", "gauge",
		       "1 if this agent took over pinned state from an earlier one");
	fprintf(f, "procbind_adopted %d\n", a->kern.adopted);
	pb_metric_head(f, "procbind_verdicts_total", "counter",
		       "connect/sendmsg decisions by credential holders, by verdict and reason");
	for (unsigned v = 0; v < PB_VERDICT_MAX; v++)
		for (unsigned r = 0; r < PB_REASON_MAX; r++)
			fprintf(
			    f,
			    "procbind_verdicts_total{verdict=\"%s\",reason=\"%s\"} %" PRIu64 "\n",
			    pb_verdict_name(v), pb_reason_name(r), cnt[PB_COUNTER_VERDICT(v, r)]);
	/* each kernel counter a family of its own: they count unrelated things */
	for (unsigned i = PB_CNT_OPS_BASE; i < PB_CNT_MAX; i++) {
		char name[96];

		snprintf(name, sizeof(name), "procbind_kernel_%s_total", pb_counter_name(i));
		pb_metric_head(f, name, "counter", pb_counter_help(i));
		fprintf(f, "%s %" PRIu64 "\n", name, cnt[i]);
	}
	pb_metric_head(f, "procbind_events_received_total", "counter",
		       "the kernel's events the agent read from the ring buffer (= "
		       "procbind_kernel_events_sent_total once drained)");
	fprintf(f, "procbind_events_received_total %" PRIu64 "\n", a->drain.received);
	pb_metric_head(f, "procbind_events_total", "counter",
		       "the kernel's events the agent read, by what became of each: recorded "
		       "(a line), folded (counted in another line), dropped (malformed)");
	fprintf(f, "procbind_events_total{outcome=\"recorded\"} %" PRIu64 "\n", a->drain.recorded);
	fprintf(f, "procbind_events_total{outcome=\"folded\"} %" PRIu64 "\n", a->drain.folded);
	fprintf(f, "procbind_events_total{outcome=\"dropped\"} %" PRIu64 "\n", a->drain.dropped);
	pb_metric_head(f, "procbind_refusals_folded_total", "counter",
		       "refusals counted in refusals_folded records (a repeat of a refusal "
		       "reported in full), from every source");
	fprintf(f, "procbind_refusals_folded_total %" PRIu64 "\n", a->drain.refusals_folded);
	pb_metric_head(f, "procbind_budget_folded_total", "counter",
		       "events of processes past their fair share of the ring buffer, counted in "
		       "events_folded and refusals_folded records (folded: past_budget)");
	fprintf(f, "procbind_budget_folded_total %" PRIu64 "\n", a->drain.budget_folded);
	pb_metric_head(f, "procbind_map_entries", "gauge", "entries in the kernel maps");
	fprintf(f, "procbind_map_entries{map=\"procs\"} %" PRIu64 "\n", st.nprocs);
	fprintf(f, "procbind_map_entries{map=\"creds\"} %" PRIu64 "\n", st.ncreds);
	pb_metric_head(f, "procbind_map_capacity", "gauge", "capacity of the kernel maps");
	fprintf(f, "procbind_map_capacity{map=\"procs\"} %u\n",
		bpf_map__max_entries(a->kern.skel->maps.procs));
	fprintf(f, "procbind_map_capacity{map=\"creds\"} %u\n",
		bpf_map__max_entries(a->kern.skel->maps.creds));
	pb_metric_head(f, "procbind_credentials_minted_total", "counter",
		       "credentials minted since the agent started, by identity");
	for (size_t i = 0; i < a->creds.ntally; i++)
		if (!a->creds.tally[i].reason[0])
			fprintf(f,
				"procbind_credentials_minted_total{identity=\"%s\"} %" PRIu64 "\n",
				a->creds.tally[i].identity, a->creds.tally[i].n);
	pb_metric_head(f, "procbind_credentials_ended_total", "counter",
		       "credentials ended since the agent started, by identity and reason "
		       "(expired, revoked, owner_exited, identity_removed)");
	for (size_t i = 0; i < a->creds.ntally; i++)
		if (a->creds.tally[i].reason[0])
			fprintf(f,
				"procbind_credentials_ended_total{identity=\"%s\",reason=\"%s\"} "
				"%" PRIu64 "\n",
				a->creds.tally[i].identity, a->creds.tally[i].reason,
				a->creds.tally[i].n);
	{
		static const char *const verbs[] = {"token", "proof", "pubkey", "malformed"};

		pb_metric_head(f, "procbind_workload_requests_total", "counter",
			       "requests on the workload socket by verb and outcome (answered, "
			       "refused)");
		for (int v = 0; v <= PB_WL_VERBS; v++)
			for (int o = 0; o < 2; o++)
				fprintf(
				    f,
				    "procbind_workload_requests_total{verb=\"%s\",outcome=\"%s\"} "
				    "%" PRIu64 "\n",
				    verbs[v], o ? "refused" : "answered",
				    a->serve.wl_requests[v][o]);
		pb_metric_head(f, "procbind_proofs_total", "counter",
			       "proofs of possession asked for, by outcome (issued, refused)");
		fprintf(f, "procbind_proofs_total{outcome=\"issued\"} %" PRIu64 "\n",
			a->serve.wl_requests[PB_WL_PROOF][0]);
		fprintf(f, "procbind_proofs_total{outcome=\"refused\"} %" PRIu64 "\n",
			a->serve.wl_requests[PB_WL_PROOF][1]);
	}
	pb_metric_head(f, "procbind_credentials_live", "gauge", "credentials not yet ended");
	fprintf(f, "procbind_credentials_live %" PRIu64 "\n", st.live);
	pb_metric_head(f, "procbind_approvals_live", "gauge",
		       "approvals with uses left, not expired or revoked");
	fprintf(f, "procbind_approvals_live %zu\n", pb_approvals_live(a));
	pb_metric_head(f, "procbind_approvals_granted_total", "counter",
		       "approvals granted since the agent started");
	fprintf(f, "procbind_approvals_granted_total %" PRIu64 "\n", a->creds.apv.granted);
	pb_metric_head(f, "procbind_approval_uses_total", "counter",
		       "uses of approvals spent (connects and proofs) the agent recorded");
	fprintf(f, "procbind_approval_uses_total %" PRIu64 "\n", a->creds.apv.used);
	pb_metric_head(f, "procbind_approval_refusals_total", "counter",
		       "connects and proofs refused for want of a usable approval");
	fprintf(f, "procbind_approval_refusals_total %" PRIu64 "\n", a->creds.apv.refused);
	pb_metric_head(f, "procbind_adopted_files", "gauge",
		       "files pods already had, bound in a container (policy adopt)");
	fprintf(f, "procbind_adopted_files %zu\n", a->adopt.n);
	pb_metric_head(f, "procbind_adopt_refused_total", "counter",
		       "adopt bindings refused (file bound elsewhere, not a file, map full)");
	fprintf(f, "procbind_adopt_refused_total %" PRIu64 "\n", a->adopt.refused);
	pb_metric_head(f, "procbind_mint_refused_map_full_total", "counter",
		       "mints refused because the credential map was full");
	fprintf(f, "procbind_mint_refused_map_full_total %" PRIu64 "\n", a->creds.full);
	if (a->guard.fan_fd >= 0) {
		struct pb_guard_state gs = {0};

		pb_guard_counts(a, &gs);
		pb_metric_head(
		    f, "procbind_guard_answers_total", "counter",
		    "fanotify permission events on credential files answered by the guard");
		fprintf(f, "procbind_guard_answers_total %llu\n", (unsigned long long)gs.answered);
		pb_metric_head(f, "procbind_guard_refused_total", "counter",
			       "opens and reads of credential files the guard refused");
		fprintf(f, "procbind_guard_refused_total %llu\n", (unsigned long long)gs.refused);
		pb_metric_head(f, "procbind_guard_events_lost_total", "counter",
			       "guard events not queued for the agent (queue full)");
		fprintf(f, "procbind_guard_events_lost_total %llu\n", (unsigned long long)gs.lost);
		pb_metric_head(
		    f, "procbind_guard_restarts_total", "counter",
		    "guard processes this agent started again after one died or stalled");
		fprintf(f, "procbind_guard_restarts_total %d\n", a->guard.respawns);
		pb_metric_head(
		    f, "procbind_guard_stalls_total", "counter",
		    "guard processes killed for leaving events unanswered half a second");
		fprintf(f, "procbind_guard_stalls_total %d\n", a->guard.stalls);
		pb_metric_head(
		    f, "procbind_guard_orphans_refused_total", "counter",
		    "events an ended guard had read and not answered, refused by the agent");
		fprintf(f, "procbind_guard_orphans_refused_total %llu\n",
			(unsigned long long)a->guard.orphans);
	}
	pb_metric_head(f, "procbind_policy_reloads_total", "counter",
		       "policy reloads (procbindctl reload, SIGHUP, its file changed) by outcome: "
		       "loaded, or refused (the policy in force stayed)");
	fprintf(f, "procbind_policy_reloads_total{outcome=\"loaded\"} %" PRIu64 "\n",
		a->watch.loaded);
	fprintf(f, "procbind_policy_reloads_total{outcome=\"refused\"} %" PRIu64 "\n",
		a->watch.refused);
	pb_metric_head(f, "procbind_policy_info", "gauge", "the policy in force");
	fprintf(f, "procbind_policy_info{version=\"%s\",generation=\"%u\",mode=\"%s\"} 1\n",
		a->purpose.policy.version, a->purpose.gen, pb_mode_name(pb_mode_now(a)));
	if (a->sink.audit) {
		struct pb_audit_stats as;

		pb_audit_stats(a->sink.audit, &as);
		pb_metric_head(f, "procbind_audit_records_total", "counter",
			       "records appended to the audit trail by this agent");
		fprintf(f, "procbind_audit_records_total %" PRIu64 "\n", as.records);
		pb_metric_head(f, "procbind_audit_dropped_total", "counter",
			       "audit records lost to write errors (each one is in a gap record)");
		fprintf(f, "procbind_audit_dropped_total %" PRIu64 "\n", as.dropped);
		pb_metric_head(f, "procbind_audit_write_errors_total", "counter",
			       "failed writes to the audit trail");
		fprintf(f, "procbind_audit_write_errors_total %" PRIu64 "\n", as.write_errors);
	}
	/* One pass over the programs, two metric families. */
	{
		struct {
			const char *name;
			unsigned long long ns, cnt;
		} runs[32];
		int nr = 0;

		bpf_object__for_each_program(prog, a->kern.skel->obj)
		{
			struct bpf_prog_info info = {0};
			__u32 len = sizeof(info);

			if (nr == 32 || bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len))
				continue;
			runs[nr].name = bpf_program__name(prog);
			runs[nr].ns = info.run_time_ns;
			runs[nr++].cnt = info.run_cnt;
		}
		pb_metric_head(f, "procbind_bpf_run_time_seconds_total", "counter",
			       "time in each BPF program (0 unless kernel.bpf_stats_enabled=1)");
		for (int i = 0; i < nr; i++)
			fprintf(f, "procbind_bpf_run_time_seconds_total{prog=\"%s\"} %llu.%09llu\n",
				runs[i].name, runs[i].ns / 1000000000ULL,
				runs[i].ns % 1000000000ULL);
		pb_metric_head(f, "procbind_bpf_runs_total", "counter",
			       "runs of each BPF program (0 unless kernel.bpf_stats_enabled=1)");
		for (int i = 0; i < nr; i++)
			fprintf(f, "procbind_bpf_runs_total{prog=\"%s\"} %llu\n", runs[i].name,
				runs[i].cnt);
	}
}

/* Write text atomically to the textfile collector's file. */
static int pb_metrics_file(const char *path, const char *text, size_t len)
{
	char tmp[PATH_MAX + 8];
	FILE *f;
	int ret = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f)
		return pb_err(-errno, "metrics: open %s: %m", tmp);
	if (fwrite(text, 1, len, f) != len || fflush(f) || ferror(f))
		ret = -EIO;
	fclose(f);
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret) {
		unlink(tmp);
		return pb_err(ret, "metrics: write %s: %s", path, strerror(-ret));
	}
	return 0;
}

int pb_metrics_write(struct pb_agent *a)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int ret = 0;

	if (!a->conf.metrics_file[0] && !pb_metrics_http_on(a))
		return 0;
	f = open_memstream(&text, &len);
	if (!f)
		return pb_err(-ENOMEM, "metrics: out of memory");
	pb_metrics_render(a, f);
	if (fclose(f) || !text) {
		free(text);
		return pb_err(-ENOMEM, "metrics: out of memory");
	}
	if (a->conf.metrics_file[0])
		ret = pb_metrics_file(a->conf.metrics_file, text, len);
	pb_metrics_http_publish(a, text, len); /* takes text */
	return ret;
}
