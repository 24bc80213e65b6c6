/* util: io, errors, files, time and /proc readers shared by every part of the supervisor */
#define _GNU_SOURCE
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

int report_fd = -1;

static void vdie(int e, const char *fmt, va_list ap) __attribute__((noreturn, format(printf, 2, 0)));
static void vdie(int e, const char *fmt, va_list ap) {
  struct launch_error le = {e, 1, {0}};
  int n = vsnprintf(le.msg, sizeof le.msg, fmt, ap);
  if (e && n > 0 && (size_t)n < sizeof le.msg) snprintf(le.msg + n, sizeof le.msg - (size_t)n, ": %s", strerror(e));
  fprintf(stderr, "codex32-shim: %s\n", le.msg);
  if (report_fd >= 0) write_all(report_fd, &le, sizeof le);
  _exit(125);
}

void die(const char *fmt, ...) {
  int e = errno; /* before anything here can change it */
  va_list ap;
  va_start(ap, fmt);
  vdie(e, fmt, ap);
}

void die_err(int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vdie(err, fmt, ap);
}

int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

char *read_file(const char *path, size_t *len_out) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap + 1);
  int err = buf ? 0 : ENOMEM;
  while (!err) {
    if (len == cap) {
      char *grown = realloc(buf, cap * 2 + 1);
      if (!grown) {
        err = ENOMEM;
        break;
      }
      buf = grown;
      cap *= 2;
    }
    ssize_t n = read(fd, buf + len, cap - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) err = errno;
    if (n <= 0) break;
    len += (size_t)n;
  }
  close(fd);
  if (err) { /* a file read in part is never taken for the whole */
    free(buf);
    errno = err;
    return NULL;
  }
  buf[len] = 0;
  if (len_out) *len_out = len;
  return buf;
}

int write_file(const char *path, const char *data) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  int r = write_all(fd, data, strlen(data));
  close(fd);
  return r;
}

unsigned long long proc_starttime(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  char *s = read_file(path, NULL);
  if (!s) return 0;
  char *p = strrchr(s, ')');
  unsigned long long st = 0;
  if (p) {
    int field = 2;
    for (p++; *p && field < 22; p++)
      if (*p == ' ') field++;
    st = strtoull(p, NULL, 10);
  }
  free(s);
  return st;
}

int split_tab(char *s, char **out, int max) {
  int n = 0;
  out[n++] = s;
  for (char *p = s; *p && n < max; p++)
    if (*p == '\t') {
      *p = 0;
      out[n++] = p + 1;
    }
  return n;
}


void close_fds_from(int lowest) {
  if (syscall(SYS_close_range, lowest, ~0U, 0) == 0) return;
  for (int fd = lowest; fd < 65536; fd++) close(fd);
}

void arm(int tfd, long long ms) {
  struct itimerspec its;
  memset(&its, 0, sizeof its);
  if (ms > 0) {
    its.it_value.tv_sec = ms / 1000;
    its.it_value.tv_nsec = (ms % 1000) * 1000000;
  }
  /* fails only on a descriptor that is not a timer: a timeout silently never firing is worse than dying */
  if (timerfd_settime(tfd, 0, &its, NULL) < 0) die("arm timer %d", tfd);
}


int proc_ppid_ticks(pid_t pid, int *ppid, unsigned long long *ticks) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  char *s = read_file(path, NULL);
  if (!s) return 0;
  char *p = strrchr(s, ')');
  unsigned long long ut = 0, st = 0;
  int pp = 0;
  int ok = p && sscanf(p + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &pp, &ut, &st) == 3;
  free(s);
  if (ppid) *ppid = pp;
  if (ticks) *ticks = ut + st;
  return ok;
}


pid_t spawn_detached(char **argv, int keep_stderr) {
  pid_t p = fork();
  if (p != 0) return p;
  sigset_t none;
  sigemptyset(&none);
  int null = open("/dev/null", O_RDWR);
  if (sigprocmask(SIG_SETMASK, &none, NULL) < 0 || setsid() < 0 || null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 ||
      (!keep_stderr && dup2(null, 2) < 0)) {
    fprintf(stderr, "codex32-shim: prepare %s: %s\n", argv[0], strerror(errno));
    _exit(126);
  }
  close_fds_from(3);
  execv(argv[0], argv);
  fprintf(stderr, "codex32-shim: exec %s: %s\n", argv[0], strerror(errno));
  _exit(127);
}
