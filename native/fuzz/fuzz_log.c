/*
 * fuzz target: the log capture (log.c), from the pipe to the CRI lines and the rotated files. The
 * input's first byte picks the size cap (4 KiB and up; its low bit clear: none); the rest is a
 * sequence of writes by the container, each [stream+size byte][repeat byte][bytes], every write
 * through a real pipe to stream_pump. Then the files are read back, oldest first: each record must be
 * "TIME STREAM F|P DATA", each file within the cap unless it holds a single record, and the data of a
 * stream's records (F ones with their newline) must give back what the stream wrote: all of it, or
 * its end once the oldest file was rotated away. The attach tap's frames must give it all, each at
 * most 64 KiB. log.c is included to reopen its file with another cap each run.
 */
#include "../log.c"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>


#include "bytes.h"

static struct bytes wrote[2], tapped[2], logged[2];
#define FILES 4
#define TOTAL_MAX (256 * 1024) /* bytes written per run: rotations stay a few dozen */
static char dir[256], path[300];

static void tap(const struct stream *s, const char *data, size_t len) {
  if (len == 0 || len > LINE_MAX_BYTES) abort();
  add(&tapped[s == &err_s], data, len);
}

/* pump a stream until its pipe is empty */
static void drain(struct stream *s) {
  int avail = 1;
  while (s->fd >= 0 && ioctl(s->fd, FIONREAD, &avail) == 0 && avail > 0) stream_pump(s);
}

/* split one log file back into records, checking each one's form; 0 when it is missing */
static int parse_file(const char *file, long long cap) {
  size_t size;
  char *log = read_file(file, &size);
  if (!log) return 0;
  int records = 0;
  for (char *p = log, *end = log + size; p < end; records++) {
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
  if (cap > 0 && (long long)size > cap && records > 1) abort(); /* over the cap with more than one record */
  free(log);
  return 1;
}

/* the log files, oldest first; 1 when the oldest one kept may have lost older ones */
static int parse_log(long long cap) {
  char file[320];
  snprintf(file, sizeof file, "%s.%d", path, FILES - 1);
  int full = access(file, F_OK) == 0;
  for (int i = FILES - 1; i >= 1; i--) {
    snprintf(file, sizeof file, "%s.%d", path, i);
    parse_file(file, cap);
  }
  if (!parse_file(path, cap)) abort();
  return full;
}

/* remove the files of the last run */
static void clear_files(void) {
  char file[320];
  for (int i = FILES - 1; i >= 1; i--) {
    snprintf(file, sizeof file, "%s.%d", path, i);
    unlink(file);
  }
  unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  if (!dir[0]) {
    const char *tmp = getenv("TMPDIR"); /* scripts/native-fuzz.sh gives one it removes afterwards */
    snprintf(dir, sizeof dir, "%s/codex32-fuzz-log-%d", tmp && *tmp ? tmp : "/tmp", (int)getpid());
    if (mkdir(dir, 0700) < 0) abort();
    snprintf(path, sizeof path, "%s/container.log", dir);
  }
  long long cap = data[0] & 1 ? (long long)(data[0] >> 1) * 512 + 4096 : 0;
  data++, size--;
  clear_files();
  if (log_fd >= 0) close(log_fd);
  log_init(path, cap, FILES);
  log_tap = tap;
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
  for (size_t i = 0; i + 2 <= size && wrote[0].len + wrote[1].len < TOTAL_MAX;) {
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
  int dropped = parse_log(cap);
  for (int i = 0; i < 2; i++) {
    /* what the files hold is the end of what the stream wrote, and all of it unless a file was dropped */
    if (logged[i].len > wrote[i].len || (!dropped && logged[i].len != wrote[i].len)) abort();
    if (logged[i].len && memcmp(logged[i].p, wrote[i].p + wrote[i].len - logged[i].len, logged[i].len) != 0) abort();
    if (tapped[i].len != wrote[i].len || (wrote[i].len && memcmp(tapped[i].p, wrote[i].p, wrote[i].len) != 0)) abort();
  }
  return 0;
}
