/*
 * codex32-shim: the per-container supervisor (the conmon role) and runtime (the runc role).
 *
 *   codex32-shim run RUNDIR      supervise the container described by RUNDIR/spec
 *   codex32-shim exec RUNDIR -- CMD [ARG...]   run CMD inside a running container
 *
 * It is written in C because a supervisor per container must stay under 1 MB PSS, and because
 * namespaces with a parent-written uid_map, pivot_root, capability bounding and signalfd-driven
 * log capture cannot be expressed reliably in POSIX sh. Policy (what to mount, which limits) is
 * decided by the TypeScript engine and written to RUNDIR/spec; this program only carries it out.
 *
 * The spec is a sequence of NUL-terminated "key=value" entries. Files it writes in RUNDIR:
 *   state   (atomic rename)  "PHASE PID STARTTIME RUN RESTARTS HEALTH STREAK"
 *   exits   (append)         "RUN STARTED_MS FINISHED_MS CODE SIGNAL OOM REASON"
 *   health  (atomic rename)  last health check results
 * fd 3, when open, receives "ok PID STARTTIME\n" or "err CODE ERRNO MESSAGE\n" once the first
 * run has exec'd (or failed to), then is closed: the engine's start waits on it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/uio.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#define MAX_ENTRIES 4096
#define LINE_MAX_BYTES (64 * 1024)

/* ---------- small helpers ---------- */

/* what a container process sends back over its close-on-exec pipe when it never reaches exec */
struct launch_error {
  int err;   /* errno */
  int stage; /* 0: exec of the command failed; 1: container set-up failed */
  char msg[240];
};
static int report_fd = -1; /* set in the container's processes before exec */

static int write_all(int fd, const void *buf, size_t len);
static void close_fds_from(int lowest);

static void die(const char *fmt, ...) {
  int e = errno;
  struct launch_error le = {e, 1, {0}};
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(le.msg, sizeof le.msg, fmt, ap);
  va_end(ap);
  if (e && n > 0 && (size_t)n < sizeof le.msg) snprintf(le.msg + n, sizeof le.msg - (size_t)n, ": %s", strerror(e));
  fprintf(stderr, "codex32-shim: %s\n", le.msg);
  if (report_fd >= 0) write_all(report_fd, &le, sizeof le);
  _exit(125);
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int write_all(int fd, const void *buf, size_t len) {
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

static char *read_file(const char *path, size_t *len_out) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap + 1);
  for (;;) {
    if (len == cap) {
      cap *= 2;
      buf = realloc(buf, cap + 1);
    }
    ssize_t n = read(fd, buf + len, cap - len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    len += (size_t)n;
  }
  close(fd);
  buf[len] = 0;
  if (len_out) *len_out = len;
  return buf;
}

static int write_file(const char *path, const char *data) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  int r = write_all(fd, data, strlen(data));
  close(fd);
  return r;
}

