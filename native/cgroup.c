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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "contract.h"
#include "health.h"
#include "keep.h"
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

/* every process of the host with its parent, in growing arrays: nothing past a fixed count is missed */
struct proc_table {
  pid_t *pid;
  int *parent;
  size_t n, cap;
};

static int proc_table_add(struct proc_table *t, pid_t pid, int parent) {
  if (t->n == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 1024;
    pid_t *p = realloc(t->pid, cap * sizeof *p);
    if (!p) return -1;
    t->pid = p;
    int *q = realloc(t->parent, cap * sizeof *q);
    if (!q) return -1;
    t->parent = q;
    t->cap = cap;
  }
  t->pid[t->n] = pid;
  t->parent[t->n++] = parent;
  return 0;
}

static int proc_table_read(struct proc_table *t) {
  pid_t self = getpid();
  DIR *d = opendir("/proc");
  if (!d) return -1;
  struct dirent *de;
  int r = 0;
  while (r == 0 && (de = readdir(d))) {
    pid_t pid = (pid_t)atoi(de->d_name);
    int parent;
    if (pid > 0 && pid != self && proc_ppid_ticks(pid, &parent, NULL)) r = proc_table_add(t, pid, parent);
  }
  closedir(d);
  return r;
}

/* descendants of this supervisor (the health check aside): with PR_SET_CHILD_SUBREAPER,
 * double-forked processes stay ours, so this is every process of a minimal container */
int collect_descendants(pid_t **out, unsigned long long *ticks) {
  struct proc_table t = {0};
  pid_t self = getpid();
  int found = 0;
  *out = NULL;
  if (ticks) *ticks = 0;
  if (proc_table_read(&t) < 0) {
    /* the table as far as it was read is still searched: a process missed by one pass is found by the next */
    fprintf(stderr, "codex32-shim: listing the processes of the host: %s\n", strerror(errno));
  }
  if (t.n && !(*out = malloc(t.n * sizeof **out)))
    fprintf(stderr, "codex32-shim: no memory to list the descendants of the supervisor\n");
  for (size_t i = 0; *out && i < t.n; i++) {
    /* walk up the parent chain: a descendant reaches us */
    int pp = t.parent[i];
    for (int depth = 0; pp > 1 && depth < 64; depth++) {
      if (pp == self) {
        if (t.pid[i] == health_pid || t.pid[i] == refill_pid) break; /* the supervisor's own helpers */
        (*out)[found++] = t.pid[i];
        unsigned long long tk = 0;
        if (ticks && proc_ppid_ticks(t.pid[i], NULL, &tk)) *ticks += tk;
        break;
      }
      size_t k = 0;
      while (k < t.n && t.pid[k] != pp) k++;
      if (k == t.n) break;
      pp = t.parent[k];
    }
  }
  free(t.pid);
  free(t.parent);
  return found;
}

int signal_descendants(int sig) {
  int total = 0;
  for (int pass = 0; pass < 4; pass++) { /* a few passes catch processes forked meanwhile */
    pid_t *found;
    int n = collect_descendants(&found, NULL);
    for (int i = 0; i < n; i++) kill(found[i], sig);
    free(found);
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
  pid_t *found;
  int n = collect_descendants(&found, NULL);
  for (int i = 0; i < n; i++)
    if (isolation == ISO_MINIMAL || found[i] != child_pid) kill(found[i], sig);
  free(found);
}

/* as a subreaper, a supervisor without children has no descendants at all: every orphan of the
 * container is handed to it. Checking first spares the scan of every /proc/PID/stat on the host
 * (30-40 ms with 3000 processes) when the main process exited alone, as most do */
static int has_children(void) {
  siginfo_t si;
  return waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0 || errno != ECHILD;
}

/* does any of the container's cgroups still hold a process? */
static int cgroups_populated(void) {
  for (char **cg = cgroups; cg && *cg; cg++) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/cgroup.procs", *cg);
    char *procs = read_file(path, NULL);
    int any = procs && *procs;
    free(procs);
    if (any) return 1;
  }
  return 0;
}

