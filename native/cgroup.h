/* cgroup: finding and signalling every process of the container, and its OOM kills */
#ifndef CODEX32_CGROUP_H
#define CODEX32_CGROUP_H
#include <sys/types.h>

extern char **cgroups; /* cgroup directories the container is placed in */

/* signal every process listed in the container's cgroups; returns how many */
int signal_cgroups(int sig);
/* descendants of this supervisor (the health check aside) in *out (malloc'd, free it), however many,
   with their CPU ticks summed; returns how many */
int collect_descendants(pid_t **out, unsigned long long *ticks);
int signal_descendants(int sig);
/*
 * A stop or kill signal, as docker sends it: once, to the container's main process (at standard and
 * strict its init, which forwards it to the command). With group, to every process of the container
 * instead, each once (the init aside, whose command gets it directly).
 */
void signal_container(int sig, int group);
/* SIGKILL to every process of the container: its init, process group, cgroups and descendants */
void kill_container(void);
/*
 * The file a process writes "0" to to join cgroup cg itself: v1's tasks, which moves the writing
 * thread without the kernel's global write lock on every fork and exit of the host
 * (cgroup_threadgroup_rwsem, whose taking cost an RCU grace period: 0.2 ms, up to 15 ms here), or v2's
 * cgroup.procs. Opened on the host, as its path is a host path; -1 with errno when it cannot be.
 */
int cgroup_join_open(const char *cg);
/* whether the container's processes are frozen by a pause (v1 freezer.state, v2 cgroup.freeze) */
int cgroup_frozen(void);
/* the memory cgroup's oom_kill counter (0 without one) */
long long oom_count(void);

#endif