/* process start time (field 22 of /proc/PID/stat): with the pid it names a process uniquely */
static unsigned long long proc_starttime(pid_t pid) {
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

/* ---------- the spec ---------- */

static char *spec_buf;
static char *entries[MAX_ENTRIES];
static int n_entries;

static void load_spec(const char *rundir) {
  char path[PATH_MAX];
  size_t len;
  snprintf(path, sizeof path, "%s/spec", rundir);
  spec_buf = read_file(path, &len);
  if (!spec_buf) die("cannot read %s", path);
  for (size_t i = 0; i < len && n_entries < MAX_ENTRIES;) {
    entries[n_entries++] = spec_buf + i;
    i += strlen(spec_buf + i) + 1;
  }
}

static const char *spec_get(const char *key) {
  size_t kl = strlen(key);
  for (int i = 0; i < n_entries; i++)
    if (strncmp(entries[i], key, kl) == 0 && entries[i][kl] == '=') return entries[i] + kl + 1;
  return NULL;
}

static long long spec_num(const char *key, long long dflt) {
  const char *v = spec_get(key);
  return v ? strtoll(v, NULL, 10) : dflt;
}

/* collect every value of a repeated key into a NULL-terminated vector */
static char **spec_all(const char *key) {
  size_t kl = strlen(key);
  char **v = calloc((size_t)n_entries + 1, sizeof(char *));
  int n = 0;
  for (int i = 0; i < n_entries; i++)
    if (strncmp(entries[i], key, kl) == 0 && entries[i][kl] == '=') v[n++] = entries[i] + kl + 1;
  return v;
}

/* split "a\tb\tc" in place into at most max fields */
static int split_tab(char *s, char **out, int max) {
  int n = 0;
  out[n++] = s;
  for (char *p = s; *p && n < max; p++)
    if (*p == '\t') {
      *p = 0;
      out[n++] = p + 1;
    }
  return n;
}

/* ---------- global supervisor state ---------- */

static const char *rundir;
static int sync_fd = -1;          /* fd 3 to the engine's start call */
static int isolation;             /* 0 minimal, 1 standard, 2 strict */
static pid_t child_pid;           /* host pid of the container's first process (init) */
static unsigned long long child_start;
static int run_no, restarts;
static int64_t run_started_ms;
static int stopping;              /* a user stop or kill: never restart */
static const char *stop_reason = "stopped";
static const char *health_status = "none";
static int health_streak;
static int force_restart; /* an unhealthy container restarted on request, whatever the policy */

/* ---------- health checks ---------- */

struct health_result {
  int64_t at;
  int code;
  char out[200];
};
static struct health_result health_log[5];
static int health_n;
static pid_t health_pid;
static int64_t health_started;

/* keep the last five results in RUNDIR/health, one per line: "MS CODE OUTPUT" */
static void health_record(int code, const char *out) {
  if (health_n == 5) {
    memmove(health_log, health_log + 1, 4 * sizeof health_log[0]);
    health_n = 4;
  }
  struct health_result *r = &health_log[health_n++];
  r->at = now_ms();
  r->code = code;
  snprintf(r->out, sizeof r->out, "%s", out);
  for (char *c = r->out; *c; c++)
    if (*c == '\n' || *c == '\r') *c = ' ';
  for (size_t l = strlen(r->out); l > 0 && r->out[l - 1] == ' '; l--) r->out[l - 1] = 0;
  char tmp[PATH_MAX], path[PATH_MAX];
  snprintf(tmp, sizeof tmp, "%s/health.tmp", rundir);
  snprintf(path, sizeof path, "%s/health", rundir);
  FILE *f = fopen(tmp, "w");
  if (!f) return;
  for (int i = 0; i < health_n; i++)
    fprintf(f, "%lld %d %s\n", (long long)health_log[i].at, health_log[i].code, health_log[i].out);
  fclose(f);
  rename(tmp, path);
}

/* run the health command inside the container through our own exec path */
static void health_start(void) {
  char **hargs = spec_all("health_arg");
  int n = 0;
  while (hargs[n]) n++;
  char **argv = calloc((size_t)n + 6, sizeof(char *));
  argv[0] = "codex32-shim";
  argv[1] = "exec";
  argv[2] = (char *)rundir;
  argv[3] = "--";
  for (int i = 0; i < n; i++) argv[4 + i] = hargs[i];
  char outp[PATH_MAX];
  snprintf(outp, sizeof outp, "%s/health.out", rundir);
  pid_t p = fork();
  if (p == 0) {
    int fd = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int nul = open("/dev/null", O_RDONLY);
    dup2(nul, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    close_fds_from(3);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execv("/proc/self/exe", argv);
    _exit(125);
  }
  free(hargs);
  free(argv);
  health_pid = p > 0 ? p : 0;
  health_started = now_ms();
}

/* append an event the engine would otherwise miss between two looks: "MS TYPE VALUE" */
static void shim_event(const char *type, const char *value) {
  char path[PATH_MAX], line[128];
  snprintf(path, sizeof path, "%s/events", rundir);
  int n = snprintf(line, sizeof line, "%lld %s %s\n", (long long)now_ms(), type, value);
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return;
  write_all(fd, line, (size_t)n);
  close(fd);
}

static void set_health(const char *status) {
  if (strcmp(status, health_status) != 0) shim_event("health_status", status);
  health_status = status;
}

/* a check finished (code -1: it timed out); returns 1 when the container should be restarted */
static int health_done(int code) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/health.out", rundir);
  char *out = read_file(path, NULL);
  health_record(code, out ? out : "");
  free(out);
  health_pid = 0;
  if (code == 0) {
    set_health("healthy");
    health_streak = 0;
  } else if (now_ms() - run_started_ms >= spec_num("health_start_ms", 0)) {
    health_streak++;
    if (health_streak >= spec_num("health_retries", 3)) {
      set_health("unhealthy");
      return spec_num("health_restart", 0) != 0;
    }
  }
  return 0;
}

static void write_state(const char *phase) {
  char tmp[PATH_MAX], path[PATH_MAX], line[256];
  snprintf(tmp, sizeof tmp, "%s/state.tmp", rundir);
  snprintf(path, sizeof path, "%s/state", rundir);
  snprintf(line, sizeof line, "%s %d %llu %d %d %s %d %lld\n", phase, child_pid, child_start, run_no,
           restarts, health_status, health_streak, (long long)run_started_ms);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  write_all(fd, line, strlen(line));
  close(fd);
  rename(tmp, path);
}

static void append_exit(int code, int sig, int oom, const char *reason) {
  char path[PATH_MAX], line[256];
  snprintf(path, sizeof path, "%s/exits", rundir);
  int n = snprintf(line, sizeof line, "%d %lld %lld %d %d %d %s\n", run_no, (long long)run_started_ms,
                   (long long)now_ms(), code, sig, oom, reason);
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return;
  write_all(fd, line, (size_t)n); /* one write: readers never see half a record */
  close(fd);
}

static void sync_reply(const char *fmt, ...) {
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

/* ---------- logs: CRI format lines, capped and rotated ---------- */

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

static void log_flush(void) {
  if (olen == 0 || log_fd < 0) {
    olen = 0;
    return;
  }
  if (write_all(log_fd, obuf, olen) == 0) log_size += (long long)olen;
  olen = 0;
}

/* stamp the lines of one read with the time they arrived */
static void log_stamp(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  ts_len = (size_t)snprintf(ts_head, sizeof ts_head, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ ", tm.tm_year + 1900,
                            tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec);
}

static void log_write(const char *stream, char tag, const char *data, size_t len) {
  if (log_fd < 0) return;
  if (!ts_len) log_stamp();
  size_t sl = strlen(stream);
  size_t need = ts_len + sl + 3 + len + 1;
  if (log_max_size > 0 && log_size + (long long)(olen + need) > log_max_size && log_size + (long long)olen > 0) {
    log_flush();
    log_rotate();
  }
  if (olen + need > sizeof obuf) log_flush();
  if (need > sizeof obuf) return; /* cannot happen: a record is at most 64 KiB */
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

struct stream {
  const char *name;
  int fd;
  size_t len;
  char buf[LINE_MAX_BYTES];
};
static struct stream out_s = {"stdout", -1, 0, {0}}, err_s = {"stderr", -1, 0, {0}};

/* read what is available; emit whole lines as F records and over-long ones as P chunks */
static int stream_pump(struct stream *s) {
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
  s->len += (size_t)n;
  size_t start = 0;
  for (char *nl = memchr(s->buf + s->len - (size_t)n, '\n', (size_t)n); nl;
       nl = memchr(nl + 1, '\n', (size_t)(s->buf + s->len - nl - 1))) {
    size_t i = (size_t)(nl - s->buf);
    log_write(s->name, 'F', s->buf + start, i - start);
    start = i + 1;
    if (i + 1 >= s->len) break;
  }
  if (start == 0 && s->len == sizeof s->buf) { /* a line over 64 KiB: split it */
    log_write(s->name, 'P', s->buf, s->len);
    s->len = 0;
  } else if (start > 0) {
    memmove(s->buf, s->buf + start, s->len - start);
    s->len -= start;
  }
  log_flush();
  return 1;
}

/* ---------- killing every process of the container ---------- */

static char **cgroups; /* cgroup directories the container is placed in */

static int signal_cgroups(int sig) {
  int found = 0;
  for (char **cg = cgroups; cg && *cg; cg++) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/cgroup.procs", *cg);
    char *procs = read_file(path, NULL);
    if (!procs) continue;
    for (char *p = procs; *p;) {
      pid_t pid = (pid_t)strtol(p, &p, 10);
      if (pid > 0 && pid != getpid()) {
        kill(pid, sig);
        found++;
      }
      while (*p == '\n') p++;
      if (!pid) break;
    }
    free(procs);
  }
  return found;
}

/* parent pid and CPU ticks (utime+stime) of pid from /proc; 0 when it is gone */
static int proc_ppid_ticks(pid_t pid, int *ppid, unsigned long long *ticks) {
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

/* descendants of this supervisor (the health check aside): with PR_SET_CHILD_SUBREAPER,
 * double-forked processes stay ours, so this is every process of a minimal container */
static int collect_descendants(pid_t *out, int max, unsigned long long *ticks) {
  static pid_t pids[65536];
  static int parents[65536];
  int n = 0, found = 0;
  pid_t self = getpid();
  DIR *d = opendir("/proc");
  if (!d) return 0;
  struct dirent *de;
  while ((de = readdir(d)) && n < 65536) {
    pid_t pid = (pid_t)atoi(de->d_name);
    if (pid <= 0 || pid == self) continue;
    if (proc_ppid_ticks(pid, &parents[n], NULL)) pids[n++] = pid;
  }
  closedir(d);
  if (ticks) *ticks = 0;
  for (int i = 0; i < n && found < max; i++) {
    /* walk up the parent chain: a descendant reaches us */
    int pp = parents[i];
    for (int depth = 0; pp > 1 && depth < 64; depth++) {
      if (pp == self) {
        if (pids[i] == health_pid) break;
        out[found++] = pids[i];
        unsigned long long t = 0;
        if (ticks && proc_ppid_ticks(pids[i], NULL, &t)) *ticks += t;
        break;
      }
      int k = -1;
      for (int j = 0; j < n; j++)
        if (pids[j] == pp) {
          k = j;
          break;
        }
      if (k < 0) break;
      pp = parents[k];
    }
  }
  return found;
}

static int signal_descendants(int sig) {
  static pid_t found[8192];
  int total = 0;
  for (int pass = 0; pass < 4; pass++) { /* a few passes catch processes forked meanwhile */
    int n = collect_descendants(found, 8192, NULL);
    for (int i = 0; i < n; i++) kill(found[i], sig);
    total += n;
    if (sig != SIGKILL || n == 0) break;
  }
  return total;
}

/* signal the container: its init (which forwards), and for SIGKILL every process it has */
static void kill_container(int sig) {
  if (isolation == 0 && sig != SIGKILL) signal_descendants(SIGCONT); /* a throttled tree must see the signal */
  if (child_pid > 0) {
    if (isolation == 0) kill(-child_pid, sig); /* minimal: the process group */
    kill(child_pid, sig);
  }
  if (sig == SIGKILL || isolation == 0) {
    signal_cgroups(sig);
    if (isolation == 0) signal_descendants(sig);
  }
}

/* ---------- the container's process: namespaces, rootfs, limits, exec ---------- */

static int rlimit_resource(const char *name) {
  static const struct { const char *n; int r; } map[] = {
      {"as", RLIMIT_AS},       {"nofile", RLIMIT_NOFILE}, {"nproc", RLIMIT_NPROC},
      {"cpu", RLIMIT_CPU},     {"fsize", RLIMIT_FSIZE},   {"core", RLIMIT_CORE},
      {"stack", RLIMIT_STACK}, {"memlock", RLIMIT_MEMLOCK}, {"data", RLIMIT_DATA}};
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (strcmp(map[i].n, name) == 0) return map[i].r;
  return -1;
}

static void apply_rlimits(void) {
  char **rl = spec_all("rlimit");
  for (char **r = rl; *r; r++) {
    char name[32];
    unsigned long long soft, hard;
    if (sscanf(*r, "%31s %llu %llu", name, &soft, &hard) != 3) die("bad rlimit %s", *r);
    int res = rlimit_resource(name);
    if (res < 0) die("unknown rlimit %s", name);
    struct rlimit lim = {soft, hard};
    if (setrlimit(res, &lim) < 0) die("setrlimit %s %llu", name, hard);
  }
  free(rl);
}

/* open PATH below the root without following any symlink: a planted link cannot redirect a mount */
static int open_beneath(int rootfd, const char *path, int flags) {
  struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
                         .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
  while (*path == '/') path++;
  if (!*path) path = ".";
  return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
}

/* create the directories of PATH below root, refusing symlinks; returns an O_PATH fd */
static int mkpath_beneath(int rootfd, const char *path, int as_file) {
  char buf[PATH_MAX];
  snprintf(buf, sizeof buf, "%s", path);
  int fd = dup(rootfd);
  char *save, *tok = strtok_r(buf, "/", &save);
  while (tok) {
    char *next = strtok_r(NULL, "/", &save);
    if (strcmp(tok, "..") == 0 || strcmp(tok, ".") == 0) die("refusing path %s", path);
    int nfd = openat(fd, tok, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (nfd < 0 && errno == ENOENT) {
      if (!next && as_file) {
        int f = openat(fd, tok, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (f >= 0) close(f);
      } else mkdirat(fd, tok, 0755);
      nfd = openat(fd, tok, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    }
    if (nfd < 0) die("cannot open %s in the container root", path);
    struct stat st;
    if (fstat(nfd, &st) < 0 || S_ISLNK(st.st_mode)) {
      errno = 0;
      die("refusing %s: a component is a symlink in the container root", path);
    }
    close(fd);
    fd = nfd;
    tok = next;
  }
  return fd;
}

static void fdpath(int fd, char *out, size_t len) { snprintf(out, len, "/proc/self/fd/%d", fd); }

static void mount_at(int rootfd, const char *dst, const char *src, const char *type, unsigned long flags,
                     const char *data, int as_file) {
  int fd = mkpath_beneath(rootfd, dst, as_file);
  char p[64];
  fdpath(fd, p, sizeof p);
  if (mount(src, p, type, flags, data) < 0) die("mount %s on %s", src ? src : type, dst);
  close(fd);
}

/* remount an existing mount point read-only, keeping its other flags */
static void remount_ro(int rootfd, const char *dst, unsigned long extra) {
  int fd = open_beneath(rootfd, dst, O_PATH);
  if (fd < 0) return; /* nothing there to protect */
  char p[64];
  fdpath(fd, p, sizeof p);
  if (mount(NULL, p, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | extra, NULL) < 0 &&
      mount(NULL, p, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0) {
    /* a locked mount in a user namespace keeps its flags: add nosuid/nodev/noexec and retry */
    if (mount(NULL, p, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
      die("remount %s read-only", dst);
  }
  close(fd);
}

/* build the container's root under NEWROOT from the ordered mount steps in the spec */
static void setup_rootfs(const char *newroot) {
  const char *rootsrc = spec_get("root");
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) die("make / private");
  if (!rootsrc || strcmp(rootsrc, "tmpfs") == 0) {
    if (mount("tmpfs", newroot, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=16m") < 0) die("tmpfs root");
  } else if (strncmp(rootsrc, "overlay:", 8) == 0) {
    char opts[PATH_MAX * 3 + 64];
    snprintf(opts, sizeof opts, "%s", rootsrc + 8);
    if (mount("overlay", newroot, "overlay", MS_NOSUID | MS_NODEV, opts) < 0) die("overlay root");
  } else {
    if (mount(rootsrc, newroot, NULL, MS_BIND | MS_REC, NULL) < 0) die("bind root %s", rootsrc);
  }
  int rootfd = open(newroot, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) die("open new root");

  for (int i = 0; i < n_entries; i++) {
    char *e = entries[i];
    char *eq = strchr(e, '=');
    if (!eq) continue;
    size_t kl = (size_t)(eq - e);
    char val[PATH_MAX * 2];
    snprintf(val, sizeof val, "%s", eq + 1);
    char *f[4] = {0};
#define IS(k) (kl == strlen(k) && strncmp(e, k, kl) == 0)
    if (IS("bind")) { /* SRC \t DST \t ro|rw */
      int n = split_tab(val, f, 3);
      struct stat st;
      if (n < 3 || stat(f[0], &st) < 0) die("bind source %s", f[0]);
      int fd = mkpath_beneath(rootfd, f[1], !S_ISDIR(st.st_mode));
      char p[64];
      fdpath(fd, p, sizeof p);
      if (mount(f[0], p, NULL, MS_BIND | MS_REC, NULL) < 0) die("bind %s", f[0]);
      close(fd);
      if (strcmp(f[2], "ro") == 0) remount_ro(rootfd, f[1], MS_NOSUID | MS_NODEV);
    } else if (IS("symlink")) { /* TARGET \t LINK */
      split_tab(val, f, 2);
      char dir[PATH_MAX];
      snprintf(dir, sizeof dir, "%s", f[1]);
      char *slash = strrchr(dir, '/');
      const char *base = slash ? slash + 1 : dir;
      int dfd = slash && slash != dir ? (*slash = 0, mkpath_beneath(rootfd, dir, 0)) : dup(rootfd);
      if (symlinkat(f[0], dfd, base) < 0 && errno != EEXIST) die("symlink %s", f[1]);
      close(dfd);
    } else if (IS("mkdir")) {
      close(mkpath_beneath(rootfd, val, 0));
    } else if (IS("tmpfs")) { /* DST \t OPTIONS */
      split_tab(val, f, 2);
      mount_at(rootfd, f[0], "tmpfs", "tmpfs", MS_NOSUID | MS_NODEV, f[1], 0);
    } else if (IS("proc")) {
      mount_at(rootfd, val, "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 0);
    } else if (IS("sysfs")) {
      mount_at(rootfd, val, "sysfs", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL, 0);
    } else if (IS("devpts")) {
      mount_at(rootfd, val, "devpts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620", 0);
    } else if (IS("mqueue")) {
      mount_at(rootfd, val, "mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 0);
    } else if (IS("mask")) { /* hide a path: /dev/null over a file, an empty read-only tmpfs over a dir */
      int fd = open_beneath(rootfd, val, O_PATH);
      if (fd < 0) continue;
      struct stat st;
      fstat(fd, &st);
      char p[64];
      fdpath(fd, p, sizeof p);
      if (S_ISDIR(st.st_mode)) {
        if (mount("tmpfs", p, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0") < 0) die("mask %s", val);
      } else if (mount("/dev/null", p, NULL, MS_BIND, NULL) < 0) die("mask %s", val);
      close(fd);
    } else if (IS("readonly")) { /* bind a path onto itself and make it read-only */
      int fd = open_beneath(rootfd, val, O_PATH);
      if (fd < 0) continue;
      char p[64];
      fdpath(fd, p, sizeof p);
      if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0) die("bind %s", val);
      close(fd);
      remount_ro(rootfd, val, MS_NOSUID | MS_NODEV);
    }
#undef IS
  }

  /* pivot_root(".", ".") then detach the old root: no path to the host remains */
  if (fchdir(rootfd) < 0) die("chdir new root");
  if (syscall(SYS_pivot_root, ".", ".") < 0) die("pivot_root");
  if (umount2(".", MNT_DETACH) < 0) die("detach old root");
  if (chdir("/") < 0) die("chdir /");
  close(rootfd);
  if (spec_num("readonly_root", 0)) {
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
      die("read-only root");
  }
}

static void loopback_up(void) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) die("socket");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) die("lo flags");
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) die("lo up");
  close(s);
}

/* keep only the capabilities named in KEEP (a 64-bit mask) in every set, bounding included */
static void restrict_caps(uint64_t keep) {
  for (int c = 0; c <= 63; c++) {
    if (keep & (1ULL << c)) continue;
    if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL) die("drop cap %d", c);
  }
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  data[0].effective = data[0].permitted = data[0].inheritable = (uint32_t)keep;
  data[1].effective = data[1].permitted = data[1].inheritable = (uint32_t)(keep >> 32);
  if (syscall(SYS_capset, &hdr, data) < 0) die("capset");
}

static void close_fds_from(int lowest) {
  if (syscall(SYS_close_range, lowest, ~0U, 0) == 0) return;
  for (int fd = lowest; fd < 65536; fd++) close(fd);
}

static char **env_vec(void) { return spec_all("env"); }

/* final steps of any process entering the container: identity, caps, no_new_privs, exec */
static void become_and_exec(char **argv, char **envp, const char *cwd, int errpipe) {
  long long uid = spec_num("uid", 0), gid = spec_num("gid", 0);
  if (isolation > 0) {
    uint64_t keep = (uint64_t)spec_num("caps", 0);
    /* changing uid drops permitted caps anyway; keep the bounding set honest first */
    if (setgroups(0, NULL) < 0 && errno != EPERM) die("setgroups");
    if (setresgid((gid_t)gid, (gid_t)gid, (gid_t)gid) < 0) die("setgid");
    if (uid != 0) prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
    restrict_caps(keep);
    if (setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) < 0) die("setuid");
  } else if (uid || gid) {
    if (setgroups(0, NULL) < 0) die("setgroups");
    if (setresgid((gid_t)gid, (gid_t)gid, (gid_t)gid) < 0) die("setgid");
    if (setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) < 0) die("setuid");
  }
  if (isolation > 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) die("no_new_privs");
  if (cwd && chdir(cwd) < 0) {
    struct launch_error le = {errno, 0, {0}};
    snprintf(le.msg, sizeof le.msg, "working directory %s: %s", cwd, strerror(errno));
    write_all(errpipe, &le, sizeof le);
    _exit(126);
  }
  for (char **e = envp; *e; e++) putenv(*e);
  /* look the command up on the container's own PATH */
  extern char **environ;
  environ = envp;
  execvp(argv[0], argv);
  struct launch_error le = {errno, 0, {0}};
  snprintf(le.msg, sizeof le.msg, "%s: %s", argv[0], strerror(errno));
  write_all(errpipe, &le, sizeof le);
  _exit(le.err == ENOENT ? 127 : 126);
}

static volatile sig_atomic_t init_child_status = -1;

/* pid 1 of a standard or strict container: forwards signals to the command, reaps zombies */
static int container_init(pid_t cmd) {
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, NULL);
  int code = 0;
  for (;;) {
    siginfo_t si;
    int sig = sigwaitinfo(&all, &si);
    if (sig < 0) continue;
    if (sig == SIGCHLD) {
      int st;
      pid_t p;
      while ((p = waitpid(-1, &st, WNOHANG)) > 0)
        if (p == cmd) {
          code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
          /* the command is gone: the container ends, as with docker; leave no straggler */
          kill(-1, SIGKILL);
          while (waitpid(-1, NULL, 0) > 0) {
          }
          if (WIFSIGNALED(st)) {
            /* die by the same signal so the supervisor records it faithfully */
            int s = WTERMSIG(st);
            signal(s, SIG_DFL);
            sigset_t one;
            sigemptyset(&one);
            sigaddset(&one, s);
            sigprocmask(SIG_UNBLOCK, &one, NULL);
            prctl(PR_SET_DUMPABLE, 0);
            kill(getpid(), s);
          }
          _exit(code);
        }
    } else {
      kill(cmd, sig);
    }
  }
}

/* in the new child: wait for the supervisor's go, build the container, exec the command */
static void child_main(int gofd, int errpipe, char **argv) {
  char go;
  if (read(gofd, &go, 1) != 1) _exit(125); /* supervisor died before releasing us */
  close(gofd);
  report_fd = errpipe;
  char **envp = env_vec();
  const char *cwd = spec_get("cwd");
  if (isolation == 0) {
    setsid();
    apply_rlimits();
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    become_and_exec(argv, envp, cwd, errpipe);
  }
  /* standard and strict: we are pid 1 of a fresh pid namespace */
  setsid();
  if (isolation == 2) {
    if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) die("become container root");
  }
  const char *hn = spec_get("hostname");
  if (hn && sethostname(hn, strlen(hn)) < 0) die("sethostname");
  if (spec_num("netns", 0)) loopback_up();
  setup_rootfs(spec_get("newroot"));
  prctl(PR_SET_DUMPABLE, 0); /* /proc/1 of the container stays closed to it */
  pid_t cmd = fork();
  if (cmd < 0) die("fork");
  if (cmd == 0) {
    setpgid(0, 0);
    apply_rlimits();
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    become_and_exec(argv, envp, cwd, errpipe);
  }
  close(errpipe);
  restrict_caps((1ULL << CAP_KILL));
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  _exit(container_init(cmd));
}

static unsigned long ns_flags(void) {
  if (isolation == 0) return 0;
  unsigned long f = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS;
  if (spec_num("netns", 0)) f |= CLONE_NEWNET;
  if (isolation == 2) f |= CLONE_NEWUSER;
  return f;
}

/* start one run of the container; returns 0 or an errno when the command could not be exec'd */
static int start_run(int *outpipe, int *errpipe_out) {
  int gop[2], errp[2], o[2], e[2];
  if (pipe2(gop, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 || pipe2(o, O_CLOEXEC) < 0 ||
      pipe2(e, O_CLOEXEC) < 0)
    die("pipe");
  char **argv = spec_all("arg");
  pid_t pid = (pid_t)syscall(SYS_clone, SIGCHLD | ns_flags(), 0, 0, 0, 0);
  if (pid < 0) die("clone");
  if (pid == 0) {
    close(gop[1]);
    close(errp[0]);
    close(o[0]);
    close(e[0]);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(o[1], 1);
    dup2(e[1], 2);
    /* only stdio and our two private pipes survive: nothing the caller held leaks in */
    int g = fcntl(gop[0], F_DUPFD_CLOEXEC, 3), x = fcntl(errp[1], F_DUPFD_CLOEXEC, 4);
    int keep_lo = g < x ? g : x, keep_hi = g < x ? x : g;
    for (int fd = 3; fd < keep_lo; fd++) close(fd);
    for (int fd = keep_lo + 1; fd < keep_hi; fd++) close(fd);
    close_fds_from(keep_hi + 1);
    child_main(g, x, argv);
    _exit(125);
  }
  free(argv);
  close(gop[0]);
  close(errp[1]);
  close(o[1]);
  close(e[1]);
  child_pid = pid;
  child_start = proc_starttime(pid);
  run_started_ms = now_ms();
  run_no++;
  /* place it in its cgroups and user mapping before it runs a single instruction of its own */
  for (char **cg = cgroups; cg && *cg; cg++) {
    char path[PATH_MAX], num[32];
    snprintf(path, sizeof path, "%s/cgroup.procs", *cg);
    snprintf(num, sizeof num, "%d", pid);
    if (write_file(path, num) < 0) die("join cgroup %s", *cg);
  }
  if (isolation == 2) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/uid_map", pid);
    if (write_file(path, spec_get("uid_map")) < 0) die("uid_map");
    snprintf(path, sizeof path, "/proc/%d/setgroups", pid);
    write_file(path, "deny");
    snprintf(path, sizeof path, "/proc/%d/gid_map", pid);
    if (write_file(path, spec_get("gid_map")) < 0) die("gid_map");
  }
  if (write(gop[1], "g", 1) != 1) die("release child");
  close(gop[1]);
  outpipe[0] = o[0];
  outpipe[1] = e[0];
  *errpipe_out = errp[0];
  return 0;
}

/* ---------- OOM accounting ---------- */

static long long oom_count(void) {
  const char *f = spec_get("oom_events");
  if (!f) return 0;
  char *s = read_file(f, NULL);
  if (!s) return 0;
  long long n = 0;
  char *p = strstr(s, "oom_kill ");
  if (p) n = strtoll(p + 9, NULL, 10);
  free(s);
  return n;
}

/* ---------- the supervisor ---------- */

static int restart_wanted(int code, int sig) {
  if (stopping) return 0;
  if (force_restart) {
    force_restart = 0;
    return 1;
  }
  const char *pol = spec_get("restart");
  long long max = spec_num("restart_max", 0);
  if (!pol || strcmp(pol, "no") == 0) return 0;
  if (strcmp(pol, "on-failure") == 0) {
    if (code == 0 && sig == 0) return 0;
    return max == 0 || restarts < max;
  }
  return max == 0 || restarts < max; /* always, unless-stopped */
}

static void arm(int tfd, long long ms) {
  struct itimerspec its;
  memset(&its, 0, sizeof its);
  if (ms > 0) {
    its.it_value.tv_sec = ms / 1000;
    its.it_value.tv_nsec = (ms % 1000) * 1000000;
  }
  timerfd_settime(tfd, 0, &its, NULL);
}

/* read RUNDIR/stop-request ("SIGNAL GRACE_MS REASON") written by the engine before it signals us */
static void read_stop_request(int *sig, long long *grace, char *reason, size_t rlen) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/stop-request", rundir);
  char *s = read_file(path, NULL);
  *sig = (int)spec_num("stop_signal", SIGTERM);
  *grace = spec_num("stop_timeout", 10) * 1000;
  snprintf(reason, rlen, "stopped");
  if (s) {
    sscanf(s, "%d %lld %63s", sig, grace, reason);
    free(s);
  }
}

static int supervise(void) {
  sigset_t mask;
  sigemptyset(&mask);
  int sigs[] = {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGPIPE};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaddset(&mask, sigs[i]);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  int grace_t = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  int backoff_t = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  int timeout_t = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

  long long backoff_initial = spec_num("backoff_initial_ms", 100);
  long long backoff_max = spec_num("backoff_max_ms", 30000);
  long long backoff_reset = spec_num("backoff_reset_ms", 10000);
  long long timeout_ms = spec_num("timeout_ms", 0);
  long long health_interval = spec_get("health_arg") ? spec_num("health_interval_ms", 30000) : 0;
  long long health_timeout = spec_num("health_timeout_ms", 10000);
  int health_t = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  int health_to_t = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  int runs_started = 0;
  /* --cpus without a cpu cgroup (minimal on such hosts): a duty cycle of SIGSTOP and SIGCONT */
  long long cpu_permille = spec_num("cpu_throttle_permille", 0);
  int throttle_t = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  int resume_t = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  unsigned long long cpu_prev = 0;
  int throttled = 0;
  long hz = sysconf(_SC_CLK_TCK);
  if (cpu_permille > 0) {
    struct itimerspec its = {{0, 100000000}, {0, 100000000}};
    timerfd_settime(throttle_t, 0, &its, NULL);
  }
  long long backoff = 0;
  int running = 0, waiting_backoff = 0;
  long long oom_before = 0;

  for (;;) {
    if (!running && !waiting_backoff) {
      int pipes[2], errfd;
      oom_before = oom_count();
      start_run(pipes, &errfd);
      struct launch_error le;
      memset(&le, 0, sizeof le);
      ssize_t n;
      while ((n = read(errfd, &le, sizeof le)) < 0 && errno == EINTR) {
      }
      close(errfd);
      out_s.fd = pipes[0];
      err_s.fd = pipes[1];
      /* a larger pipe means fewer wake-ups for a chatty bot (the kernel caps it at pipe-max-size) */
      fcntl(out_s.fd, F_SETPIPE_SZ, 1024 * 1024);
      fcntl(err_s.fd, F_SETPIPE_SZ, 1024 * 1024);
      fcntl(out_s.fd, F_SETFL, O_NONBLOCK);
      fcntl(err_s.fd, F_SETFL, O_NONBLOCK);
      running = 1;
      if (n > 0) { /* set-up or exec failed: report it and do not restart what cannot run */
        int code = le.stage ? 125 : le.err == ENOENT ? 127 : 126;
        le.msg[sizeof le.msg - 1] = 0;
        log_stamp();
        log_write("stderr", 'F', le.msg, strlen(le.msg));
        log_flush();
        sync_reply("err %d %d %s\n", code, le.err, le.msg);
        stopping = 1;
        stop_reason = le.stage ? "setup-failed" : le.err == ENOENT ? "not-found" : "not-executable";
      } else {
        sync_reply("ok %d %llu\n", child_pid, child_start);
        if (health_interval) {
          set_health("starting");
          health_streak = 0;
          arm(health_t, health_interval);
        }
        write_state("running");
        /* the maximum runtime counts from the first start, not from each restart */
        if (timeout_ms > 0 && runs_started++ == 0) arm(timeout_t, timeout_ms);
      }
    }

    struct pollfd pfd[10];
    int np = 0;
    pfd[np++] = (struct pollfd){sfd, POLLIN, 0};
    pfd[np++] = (struct pollfd){grace_t, POLLIN, 0};
    pfd[np++] = (struct pollfd){backoff_t, POLLIN, 0};
    pfd[np++] = (struct pollfd){timeout_t, POLLIN, 0};
    pfd[np++] = (struct pollfd){health_t, POLLIN, 0};
    pfd[np++] = (struct pollfd){health_to_t, POLLIN, 0};
    pfd[np++] = (struct pollfd){throttle_t, POLLIN, 0};
    pfd[np++] = (struct pollfd){resume_t, POLLIN, 0};
    int io_base = np;
    if (out_s.fd >= 0) pfd[np++] = (struct pollfd){out_s.fd, POLLIN, 0};
    if (err_s.fd >= 0) pfd[np++] = (struct pollfd){err_s.fd, POLLIN, 0};
    if (poll(pfd, (nfds_t)np, -1) < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    for (int i = io_base; i < np; i++)
      if (pfd[i].revents) stream_pump(pfd[i].fd == out_s.fd ? &out_s : &err_s);

    uint64_t ticks;
    if (pfd[1].revents && read(grace_t, &ticks, sizeof ticks) > 0 && running) kill_container(SIGKILL);
    if (pfd[3].revents && read(timeout_t, &ticks, sizeof ticks) > 0 && running && !stopping) {
      stopping = 1;
      stop_reason = "timeout";
      write_state("stopping");
      kill_container((int)spec_num("stop_signal", SIGTERM));
      arm(grace_t, spec_num("stop_timeout", 10) * 1000);
    }
    if (pfd[2].revents && read(backoff_t, &ticks, sizeof ticks) > 0) waiting_backoff = 0;
    if (pfd[4].revents && read(health_t, &ticks, sizeof ticks) > 0) {
      if (running && !stopping && !health_pid) {
        health_start();
        arm(health_to_t, health_timeout);
      }
      if (running && !stopping) arm(health_t, health_interval);
    }
    if (pfd[6].revents && read(throttle_t, &ticks, sizeof ticks) > 0 && running && !throttled) {
      static pid_t tree[8192];
      unsigned long long now_ticks = 0;
      int n = collect_descendants(tree, 8192, &now_ticks);
      /* CPU time used in the last 100 ms beyond the quota: stop the tree long enough to pay it back */
      long long used_ms = cpu_prev && now_ticks >= cpu_prev ? (long long)(now_ticks - cpu_prev) * 1000 / hz : 0;
      long long allowed_ms = 100 * cpu_permille / 1000;
      cpu_prev = now_ticks;
      if (used_ms > allowed_ms && n > 0) {
        for (int i = 0; i < n; i++) kill(tree[i], SIGSTOP);
        throttled = 1;
        arm(resume_t, (used_ms - allowed_ms) * 1000 / cpu_permille);
      }
    }
    if (pfd[7].revents && read(resume_t, &ticks, sizeof ticks) > 0 && throttled) {
      signal_descendants(SIGCONT);
      throttled = 0;
      unsigned long long t = 0;
      static pid_t tree2[8192];
      collect_descendants(tree2, 8192, &t);
      cpu_prev = t;
    }
    if (pfd[5].revents && read(health_to_t, &ticks, sizeof ticks) > 0 && health_pid) {
      kill(health_pid, SIGKILL); /* reaped below; counted as a failure there */
      health_started = -1;
    }

    if (pfd[0].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGPIPE) continue;
        if (si.ssi_signo != SIGCHLD) { /* a stop or kill request from the engine */
          int sig;
          long long grace;
          char reason[64];
          read_stop_request(&sig, &grace, reason, sizeof reason);
          stopping = 1;
          stop_reason = strcmp(reason, "killed") == 0 ? "killed" : "stopped";
          if (!running) { /* in backoff: nothing to signal */
            write_state("exited");
            return 0;
          }
          write_state("stopping");
          kill_container(sig);
          if (grace >= 0) arm(grace_t, grace > 0 ? grace : 1);
          continue;
        }
        int st;
        pid_t p;
        while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
          if (p == health_pid) {
            int hc = health_started < 0 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            arm(health_to_t, 0);
            if (health_done(hc) && running && !stopping) {
              /* unhealthy with restart requested: end this run; the exit path restarts it */
              force_restart = 1;
              stop_reason = "unhealthy";
              kill_container(SIGKILL);
            }
            write_state(running ? "running" : "restarting");
            continue;
          }
          if (p != child_pid) continue; /* an orphan we adopted as subreaper */
          int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
          int sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
          /* the main process is gone: nothing else of the container may outlive it */
          kill_container(SIGKILL);
          int64_t end = now_ms() + 2000;
          while ((out_s.fd >= 0 || err_s.fd >= 0) && now_ms() < end) { /* drain what is left */
            struct pollfd d[2];
            int nd = 0;
            if (out_s.fd >= 0) d[nd++] = (struct pollfd){out_s.fd, POLLIN, 0};
            if (err_s.fd >= 0) d[nd++] = (struct pollfd){err_s.fd, POLLIN, 0};
            if (poll(d, (nfds_t)nd, 100) <= 0) {
              kill_container(SIGKILL);
              continue;
            }
            for (int k = 0; k < nd; k++)
              if (d[k].revents) stream_pump(d[k].fd == out_s.fd ? &out_s : &err_s);
          }
          if (out_s.fd >= 0) close(out_s.fd), out_s.fd = -1;
          if (err_s.fd >= 0) close(err_s.fd), err_s.fd = -1;
          while (waitpid(-1, NULL, WNOHANG) > 0) {
          }
          int oom = oom_count() > oom_before;
          const char *reason = stopping ? stop_reason : force_restart ? "unhealthy" : oom ? "oom" : sig ? "signal" : code ? "failed" : "completed";
          if (oom && !stopping) code = 137;
          append_exit(code, sig, oom, reason);
          running = 0;
          arm(grace_t, 0);
          arm(health_t, 0);
          if (!restart_wanted(code, sig)) {
            arm(timeout_t, 0);
            write_state("exited");
            return 0;
          }
          int64_t lasted = now_ms() - run_started_ms;
          backoff = (lasted >= backoff_reset || backoff == 0) ? backoff_initial : backoff * 2;
          if (backoff > backoff_max) backoff = backoff_max;
          restarts++;
          waiting_backoff = 1;
          write_state("restarting");
          arm(backoff_t, backoff);
        }
      }
    }
  }
}

/* ---------- exec: enter a running container ---------- */

/* read the spec of the container whose run directory is dir */
static void load_container(const char *dir) {
  rundir = dir;
  load_spec(dir);
  isolation = (int)spec_num("isolation_level", 0);
}

/* enter the running container's namespaces (init pid checked by start time); 0 when not running */
static int join_running(const char *dir, int with_pidns) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/state", dir);
  char *st = read_file(path, NULL);
  if (!st) return 0;
  char phase[32];
  int pid;
  unsigned long long start;
  int ok = sscanf(st, "%31s %d %llu", phase, &pid, &start) == 3 && strcmp(phase, "running") == 0 &&
           proc_starttime(pid) == start;
  free(st);
  if (!ok) return 0;
  if (isolation == 0) return pid;
  const char *names[] = {"user", "ipc", "uts", "net", "pid", "mnt"};
  int fds[6];
  for (int i = 0; i < 6; i++) {
    snprintf(path, sizeof path, "/proc/%d/ns/%s", pid, names[i]);
    fds[i] = open(path, O_RDONLY | O_CLOEXEC);
  }
  /* the pid could have been reused between reading state and opening: check again */
  if (proc_starttime(pid) != start) die("container process is gone");
  for (int i = 0; i < 6; i++) {
    if (fds[i] < 0) die("open namespace %s", names[i]);
    int skip = (i == 0 && isolation != 2) || (i == 3 && !spec_num("netns", 0)) ||
               (!with_pidns && (i == 1 || i == 2 || i == 3 || i == 4));
    if (!skip && setns(fds[i], 0) < 0) die("setns %s", names[i]);
    close(fds[i]);
  }
  return pid;
}

