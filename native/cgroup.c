/* cgroup: finding and signalling every process of the container, and its OOM kills */
#define _GNU_SOURCE
#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "contract.h"
#include "health.h"
#include "record.h"
#include "spec.h"
#include "util.h"

char **cgroups;

int signal_cgroups(int sig) {
  int found = 0;
  for (char **cg = cgroups; cg && *cg; cg++) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/cgroup.procs", *cg);
    char *procs = read_file(path, NULL);
    if (!procs) continue;
    for (char *p = procs; *p;) {
      pid_t pid = (pid_t)strtol(p, &p, 10);
      if (pid > 0 && pid != getpid()) {
        kill(pid, sig);
        found++;
      }
      while (*p == '\n') p++;
      if (!pid) break;
    }
    free(procs);
  }
  return found;
}

/* descendants of this supervisor (the health check aside): with PR_SET_CHILD_SUBREAPER,
 * double-forked processes stay ours, so this is every process of a minimal container */
int collect_descendants(pid_t *out, int max, unsigned long long *ticks) {
  static pid_t pids[65536];
  static int parents[65536];
  int n = 0, found = 0;
  pid_t self = getpid();
  DIR *d = opendir("/proc");
  if (!d) return 0;
  struct dirent *de;
  while ((de = readdir(d)) && n < 65536) {
    pid_t pid = (pid_t)atoi(de->d_name);
    if (pid <= 0 || pid == self) continue;
    if (proc_ppid_ticks(pid, &parents[n], NULL)) pids[n++] = pid;
  }
  closedir(d);
  if (ticks) *ticks = 0;
  for (int i = 0; i < n && found < max; i++) {
    /* walk up the parent chain: a descendant reaches us */
    int pp = parents[i];
    for (int depth = 0; pp > 1 && depth < 64; depth++) {
      if (pp == self) {
        if (pids[i] == health_pid) break;
        out[found++] = pids[i];
        unsigned long long t = 0;
        if (ticks && proc_ppid_ticks(pids[i], NULL, &t)) *ticks += t;
        break;
      }
      int k = -1;
      for (int j = 0; j < n; j++)
        if (pids[j] == pp) {
          k = j;
          break;
        }
      if (k < 0) break;
      pp = parents[k];
    }
  }
  return found;
}

int signal_descendants(int sig) {
  static pid_t found[8192];
  int total = 0;
  for (int pass = 0; pass < 4; pass++) { /* a few passes catch processes forked meanwhile */
    int n = collect_descendants(found, 8192, NULL);
    for (int i = 0; i < n; i++) kill(found[i], sig);
    total += n;
    if (sig != SIGKILL || n == 0) break;
  }
  return total;
}

void signal_container(int sig, int group) {
  if (!group) {
    if (child_pid > 0) kill(child_pid, sig);
    return;
  }
  static pid_t found[8192];
  int n = collect_descendants(found, 8192, NULL);
  for (int i = 0; i < n; i++)
    if (isolation == ISO_MINIMAL || found[i] != child_pid) kill(found[i], sig);
}

/* as a subreaper, a supervisor without children has no descendants at all: every orphan of the
 * container is handed to it. Checking first spares the scan of every /proc/PID/stat on the host
 * (30-40 ms with 3000 processes) when the main process exited alone, as most do */
static int has_children(void) {
  siginfo_t si;
  return waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0 || errno != ECHILD;
}

void kill_container(void) {
  if (child_pid > 0) {
    if (isolation == ISO_MINIMAL) kill(-child_pid, SIGKILL); /* minimal: the process group */
    kill(child_pid, SIGKILL);
  }
  signal_cgroups(SIGKILL);
  if (isolation == ISO_MINIMAL && has_children()) signal_descendants(SIGKILL);
}

int cgroup_join_open(const char *cg) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/tasks", cg);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd >= 0 || errno != ENOENT) return fd;
  snprintf(path, sizeof path, "%s/cgroup.procs", cg); /* cgroup v2 has no tasks file */
  return open(path, O_WRONLY | O_CLOEXEC);
}

long long oom_count(void) {
  const char *f = spec_get(SPEC_OOM_EVENTS);
  if (!f) return 0;
  char *s = read_file(f, NULL);
  if (!s) return 0;
  long long n = 0;
  char *p = strstr(s, "oom_kill ");
  if (p) n = strtoll(p + 9, NULL, 10);
  free(s);
  return n;
}
