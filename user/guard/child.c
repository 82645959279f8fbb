// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The guard process's start, in the child of a fork: the agent's
 * (keeper.c) or the guard host's (host.c). */
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>
#include <fcntl.h>

#include "guard.h"
#include "log.h"

#define PB_GUARD_NICE -10

/* In the child: close every descriptor but the ones the guard uses. */
static void pb_close_others(const struct pb_guard_ctx *g, int keep)
{
	int keepers[] = {g->fan,	 g->procs, g->creds,   g->cred_files, g->cfg,
			 g->policies,	 g->queue, g->state,   keep,	      2,
			 g->adopt_files, g->names, g->refusals};
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name), k = 0;

		if (de->d_name[0] == '.' || fd == dirfd(d))
			continue;
		for (size_t i = 0; i < sizeof(keepers) / sizeof(keepers[0]); i++)
			k |= keepers[i] == fd;
		if (!k)
			close(fd);
	}
	closedir(d);
}

void pb_guard_child(const struct pb_guard_ctx *g, int go)
{
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	struct rlimit rl;
	char c;

	/* Its own session: a signal for the agent's terminal or process
	 * group is not for it. */
	setsid();
	prctl(PR_SET_NAME, PB_GUARD_COMM);
	/* Every opener of a guarded file waits on it: it runs before the
	 * openers (a sibling's flood among them) and the agent. */
	if (setpriority(PRIO_PROCESS, 0, PB_GUARD_NICE))
		pb_warn("guard: nice %d: %m (it competes with its openers)", PB_GUARD_NICE);
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_max > PB_GUARD_MAXFD) {
		rl.rlim_cur = rl.rlim_max = PB_GUARD_MAXFD;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			_exit(1); /* an ended guard's events would not be found */
	}
	if (nul >= 0) {
		dup2(nul, 0);
		dup2(nul, 1);
	}
	pb_close_others(g, go);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	/* Wait until the agent has written who we are (BPF-LSM lets only the
	 * guard open what it guards). */
	if (read(go, &c, 1) != 1)
		_exit(1);
	close(go);
	_exit(pb_guard_run(g) ? 1 : 0);
}