/*
 * Confine this process to the container's filesystem so every path, symlinks included, resolves
 * inside it: the running container's mount namespace, or the same root assembled privately for a
 * stopped one (minimal: its app directory). Then drop to the file capabilities a copy needs.
 */
static void enter_root(const char *dir) {
  const char *app = spec_get("cwd");
  if (isolation == 0) {
    if (!app || chroot(app) < 0 || chdir("/") < 0) die("enter the container directory");
  } else if (!join_running(dir, 0)) {
    if (unshare(CLONE_NEWNS) < 0) die("unshare mount namespace");
    setup_rootfs(spec_get("newroot"));
  }
  if (chdir("/") < 0) die("chdir /");
  /* in a strict container's user namespace act as its root, whose capabilities end at its borders */
  if (isolation == 2 && getuid() != 0 && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)) die("become container root");
  uint64_t keep = (1ULL << CAP_CHOWN) | (1ULL << CAP_DAC_OVERRIDE) | (1ULL << CAP_FOWNER) | (1ULL << CAP_FSETID);
  restrict_caps(keep);
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

/* run the host's static busybox (opened before entering) as tar inside the container root */
static int run_tar(int bbfd, char **argv) {
  char *envp[] = {"PATH=/usr/bin:/bin", NULL};
  syscall(SYS_execveat, bbfd, "", argv, envp, AT_EMPTY_PATH);
  die("exec host busybox tar");
  return 125;
}

