/*
 * fuzz target: the log capture (log.c), from the pipe to the CRI lines. The input is a sequence of
 * writes by the container, each [stream+size byte][repeat byte][bytes]; every write goes through a
 * real pipe to stream_pump. Then the log is read back: each record must be "TIME STREAM F|P DATA",
 * and the data of a stream's records (F ones with their newline) must give back exactly what the
 * stream wrote, as must the attach tap's frames, each at most 64 KiB.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../log.h"

struct bytes {
  char *p;
  size_t len, cap;
};

static void add(struct bytes *b, const char *p, size_t n) {
  if (n == 0) return; /* nothing to copy, and b->p may still be NULL */
  if (b->len + n > b->cap) {
    b->cap = (b->len + n) * 2;
    b->p = realloc(b->p, b->cap);
    if (!b->p) abort();
  }
  memcpy(b->p + b->len, p, n);
  b->len += n;
}

static struct bytes wrote[2], tapped[2], logged[2];
static int memfd = -1;

static void tap(const struct stream *s, const char *data, size_t len) {
  if (len == 0 || len > LINE_MAX_BYTES) abort();
  add(&tapped[s == &err_s], data, len);
}

/* pump a stream until its pipe is empty */
static void drain(struct stream *s) {
  int avail = 1;
  while (s->fd >= 0 && ioctl(s->fd, FIONREAD, &avail) == 0 && avail > 0) stream_pump(s);
}

/* split the log back into records, checking each one's form */
static void parse_log(void) {
  off_t size = lseek(memfd, 0, SEEK_END);
  char *log = malloc((size_t)size + 1);
  if (!log || pread(memfd, log, (size_t)size, 0) != size) abort();
  for (char *p = log, *end = log + size; p < end;) {
    char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl) abort(); /* every record ends with its newline */
    /* 2026-12-07T01:16:23.123456789Z stdout F data */
    if (nl - p < 30 + 10 || p[4] != '-' || p[10] != 'T' || p[29] != 'Z' || p[30] != ' ') abort();
    int err = memcmp(p + 31, "stderr ", 7) == 0;
    if (!err && memcmp(p + 31, "stdout ", 7) != 0) abort();
    char tag = p[38];
    if ((tag != 'F' && tag != 'P') || p[39] != ' ') abort();
    size_t dl = (size_t)(nl - (p + 40));
    if (dl > LINE_MAX_BYTES) abort();
    add(&logged[err], p + 40, dl + (tag == 'F')); /* an F record's newline is the line's own */
    p = nl + 1;
  }
  free(log);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (memfd < 0) {
    char path[64];
    memfd = memfd_create("fuzz-log", MFD_CLOEXEC);
    if (memfd < 0) abort();
    snprintf(path, sizeof path, "/proc/self/fd/%d", memfd);
    log_init(path, 0, 1);
    log_tap = tap;
  }
  if (ftruncate(memfd, 0) < 0) abort();
  for (int i = 0; i < 2; i++) wrote[i].len = tapped[i].len = logged[i].len = 0;
  int w[2];
  struct stream *ss[2] = {&out_s, &err_s};
  for (int i = 0; i < 2; i++) {
    int p[2];
    if (pipe(p) < 0) abort();
    ss[i]->fd = p[0];
    ss[i]->len = 0;
    w[i] = p[1];
  }
  static char chunk[65536];
  for (size_t i = 0; i + 2 <= size;) {
    int err = data[i] & 0x80;
    size_t n = data[i] & 0x7f, rep = (size_t)data[i + 1] * 8 + 1;
    i += 2;
    if (n > size - i) n = size - i;
    size_t len = 0;
    for (size_t r = 0; r < rep && n && len + n <= sizeof chunk; r++, len += n) memcpy(chunk + len, data + i, n);
    i += n;
    if (!len) continue;
    if (write(w[!!err], chunk, len) != (ssize_t)len) abort(); /* the pipe is empty: 64 KiB fit */
    add(&wrote[!!err], chunk, len);
    drain(ss[!!err]);
  }
  for (int i = 0; i < 2; i++) {
    close(w[i]);
    while (stream_pump(ss[i])) {
    }
  }
  parse_log();
  for (int i = 0; i < 2; i++) {
    if (logged[i].len != wrote[i].len || (wrote[i].len && memcmp(logged[i].p, wrote[i].p, wrote[i].len) != 0)) abort();
    if (tapped[i].len != wrote[i].len || (wrote[i].len && memcmp(tapped[i].p, wrote[i].p, wrote[i].len) != 0)) abort();
  }
  return 0;
}
