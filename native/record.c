/* record: what the supervisor tells the engine: RUNDIR/state, exits, events and the start reply */
#define _GNU_SOURCE
#include "record.h"

#include <fcntl.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* a record the supervisor could not write (a full disk): said once in shim.err, kept from being torn */
static void record_failed(const char *what) {
  fprintf(stderr, "codex32-shim: cannot write %s/%s: %s\n", rundir, what, strerror(errno));
}

/* rewrite RUNDIR/state in place, padded to its old length: a full disk has no room for a new file, but
   the old one's block is already there. Readers trim the padding. */
static int overwrite_state(const char *path, const char *line) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat st;
  char padded[512];
  size_t len = strlen(line);
  if (fstat(fd, &st) < 0 || len > sizeof padded) {
    close(fd);
    return -1;
  }
  size_t width = (size_t)st.st_size > len && (size_t)st.st_size <= sizeof padded ? (size_t)st.st_size : len;
  memset(padded, ' ', width);
  memcpy(padded, line, len - 1); /* the line without its newline, spaces, then the newline last */
  padded[width - 1] = '\n';
  ssize_t n = pwrite(fd, padded, width, 0);
  int err = errno;
  close(fd);
  errno = err;
  return n == (ssize_t)width ? 0 : -1;
}

void write_state(const char *phase) {
  char tmp[PATH_MAX], path[PATH_MAX], line[256];
  snprintf(tmp, sizeof tmp, "%s/" RUN_STATE ".tmp", rundir);
  snprintf(path, sizeof path, "%s/" RUN_STATE, rundir);
  snprintf(line, sizeof line, "%s %d %llu %d %d %s %d %lld\n", phase, child_pid, child_start, run_no,
           restarts, health_status, health_streak, (long long)run_started_ms);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int ok = fd >= 0 && write_all(fd, line, strlen(line)) == 0;
  int err = errno;
  if (fd >= 0 && close(fd) < 0 && ok) ok = 0, err = errno;
  if (ok && rename(tmp, path) == 0) return;
  /* never an empty or torn state in place of the last good one */
  if (fd >= 0) unlink(tmp);
  errno = err;
  if (overwrite_state(path, line) < 0) record_failed("state");
}

void append_exit(int code, int sig, int oom, const char *reason) {
  char path[PATH_MAX], line[256];
  snprintf(path, sizeof path, "%s/" RUN_EXITS, rundir);
  int n = snprintf(line, sizeof line, "%d %lld %lld %d %d %d %s\n", run_no, (long long)run_started_ms,
                   (long long)now_ms(), code, sig, oom, reason);
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    record_failed("exits");
    return;
  }
  struct stat st;
  int have = fstat(fd, &st) == 0;
  if (write_all(fd, line, (size_t)n) < 0) { /* one write: readers never see half a record */
    int err = errno;
    /* cut a torn line off again; should that fail too, readers skip a line that does not parse */
    if (have && ftruncate(fd, st.st_size) < 0) err = errno;
    errno = err;
    record_failed("exits");
  }
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