/* tar-out RUNDIR BUSYBOX DIR ENTRY...: archive ENTRYs of DIR (inside the container) to stdout */
static int tar_out_main(char **args, int n) {
  if (n < 4) die("usage: tar-out RUNDIR BUSYBOX DIR ENTRY...");
  load_container(args[0]);
  int bb = open(args[1], O_RDONLY | O_CLOEXEC);
  if (bb < 0) die("open %s", args[1]);
  enter_root(rundir);
  if (chdir(args[2]) < 0) die("%s", args[2]);
  char **argv = calloc((size_t)n + 64, sizeof(char *));
  int k = 0;
  argv[k++] = "tar";
  argv[k++] = "-c";
  argv[k++] = "-f";
  argv[k++] = "-";
  for (int i = 3; i < n; i++) {
    if (strcmp(args[i], "*") != 0) {
      argv[k++] = args[i];
      continue;
    }
    /* every entry of DIR but the kernel's and the runtime's own file systems */
    DIR *d = opendir(".");
    struct dirent *de;
    while (d && (de = readdir(d)) && k < n + 60) {
      const char *nm = de->d_name;
      if (!strcmp(nm, ".") || !strcmp(nm, "..") || !strcmp(nm, "proc") || !strcmp(nm, "sys") || !strcmp(nm, "dev") ||
          !strcmp(nm, "tmp"))
        continue;
      argv[k++] = strdup(nm);
    }
    if (d) closedir(d);
  }
  return run_tar(bb, argv);
}

