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

#include "util.h"

static int log_fd = -1;
static const char *log_path;
static long long log_max_size, log_size;
static int log_max_files;

static void log_open(void) {
  log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  struct stat st;
  log_size = (log_fd >= 0 && fstat(log_fd, &st) == 0) ? st.st_size : 0;
}

static void log_rotate(void) {
  char from[PATH_MAX], to[PATH_MAX];
  if (log_max_files <= 1) { /* keep one file: truncate it */
    if (ftruncate(log_fd, 0) == 0) log_size = 0;
    return;
  }
  for (int i = log_max_files - 1; i >= 1; i--) {
    if (i == 1) snprintf(from, sizeof from, "%s", log_path);
    else snprintf(from, sizeof from, "%s.%d", log_path, i - 1);
    snprintf(to, sizeof to, "%s.%d", log_path, i);
    rename(from, to);
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
  if (olen == 0 || log_fd < 0) {
    olen = 0;
    return;
  }
  if (write_all(log_fd, obuf, olen) == 0) log_size += (long long)olen;
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
  if (log_fd < 0) return;
  if (!ts_len) log_stamp();
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
    if (log_fd < 0) continue;
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