/* the file that answers "is it frozen yet" and the answer, for a freezer cgroup dir (v1 or v2) */
static int freezer_of(const char *cg, char *ctl, char *state, size_t len, int *v2) {
  struct stat st;
  snprintf(ctl, len, "%s/freezer.state", cg); /* v1: FROZEN / THAWED, read back FREEZING until done */
  snprintf(state, len, "%s/freezer.state", cg);
  if (stat(ctl, &st) == 0) return *v2 = 0, 1;
  snprintf(ctl, len, "%s/cgroup.freeze", cg); /* v2: 1 / 0, done when cgroup.events says "frozen 1" */
  snprintf(state, len, "%s/cgroup.events", cg);
  if (stat(ctl, &st) == 0) return *v2 = 1, 1;
  return 0;
}

/* wait, briefly, for a freeze to take hold: a task in uninterruptible sleep holds it off; the kill
   goes on after 500 ms whatever the state, as the kill loop did before */
static void await_frozen(const char *state, int v2) {
  for (int i = 0; i < 500; i++) {
    char *s = read_file(state, NULL);
    int done = s && (v2 ? strstr(s, "frozen 1") != NULL : strncmp(s, "FROZEN", 6) == 0);
    free(s);
    if (done) return;
    struct timespec ms = {0, 1000000};
    nanosleep(&ms, NULL);
  }
  fprintf(stderr, "codex32-shim: %s did not freeze within 500 ms: killing anyway\n", state);
}

/*
 * SIGKILL to every process of the container's cgroups with no fork racing it: cgroup v2's cgroup.kill
 * (Linux 5.14) where the container has it, which kills the whole cgroup at once; else freeze the
 * cgroup (v1 freezer.state, v2 cgroup.freeze), kill every process listed, thaw. 0 when the container
 * has neither, and its processes are signalled one by one.
 */
static int kill_cgroups_atomically(void) {
  static int no_cgroup_kill; /* none of the cgroups has cgroup.kill: not looked for again */
  for (char **cg = cgroups; !no_cgroup_kill && cg && *cg; cg++) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/cgroup.kill", *cg);
    if (write_file(path, "1") == 0) return 1;
    if (errno != ENOENT) fprintf(stderr, "codex32-shim: write %s: %s\n", path, strerror(errno));
  }
  no_cgroup_kill = 1;
  if (!cgroups_populated()) return 1; /* nothing left: no freeze needed */
  for (char **cg = cgroups; cg && *cg; cg++) {
    char ctl[PATH_MAX], state[PATH_MAX];
    int v2;
    if (!freezer_of(*cg, ctl, state, sizeof ctl, &v2)) continue;
    if (write_file(ctl, v2 ? "1" : "FROZEN") < 0) {
      fprintf(stderr, "codex32-shim: freeze %s: %s\n", ctl, strerror(errno));
      return 0;
    }
    await_frozen(state, v2);
    signal_cgroups(SIGKILL); /* frozen: none can fork; each dies as soon as it is thawed */
    if (write_file(ctl, v2 ? "0" : "THAWED") < 0) fprintf(stderr, "codex32-shim: thaw %s: %s\n", ctl, strerror(errno));
    return 1;
  }
  return 0;
}

int cgroup_frozen(void) {
  for (char **cg = cgroups; cg && *cg; cg++) {
    char ctl[PATH_MAX], state[PATH_MAX];
    int v2;
    if (!freezer_of(*cg, ctl, state, sizeof ctl, &v2)) continue;
    /* what was asked (v1 FREEZING or FROZEN, v2 1), not whether every task has stopped yet */
    char *s = read_file(ctl, NULL);
    int frozen = s && (v2 ? s[0] == '1' : strncmp(s, "THAWED", 6) != 0);
    free(s);
    return frozen;
  }
  return 0;
}

void kill_container(void) {
  if (child_pid > 0) {
    if (isolation == ISO_MINIMAL) kill(-child_pid, SIGKILL); /* minimal: the process group */
    kill(child_pid, SIGKILL);
  }
  if (!kill_cgroups_atomically()) signal_cgroups(SIGKILL);
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