/* tar-in RUNDIR BUSYBOX DIR: extract the (already validated) archive on stdin into DIR */
static int tar_in_main(char **args, int n) {
  if (n != 3) die("usage: tar-in RUNDIR BUSYBOX DIR");
  load_container(args[0]);
  int bb = open(args[1], O_RDONLY | O_CLOEXEC);
  if (bb < 0) die("open %s", args[1]);
  enter_root(rundir);
  if (chdir(args[2]) < 0) die("%s", args[2]);
  char *argv[] = {"tar", "-x", "-o", "-f", "-", NULL};
  return run_tar(bb, argv);
}

/* test-dir RUNDIR PATH: exit 0 if PATH is a directory inside the container, 1 if something else, 2 if missing */
static int test_dir_main(char **args, int n) {
  if (n != 2) die("usage: test-dir RUNDIR PATH");
  load_container(args[0]);
  enter_root(rundir);
  struct stat st;
  if (stat(args[1], &st) < 0) return 2;
  return S_ISDIR(st.st_mode) ? 0 : 1;
}

static int exec_main(char **args, int nargs) {
  if (nargs < 1) die("usage: exec RUNDIR [-e K=V]... [-w DIR] -- CMD [ARG...]");
  const char *dir = args[0];
  load_container(dir);
  char **extra_env = calloc((size_t)nargs + 1, sizeof(char *));
  int ne = 0, i = 1;
  const char *wd = NULL;
  for (; i < nargs; i++) {
    if (strcmp(args[i], "--") == 0) {
      i++;
      break;
    }
    if (strcmp(args[i], "-e") == 0 && i + 1 < nargs) extra_env[ne++] = args[++i];
    else if (strcmp(args[i], "-w") == 0 && i + 1 < nargs) wd = args[++i];
    else die("unknown exec option %s", args[i]);
  }
  char **argv = args + i;
  if (!argv[0]) die("exec needs a command");
  char path[PATH_MAX];
  const char *cwd = wd ? wd : spec_get("cwd");
  /* the config's environment, then -e values on top */
  char **base = env_vec();
  int nb = 0;
  while (base[nb]) nb++;
  char **envp = calloc((size_t)(nb + ne + 1), sizeof(char *));
  int m = 0;
  for (int b = 0; b < nb; b++) {
    size_t kl = strcspn(base[b], "=");
    int overridden = 0;
    for (int x = 0; x < ne; x++)
      if (strncmp(extra_env[x], base[b], kl) == 0 && extra_env[x][kl] == '=') overridden = 1;
    if (!overridden) envp[m++] = base[b];
  }
  for (int x = 0; x < ne; x++) envp[m++] = extra_env[x];
  /* cgroup files are host paths: open them before entering the container's mount namespace */
  cgroups = spec_all("cgroup");
  int cgfds[64], ncg = 0;
  for (char **cg = cgroups; *cg && ncg < 64; cg++) {
    snprintf(path, sizeof path, "%s/cgroup.procs", *cg);
    if ((cgfds[ncg++] = open(path, O_WRONLY | O_CLOEXEC)) < 0) die("open cgroup %s", *cg);
  }
  if (!join_running(dir, 1)) die("container is not running");
  /* block the signals we wait for before forking, so an early exit cannot be missed */
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  int errp[2];
  if (pipe2(errp, O_CLOEXEC) < 0) die("pipe");
  pid_t child = fork(); /* a fork is needed to be inside the pid namespace */
  if (child < 0) die("fork");
  if (child == 0) {
    close(errp[0]);
    report_fd = errp[1];
    for (int k = 0; k < ncg; k++)
      if (write(cgfds[k], "0", 1) != 1) die("join cgroup");
    if (isolation == 2 && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)) die("become container root");
    prctl(PR_SET_DUMPABLE, 0);
    if (isolation == 0) setsid();
    apply_rlimits();
    /* only stdio and the exec-error pipe cross into the container */
    int x = fcntl(errp[1], F_DUPFD_CLOEXEC, 3);
    if (x != 3) {
      dup2(errp[1], 3);
      fcntl(3, F_SETFD, FD_CLOEXEC);
    }
    close_fds_from(4);
    report_fd = 3;
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    become_and_exec(argv, envp, cwd, 3);
  }
  for (int k = 0; k < ncg; k++) close(cgfds[k]);
  close(errp[1]);
  struct launch_error le;
  memset(&le, 0, sizeof le);
  ssize_t n;
  while ((n = read(errp[0], &le, sizeof le)) < 0 && errno == EINTR) {
  }
  if (n > 0) {
    le.msg[sizeof le.msg - 1] = 0;
    fprintf(stderr, "codex32: %s\n", le.msg);
    waitpid(child, NULL, 0);
    return le.stage ? 125 : le.err == ENOENT ? 127 : 126;
  }
  int status;
  for (;;) {
    siginfo_t si;
    int sig = sigwaitinfo(&mask, &si);
    if (sig == SIGCHLD) {
      if (waitpid(child, &status, WNOHANG) == child) break;
    } else if (sig > 0) kill(child, sig);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "exec") == 0) return exec_main(argv + 2, argc - 2);
  if (argc >= 2 && strcmp(argv[1], "tar-out") == 0) return tar_out_main(argv + 2, argc - 2);
  if (argc >= 2 && strcmp(argv[1], "tar-in") == 0) return tar_in_main(argv + 2, argc - 2);
  if (argc >= 2 && strcmp(argv[1], "test-dir") == 0) return test_dir_main(argv + 2, argc - 2);
  if (argc != 3 || strcmp(argv[1], "run") != 0) {
    fprintf(stderr, "usage: codex32-shim run RUNDIR | exec RUNDIR [-e K=V] [-w DIR] -- CMD [ARG...] | tar-out RUNDIR BUSYBOX DIR ENTRY... | tar-in RUNDIR BUSYBOX DIR\n");
    return 125;
  }
  if (fcntl(3, F_GETFD) >= 0) {
    sync_fd = 3;
    fcntl(3, F_SETFD, FD_CLOEXEC);
  }
  close_fds_from(4);
  load_container(argv[2]);
  run_no = (int)spec_num("run_base", 0);
  log_path = spec_get("log");
  log_max_size = spec_num("log_max_size", 0);
  log_max_files = (int)spec_num("log_max_files", 1);
  cgroups = spec_all("cgroup");
  if (!log_path) die("spec has no log path");
  log_open();
  /* stdin, stdout and stderr of the supervisor itself go nowhere: it lives detached */
  int devnull = open("/dev/null", O_RDWR);
  dup2(devnull, 0);
  dup2(devnull, 1);
  char errlog[PATH_MAX];
  snprintf(errlog, sizeof errlog, "%s/shim.err", rundir);
  int ef = open(errlog, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  dup2(ef >= 0 ? ef : devnull, 2);
  return supervise();
}
