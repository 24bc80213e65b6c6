/* keep: the restarts a bot file promises, carried out by the supervisor with no other process running.
 * memory: checked every memory_check_ms; cron: the engine computes the times from the pattern (the one
 * cron parser stays in TypeScript) and hands them over in the spec; when few are left the supervisor runs
 * the engine's refill command (cron_refill_arg), which writes more to RUNDIR/cron-times; watch: inotify
 * (fswatch.c), the restart after watch_delay_ms of quiet. */
#define _GNU_SOURCE
#include "keep.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "contract.h"
#include "fswatch.h"
#include "health.h"
#include "record.h"
#include "spec.h"
#include "util.h"

static long long mem_limit;
static int mem_t = -1, cron_t = -1, watch_fd = -1, watch_t = -1;
static long long watch_delay;
static char **cron_spec; /* the spec's cron_at_ms values */
static int cron_recheck; /* the cron timer is armed only to look for more times, not to restart */
static char **cron_refill; /* the engine's command that writes more times (cron_refill_arg) */
static long long cron_low; /* at or below this many times left, the refill runs */
static long long refill_at; /* when the last refill was launched; 0 once the times left are above cron_low */
pid_t refill_pid;

static int timer(int clock) {
  int fd = timerfd_create(clock, TFD_CLOEXEC | TFD_NONBLOCK);
  if (fd < 0) die("timerfd_create");
  return fd;
}

/* the times of list v (ascending, "MS" entries) after now: how many, and the first one (0: none) */
static long long after_now(char **v, long long now, long long *first) {
  long long n = 0;
  *first = 0;
  for (; *v; v++) {
    long long t = strtoll(*v, NULL, 10);
    if (t > now && !n++) *first = t;
  }
  return n;
}

/* the first time after now in the spec's list or in RUNDIR/cron-times, whichever is sooner (0 when
   none); *left: how many are left in the longer of the two (both come from the one pattern) */
static long long next_cron(long long now, long long *left) {
  long long best, fbest = 0, fleft = 0;
  *left = after_now(cron_spec, now, &best);
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/" RUN_CRON_TIMES, rundir);
  char *s = read_file(path, NULL);
  for (char *p = s, *end; p && *p; p = end) {
    long long t = strtoll(p, &end, 10);
    if (end == p) break;
    if (t > now && !fleft++) fbest = t;
    while (*end == '\n') end++;
  }
  free(s);
  if (fleft > *left) *left = fleft;
  if (fbest && (!best || fbest < best)) best = fbest;
  return best;
}

#define CRON_RECHECK_MS 60000 /* with no time left, RUNDIR/cron-times is looked at again this often */
#define CRON_REFILL_RETRY_MS 300000 /* a refill that brought no times is run again after this */
#define CRON_REFILL_WAIT_MS 30000 /* while a refill may still be running, with none left, look each second */

/* run the engine's refill command detached (its own session, stdin and stdout /dev/null, stderr the
   supervisor's own, RUNDIR/shim.err, where its error is said); a relaunch is recorded as one */
static void refill_launch(long long now) {
  if (refill_at) {
    shim_event("cron", "refill-retry");
    fprintf(stderr, "codex32-shim: the cron refill launched %llds ago brought no times: running it again\n", (now - refill_at) / 1000);
  }
  refill_at = now;
  pid_t p = spawn_detached(cron_refill, 1); /* its stderr is shim.err: a failed refill says why there */
  if (p < 0) {
    fprintf(stderr, "codex32-shim: fork for the cron refill: %s\n", strerror(errno));
    shim_event("cron", "refill-failed");
    return;
  }
  refill_pid = p;
}

/* arm the cron timer at the next time (absolute, on the real-time clock: a clock change or a suspend
   does not move it); with none left, say so once as an event and look for more times every minute
   (each second while a refill may still bring them); with few left, ask the engine for more */
static void arm_cron(void) {
  long long now = now_ms(), left, at = next_cron(now, &left);
  if (left > cron_low) refill_at = 0;
  else if (cron_refill[0] && (!refill_at || now - refill_at >= CRON_REFILL_RETRY_MS)) refill_launch(now);
  if (!at && !cron_recheck) shim_event("cron", "no-more-times");
  cron_recheck = !at;
  if (!at) at = now + (refill_at && now - refill_at < CRON_REFILL_WAIT_MS ? 1000 : CRON_RECHECK_MS);
  struct itimerspec its = {{0, 0}, {at / 1000, (at % 1000) * 1000000}};
  if (timerfd_settime(cron_t, TFD_TIMER_ABSTIME, &its, NULL) < 0) die("arm the cron timer");
}

int keep_reaped(pid_t pid, int status) {
  if (!pid || pid != refill_pid) return 0;
  refill_pid = 0;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    char v[32];
    snprintf(v, sizeof v, "refill-failed:%d", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    shim_event("cron", v);
  }
  if (cron_recheck) arm_cron(); /* the list ran out meanwhile: the new times, at once */
  return 1;
}

void keep_init(void) {
  mem_limit = spec_num(SPEC_MEMORY_RESTART_BYTES, 0);
  if (mem_limit > 0) {
    long long every = spec_num(SPEC_MEMORY_CHECK_MS, 1000);
    if (every < 10) every = 10;
    mem_t = timer(CLOCK_MONOTONIC);
    struct itimerspec its = {{every / 1000, (every % 1000) * 1000000}, {every / 1000, (every % 1000) * 1000000}};
    if (timerfd_settime(mem_t, 0, &its, NULL) < 0) die("arm the memory check");
  }
  cron_spec = spec_all(SPEC_CRON_AT_MS);
  cron_refill = spec_all(SPEC_CRON_REFILL_ARG);
  cron_low = spec_num(SPEC_CRON_REFILL_LOW, 256);
  if (cron_spec[0]) {
    cron_t = timer(CLOCK_REALTIME);
    arm_cron();
  }
  watch_fd = fswatch_init();
  if (watch_fd >= 0) {
    watch_t = timer(CLOCK_MONOTONIC);
    watch_delay = spec_num(SPEC_WATCH_DELAY_MS, 1000);
  }
}

