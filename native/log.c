/* log: the container's stdout and stderr captured as CRI lines, capped and rotated */
#define _GNU_SOURCE
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "logcopy.h"
#include "record.h"
#include "util.h"

static int log_fd = -1;
static const char *log_path;
static long long log_max_size, log_size;
static int log_max_files;

/* output lost since the log last failed, and how many failures were reported */
static long long log_lost;
static int log_failing, log_reports;
static int64_t log_retry_at; /* when an unopenable log is tried again */
#define LOG_REPORTS_MAX 20   /* a disk that fills and empties again must not fill the events file */

/*
 * The log cannot be opened or written: say so once per failure (not per batch) in shim.err and as a
 * log_error event, which `codex32 logs` shows, so a log cut short never looks complete.
 */
static void log_failed(const char *op, int err) {
  if (log_failing) return;
  log_failing = 1;
  if (log_reports++ == LOG_REPORTS_MAX) {
    fprintf(stderr, "codex32-shim: the log keeps failing: no more failures are recorded\n");
    return;
  }
  if (log_reports > LOG_REPORTS_MAX) return;
  char msg[PATH_MAX + 128];
  snprintf(msg, sizeof msg, "cannot %s %s: %s", op, log_path, strerror(err));
  fprintf(stderr, "codex32-shim: %s\n", msg); /* stderr is RUNDIR/shim.err */
  shim_event("log_error", msg);
}

/* the log works again: say how much output it missed */
static void log_recovered(void) {
  if (!log_failing) return;
  log_failing = 0;
  if (log_reports > LOG_REPORTS_MAX) return;
  char msg[64];
  snprintf(msg, sizeof msg, "%lld bytes of output lost", log_lost);
  fprintf(stderr, "codex32-shim: log written again, %s\n", msg);
  shim_event("log_resumed", msg);
  log_lost = 0;
}

static void log_open(void) {
  log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (log_fd < 0) {
    log_failed("open", errno);
    log_retry_at = now_ms() + 1000; /* tried again at most once a second, as output comes */
    return;
  }
  struct stat st;
  log_size = fstat(log_fd, &st) == 0 ? st.st_size : 0;
}

static void log_rotate(void) {
  char from[PATH_MAX], to[PATH_MAX];
  if (log_fd < 0) return; /* no file to rotate: log_flush opens one again */
  if (log_max_files <= 1) { /* keep one file: truncate it */
    if (ftruncate(log_fd, 0) == 0) log_size = 0;
    else log_failed("truncate", errno);
    return;
  }
  for (int i = log_max_files - 1; i >= 1; i--) {
    if (i == 1) snprintf(from, sizeof from, "%s", log_path);
    else snprintf(from, sizeof from, "%s.%d", log_path, i - 1);
    snprintf(to, sizeof to, "%s.%d", log_path, i);
    if (rename(from, to) < 0 && errno != ENOENT) log_failed("rotate", errno); /* fewer files so far: ENOENT */
  }
  close(log_fd);
  log_open();
}

/* records are gathered here and written with one write per batch: a syscall per line halves throughput */
static char obuf[512 * 1024];
static size_t olen;
static char ts_head[48]; /* "TIME " for the batch being written */
static size_t ts_len;

void log_flush(void) {
  copy_flush();
  if (olen == 0) return;
  if (log_fd < 0 && now_ms() >= log_retry_at) log_open();
  if (log_fd < 0) log_lost += (long long)olen;
  else if (write_all(log_fd, obuf, olen) == 0) {
    log_size += (long long)olen;
    log_recovered();
  } else {
    log_lost += (long long)olen;
    log_failed("write", errno);
  }
  olen = 0;
}

/* stamp the lines of one read with the time they arrived */
void log_stamp(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  ts_len = (size_t)snprintf(ts_head, sizeof ts_head, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ ", tm.tm_year + 1900,
                            tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec);
}

/* make room for need more bytes in the batch: rotate when the record would pass the cap, flush when full */
static void log_room(size_t need) {
  if (log_max_size > 0 && log_size + (long long)(olen + need) > log_max_size && log_size + (long long)olen > 0) {
    log_flush();
    log_rotate();
  }
  if (olen + need > sizeof obuf) log_flush();
}

void log_write(const char *stream, char tag, const char *data, size_t len) {
  if (!ts_len) log_stamp();
  copy_record(stream, data, len, tag == 'F');
  size_t sl = strlen(stream);
  size_t need = ts_len + sl + 3 + len + 1;
  if (need > sizeof obuf) return; /* cannot happen: a record is at most 64 KiB */
  log_room(need);
  char *o = obuf + olen;
  memcpy(o, ts_head, ts_len);
  o += ts_len;
  memcpy(o, stream, sl);
  o += sl;
  *o++ = ' ';
  *o++ = tag;
  *o++ = ' ';
  memcpy(o, data, len);
  o += len;
  *o++ = '\n';
  olen = (size_t)(o - obuf);
}

struct stream out_s = {"stdout", -1, 0, {0}}, err_s = {"stderr", -1, 0, {0}};
void (*log_tap)(const struct stream *s, const char *data, size_t len);

/* the whole lines of one read, each ending at its newline: "TIME STREAM F " is the same for all of
 * them, so it is built once and each record is two copies (the prefix, then the line with its newline) */
static const char *write_lines(const struct stream *s, const char *p, const char *scan, const char *end) {
  char pre[sizeof ts_head + 16];
  size_t pl = (size_t)snprintf(pre, sizeof pre, "%.*s%s F ", (int)ts_len, ts_head, s->name);
  for (const char *nl; (nl = memchr(scan, '\n', (size_t)(end - scan))); p = scan = nl + 1) {
    while (nl - p >= LINE_MAX_BYTES) { /* over 64 KiB: P pieces first, as when the line arrives in parts */
      log_write(s->name, 'P', p, LINE_MAX_BYTES);
      p += LINE_MAX_BYTES;
    }
    size_t len = (size_t)(nl + 1 - p);
    copy_record(s->name, p, len - 1, 1);
    log_room(pl + len);
    memcpy(obuf + olen, pre, pl);
    memcpy(obuf + olen + pl, p, len);
    olen += pl + len;
  }
  return p;
}

/* read what is available; emit whole lines as F records and over-long ones as P chunks */
int stream_pump(struct stream *s) {
  ssize_t n = read(s->fd, s->buf + s->len, sizeof s->buf - s->len);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 1;
  log_stamp();
  if (n <= 0) {
    if (s->len) log_write(s->name, 'P', s->buf, s->len);
    log_flush();
    s->len = 0;
    close(s->fd);
    s->fd = -1;
    return 0;
  }
  char *fresh = s->buf + s->len, *end = fresh + n;
  /* the tap's frames stay at most 64 KiB, as the attach clients expect */
  for (char *t = fresh; log_tap && t < end; t += LINE_MAX_BYTES)
    log_tap(s, t, (size_t)(end - t) < LINE_MAX_BYTES ? (size_t)(end - t) : LINE_MAX_BYTES);
  const char *p = write_lines(s, s->buf, fresh, end);
  while (end - p >= LINE_MAX_BYTES) { /* the unfinished line is already 64 KiB: split it */
    log_write(s->name, 'P', p, LINE_MAX_BYTES);
    p += LINE_MAX_BYTES;
  }
  s->len = (size_t)(end - p);
  memmove(s->buf, p, s->len);
  log_flush();
  return 1;
}


void log_init(const char *path, long long max_size, int max_files) {
  log_path = path;
  log_max_size = max_size;
  log_max_files = max_files;
  log_open();
}
