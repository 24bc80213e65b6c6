/* cgroup: finding and signalling every process of the container, and its OOM kills */
#ifndef CODEX32_CGROUP_H
#define CODEX32_CGROUP_H
#include <sys/types.h>

extern char **cgroups; /* cgroup directories the container is placed in */

/* signal every process listed in the container's cgroups; returns how many */
int signal_cgroups(int sig);
/* descendants of this supervisor (the health check aside), with their CPU ticks summed */
int collect_descendants(pid_t *out, int max, unsigned long long *ticks);
int signal_descendants(int sig);
/* signal the container: its init (which forwards), and for SIGKILL every process it has */
void kill_container(int sig);
/* the memory cgroup's oom_kill counter (0 without one) */
long long oom_count(void);

#endif
