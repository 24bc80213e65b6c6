/* record: what the supervisor tells the engine: RUNDIR/state, exits, events and the start reply */
#define _GNU_SOURCE
#include "record.h"

#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "contract.h"
#include "spec.h"
#include "util.h"

int sync_fd = -1;
pid_t child_pid;
unsigned long long child_start;
int run_no, restarts;
int64_t run_started_ms;
int stopping;
const char *stop_reason = "stopped";
const char *health_status = "none";
int health_streak;
int force_restart;

void shim_event(const char *type, const char *value) {
  char path[PATH_MAX], *line;
  snprintf(path, sizeof path, "%s/" RUN_EVENTS, rundir);
  /* sized to the value: a fixed buffer would cut it (or write past its end) */
  int n = asprintf(&line, "%lld %s %s\n", (long long)now_ms(), type, value);
  if (n < 0) {
    fprintf(stderr, "codex32-shim: event %s %s lost: out of memory\n", type, value);
    return;
  }
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0 || write_all(fd, line, (size_t)n) < 0) /* one write: readers never see half an event */
    fprintf(stderr, "codex32-shim: event %s %s not recorded in %s: %s\n", type, value, path, strerror(errno));
  if (fd >= 0) close(fd);
  free(line);
}

void write_state(const char *phase) {
  char tmp[PATH_MAX], path[PATH_MAX], line[256];
  snprintf(tmp, sizeof tmp, "%s/" RUN_STATE ".tmp", rundir);
  snprintf(path, sizeof path, "%s/" RUN_STATE, rundir);
  snprintf(line, sizeof line, "%s %d %llu %d %d %s %d %lld\n", phase, child_pid, child_start, run_no,
           restarts, health_status, health_streak, (long long)run_started_ms);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  write_all(fd, line, strlen(line));
  close(fd);
  rename(tmp, path);
}

void append_exit(int code, int sig, int oom, const char *reason) {
  char path[PATH_MAX], line[256];
  snprintf(path, sizeof path, "%s/" RUN_EXITS, rundir);
  int n = snprintf(line, sizeof line, "%d %lld %lld %d %d %d %s\n", run_no, (long long)run_started_ms,
                   (long long)now_ms(), code, sig, oom, reason);
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return;
  write_all(fd, line, (size_t)n); /* one write: readers never see half a record */
  close(fd);
}

void sync_reply(const char *fmt, ...) {
  if (sync_fd < 0) return;
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  write_all(sync_fd, buf, strlen(buf));
  close(sync_fd);
  sync_fd = -1;
}

