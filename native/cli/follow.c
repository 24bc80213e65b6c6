/* follow: what the Node CLI's `run` does with engine.logs(id, {follow: true}): each CRI record's content
   to stdout or stderr, a newline after full (F) ones, across rotations, until the supervisor is gone */
#define _GNU_SOURCE
#include "follow.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t got[65];
static void note(int sig) { got[sig] = 1; }

static int out_ok[3] = {0, 1, 1};
static void out(int fd, const char *p, size_t n) {
  while (n && out_ok[fd]) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) out_ok[fd] = 0; /* the reader went away (EPIPE): as Node, keep running quietly */
    else p += w, n -= (size_t)w;
  }
}

/* one record: "TIME STREAM TAG CONTENT"; anything else is skipped, as parseRecord does */
static void emit(const char *line, size_t n) {
  const char *s1 = memchr(line, ' ', n);
  if (!s1) return;
  const char *s2 = memchr(s1 + 1, ' ', n - (size_t)(s1 + 1 - line));
  if (!s2 || (size_t)(s2 - line) + 3 > n) return;
  size_t sl = (size_t)(s2 - s1 - 1);
  int fd = sl == 6 && !memcmp(s1 + 1, "stdout", 6) ? 1 : sl == 6 && !memcmp(s1 + 1, "stderr", 6) ? 2 : 0;
  if (!fd) return;
  const char *data = s2 + 3;
  size_t dl = n - (size_t)(data - line);
  if (s2[1] == 'F') {
    /* one write per record, as Node's Buffer.concat: the content and its newline, in a buffer kept
       across records (a chatty container's lines would otherwise cost an allocation each) */
    static char *line_buf;
    static size_t line_cap;
    if (dl + 1 > line_cap) {
      char *grown = realloc(line_buf, dl + 1);
      if (!grown) return;
      line_buf = grown, line_cap = dl + 1;
    }
    memcpy(line_buf, data, dl);
    line_buf[dl] = '\n';
    out(fd, line_buf, dl + 1);
  } else out(fd, data, dl);
}

struct reader {
  int fd;
  char *buf;
  size_t len, cap;
};

/* read what the file has now and emit its whole lines */
static void pump(struct reader *r) {
  for (;;) {
    if (r->cap - r->len < 65536) {
      r->cap = r->cap ? r->cap * 2 : 262144;
      r->buf = realloc(r->buf, r->cap);
      if (!r->buf) abort();
    }
    ssize_t n = read(r->fd, r->buf + r->len, r->cap - r->len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    r->len += (size_t)n;
    size_t start = 0;
    for (char *nl; (nl = memchr(r->buf + start, '\n', r->len - start));) {
      emit(r->buf + start, (size_t)(nl - r->buf) - start);
      start = (size_t)(nl - r->buf) + 1;
    }
    memmove(r->buf, r->buf + start, r->len - start);
    r->len -= start;
  }
}

/* the log was rotated (renamed away) once the path names another file: finish the old one, take the new */
static void maybe_rotate(struct reader *r, const char *path) {
  struct stat a, b;
  if (r->fd >= 0 && (stat(path, &a) || fstat(r->fd, &b) || (a.st_ino == b.st_ino && a.st_dev == b.st_dev))) return;
  if (r->fd >= 0) {
    pump(r);
    close(r->fd);
    r->len = 0;
  }
  r->fd = open(path, O_RDONLY | O_CLOEXEC);
}

int follow_log(const char *dir, pid_t shim, void (*on_signal)(int sig)) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/container.log", dir);
  sigset_t block, during;
  sigemptyset(&block);
  int sigs[] = {SIGCHLD, SIGINT, SIGTERM, SIGHUP};
  struct sigaction sa = {0};
  sa.sa_handler = note;
  for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) sigaddset(&block, sigs[i]), sigaction(sigs[i], &sa, NULL);
  sigprocmask(SIG_BLOCK, &block, &during);
  signal(SIGPIPE, SIG_IGN);
  int ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (ino >= 0) inotify_add_watch(ino, dir, IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE);
  struct reader r = {.fd = -1};
  int done = 0, piped = 0;
  while (!done) {
    int status;
    done = waitpid(shim, &status, WNOHANG) != 0; /* gone, or not ours to wait for */
    maybe_rotate(&r, path);
    if (r.fd >= 0) pump(&r);
    if (done) break;
    for (size_t i = 1; i < sizeof sigs / sizeof *sigs; i++)
      if (got[sigs[i]]) got[sigs[i]] = 0, on_signal(sigs[i]);
    /* the reader of our output went away (`| head -1`): the command gets SIGPIPE, as a pipeline's writer would */
    if (!out_ok[1] && !piped) piped = 1, on_signal(SIGPIPE);
    struct pollfd p = {.fd = ino, .events = POLLIN};
    struct timespec tick = {0, 100 * 1000000}; /* a write inotify missed is picked up within 100 ms */
    if (ppoll(&p, ino >= 0 ? 1 : 0, &tick, &during) > 0) {
      char ev[4096];
      while (read(ino, ev, sizeof ev) > 0) {
      }
    }
  }
  if (r.fd >= 0) close(r.fd);
  if (ino >= 0) close(ino);
  free(r.buf);
  sigprocmask(SIG_SETMASK, &during, NULL);
  return !out_ok[1];
}
