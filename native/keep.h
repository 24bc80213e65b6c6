/* keep: the restarts a bot file promises, kept by the supervisor alone: past a memory threshold, at
   the cron times the engine computed, on a change of watched files */
#ifndef CODEX32_KEEP_H
#define CODEX32_KEEP_H
#include <poll.h>
#include <sys/types.h>

/* the running cron refill (cron_refill_arg), 0 when none: the supervisor's helper, not the container's */
extern pid_t refill_pid;
/* read the spec's memory_restart_bytes, cron_at_ms and watch_* entries; open their timers and watches */
void keep_init(void);
/* add the descriptors to poll to p (at most max); returns how many */
int keep_pollfds(struct pollfd *p, int max);
/* after poll: the reason of a graceful restart now due ("memory-restart", "cron-restart",
   "watch-restart"), or NULL; running says a run is up (none is restarted while in backoff) */
const char *keep_due(const struct pollfd *p, int n, int running);
/* after a child's exit: true when pid was the cron refill (a failure is recorded, the new times armed) */
int keep_reaped(pid_t pid, int status);
/* memory of the container now: its memory cgroup's anon (v2) or rss (v1), else the RSS of its process tree */
long long keep_memory(void);

#endif
