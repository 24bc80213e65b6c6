/* logcopy: PM2's out_file / error_file. The supervisor appends each line it logs to the stream's copy,
 * prefixed with the time in copy_date_format when one is given, so the copies are written with no other
 * process running. Batched as the log is: one write per read of the container's output. */
#define _GNU_SOURCE
#include "logcopy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "contract.h"
#include "record.h"
#include "spec.h"
#include "util.h"

struct copy {
  const char *path;
  int fd;
  int line_start; /* the next byte begins a line: it gets the prefix */
  int failed;     /* said once in shim.err and the events, not per line */
  size_t len;
  char buf[128 * 1024];
};

/* zeroed (in .bss, not 256 KiB of the binary's data): copy_on says copy_init has set them up */
static struct copy out_c, err_c;
static int copy_on;
static const char *date_fmt;
static long long stamp_ms = -1;
static char stamp[256];
static size_t stamp_len;

static void copy_failed(struct copy *c, const char *op, int err) {
  if (c->failed) return;
  c->failed = 1;
  char msg[512];
  snprintf(msg, sizeof msg, "cannot %s %s: %s", op, c->path, strerror(err));
  fprintf(stderr, "codex32-shim: %s\n", msg);
  shim_event("log_error", msg);
}

static void copy_open(struct copy *c, const char *path) {
  c->path = path;
  c->fd = -1;
  c->line_start = 1;
  if (!path) return;
  c->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (c->fd < 0) copy_failed(c, "open", errno);
}

void copy_init(void) {
  date_fmt = spec_get(SPEC_COPY_DATE_FORMAT);
  if (date_fmt && !*date_fmt) date_fmt = NULL;
  copy_open(&out_c, spec_get(SPEC_COPY_OUT));
  copy_open(&err_c, spec_get(SPEC_COPY_ERR));
  copy_on = out_c.fd >= 0 || err_c.fd >= 0;
}

int copy_is_file(const char *path) {
  return (out_c.path && strcmp(path, out_c.path) == 0) || (err_c.path && strcmp(path, err_c.path) == 0);
}

size_t copy_stamp(const char *fmt, long long ms, char *out, size_t cap) {
  time_t sec = (time_t)(ms / 1000);
  struct tm tm;
  if (!localtime_r(&sec, &tm) || cap < 2) return 0;
  /* strftime has neither: rewrite them into the format first (digits and signs need no escaping) */
  char f[512];
  size_t n = 0;
  for (const char *p = fmt; *p && n + 8 < sizeof f; p++) {
    if (p[0] == '%' && p[1] == '%') {
      f[n++] = *p++;
      f[n++] = *p;
    } else if (p[0] == '%' && p[1] == 'L') {
      n += (size_t)snprintf(f + n, sizeof f - n, "%03lld", ms % 1000);
      p++;
    } else if (p[0] == '%' && p[1] == ':' && p[2] == 'z') {
      long off = tm.tm_gmtoff / 60;
      n += (size_t)snprintf(f + n, sizeof f - n, "%c%02ld:%02ld", off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
      p += 2;
    } else {
      f[n++] = *p;
    }
  }
  f[n] = 0;
  return strftime(out, cap, f, &tm);
}

void copy_flush(void) {
  if (!copy_on) return;
  struct copy *cs[] = {&out_c, &err_c};
  for (int i = 0; i < 2; i++) {
    struct copy *c = cs[i];
    if (c->len && c->fd >= 0 && write_all(c->fd, c->buf, c->len) < 0) copy_failed(c, "write", errno);
    c->len = 0;
  }
}

static void put(struct copy *c, const char *p, size_t n) {
  while (n) {
    if (c->len == sizeof c->buf) copy_flush();
    size_t k = n < sizeof c->buf - c->len ? n : sizeof c->buf - c->len;
    memcpy(c->buf + c->len, p, k);
    c->len += k;
    p += k;
    n -= k;
  }
}

void copy_record(const char *stream, const char *data, size_t len, int full) {
  if (!copy_on) return;
  struct copy *c = strcmp(stream, "stdout") == 0 ? &out_c : &err_c;
  if (c->fd < 0) return;
  if (c->line_start && date_fmt) {
    long long ms = now_ms();
    if (ms != stamp_ms) { /* one strftime per millisecond, not per line */
      stamp_ms = ms;
      stamp_len = copy_stamp(date_fmt, ms, stamp, sizeof stamp - 2);
      stamp[stamp_len++] = ':';
      stamp[stamp_len++] = ' ';
    }
    put(c, stamp, stamp_len);
  }
  put(c, data, len);
  if (full) put(c, "\n", 1);
  c->line_start = full;
}