int keep_pollfds(struct pollfd *p, int max) {
  int fds[] = {mem_t, cron_t, watch_fd, watch_t}, n = 0;
  for (size_t i = 0; i < sizeof fds / sizeof fds[0] && n < max; i++)
    if (fds[i] >= 0) p[n++] = (struct pollfd){fds[i], POLLIN, 0};
  return n;
}

/* one value of a cgroup's memory.stat ("KEY N" lines); -1 when absent */
static long long stat_value(const char *stat, const char *key) {
  size_t kl = strlen(key);
  for (const char *p = stat; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
    if (strncmp(p, key, kl) == 0 && p[kl] == ' ') return strtoll(p + kl + 1, NULL, 10);
  return -1;
}

/* the resident bytes of pid (its statm), 0 when it is gone */
static long long rss_of(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/statm", (int)pid);
  char *s = read_file(path, NULL);
  long long size, resident, total = 0;
  if (s && sscanf(s, "%lld %lld", &size, &resident) == 2) total = resident * sysconf(_SC_PAGESIZE);
  free(s);
  return total;
}

/* append the children of every thread of pid to *v (its /proc/PID/task/TID/children files); -1 when
   the kernel has no such files (CONFIG_PROC_CHILDREN unset) */
static int push_children(pid_t pid, pid_t **v, size_t *n, size_t *cap) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
  DIR *d = opendir(path);
  if (!d) return 0; /* gone meanwhile */
  int have = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    char *tend;
    long tid = strtol(e->d_name, &tend, 10);
    if (tend == e->d_name || *tend) continue; /* . and .. */
    char cpath[96];
    snprintf(cpath, sizeof cpath, "/proc/%d/task/%ld/children", (int)pid, tid);
    char *s = read_file(cpath, NULL);
    if (!s) {
      if (errno == ENOENT && have == 0) have = -1;
      continue;
    }
    have = 1;
    for (char *p = s, *end; *p; p = end) {
      long c = strtol(p, &end, 10);
      if (end == p) break;
      if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        pid_t *nv = realloc(*v, nc * sizeof *nv);
        if (!nv) break; /* no memory: the sum is short this time */
        *v = nv, *cap = nc;
      }
      (*v)[(*n)++] = (pid_t)c;
    }
    free(s);
  }
  closedir(d);
  return have < 0 ? -1 : 0;
}

/* the RSS of every process below the supervisor, the health check's aside, reading only the tree's own
   /proc entries (a walk of all of /proc costs in proportion to the host's processes, once a second) */
static long long tree_rss(void) {
  pid_t *v = NULL;
  size_t n = 0, cap = 0;
  if (push_children(getpid(), &v, &n, &cap) < 0) {
    free(v);
    pid_t *pids;
    int k = collect_descendants(&pids, NULL);
    long long total = 0;
    for (int i = 0; i < k; i++) total += rss_of(pids[i]);
    free(pids);
    return total;
  }
  long long total = 0;
  for (size_t i = 0; i < n && i < 100000; i++) {
    if (v[i] == health_pid || v[i] == refill_pid) continue; /* the supervisor's own helpers */
    total += rss_of(v[i]);
    (void)push_children(v[i], &v, &n, &cap);
  }
  free(v);
  return total;
}

long long keep_memory(void) {
  /* the memory cgroup: v2's anon, v1's total_rss (the hierarchy's), as PM2 counts a process's RSS
     rather than the page cache its files leave behind */
  for (char **cg = cgroups; cg && *cg; cg++) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/memory.stat", *cg);
    char *s = read_file(path, NULL);
    if (!s) continue;
    long long v = stat_value(s, "anon");
    if (v < 0) v = stat_value(s, "total_rss");
    if (v < 0) v = stat_value(s, "rss");
    free(s);
    if (v >= 0) return v;
  }
  /* no memory cgroup (minimal on such hosts, a host process): the RSS of every process of the tree */
  return tree_rss();
}

/* true when the timer or descriptor fd fired in p (a timer's count is consumed) */
static int ready(const struct pollfd *p, int n, int fd) {
  for (int i = 0; fd >= 0 && i < n; i++)
    if (p[i].fd == fd && p[i].revents) {
      uint64_t ticks;
      if (fd != watch_fd && read(fd, &ticks, sizeof ticks) < 0 && errno != EAGAIN) die("read a timer");
      return 1;
    }
  return 0;
}

const char *keep_due(const struct pollfd *p, int n, int running) {
  const char *due = NULL;
  if (ready(p, n, watch_fd)) {
    char what[PATH_MAX];
    if (fswatch_read(what, sizeof what) && running) {
      shim_event("watch", what);
      arm(watch_t, watch_delay > 0 ? watch_delay : 1); /* more changes push the restart back */
    }
  }
  if (ready(p, n, watch_t) && running) due = "watch-restart";
  if (ready(p, n, cron_t)) {
    int restart = !cron_recheck;
    arm_cron();
    if (running && restart) due = "cron-restart";
  }
  if (ready(p, n, mem_t) && running && !due) {
    long long used = keep_memory();
    if (used > mem_limit) {
      char v[64];
      snprintf(v, sizeof v, "%lld>%lld", used, mem_limit);
      shim_event("memory_restart", v);
      due = "memory-restart";
    }
  }
  return due;
}
