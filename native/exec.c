/*
 * exec: join a running container to run one more command in it, exactly like its main process:
 * its namespaces and cgroups, its rlimits, identity and capabilities. The health check uses it too.
 */
#define _GNU_SOURCE
#include "exec.h"
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "caps.h"
#include "contract.h"
#include "pty.h"
#include "cgroup.h"
#include "seccomp.h"
#include "spec.h"
#include "userns.h"
#include "util.h"

/* the first child of the container's init (its command), whose namespaces are the container's */
static pid_t init_child(pid_t init) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task/%d/children", init, init);
  char *s = read_file(path, NULL);
  if (!s) die("read %s", path);
  pid_t c = (pid_t)strtol(s, NULL, 10);
  free(s);
  if (c <= 0) die_err(ESRCH, "the container's command is gone");
  return c;
}

int join_running(const char *dir, int with_pidns) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/" RUN_STATE, dir);
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
  /* the user namespace last: strict's network namespace (and any set up by the engine) belongs to the
   * host's user namespace, and joining the container's first would leave no capability there to join it
   * (setns net: EPERM). As host root every other namespace can be joined from outside; the container's
   * user namespace then gives the capabilities its own namespaces need */
  enum { NS_IPC, NS_UTS, NS_NET, NS_PID, NS_MNT, NS_USER, NS_COUNT };
  const char *names[NS_COUNT] = {"ipc", "uts", "net", "pid", "mnt", "user"};
  int fds[NS_COUNT];
  /* rootless: the container's init is closed to its own user (not dumpable, and made outside the user
     namespace, so no capability there opens it): its namespaces are read through its child, the command */
  pid_t via = rootless() ? init_child(pid) : pid;
  for (int i = 0; i < NS_COUNT; i++) {
    snprintf(path, sizeof path, "/proc/%d/ns/%s", via, names[i]);
    fds[i] = open(path, O_RDONLY | O_CLOEXEC);
  }
  /* the pid could have been reused between reading state and opening: check again */
  int ppid = 0;
  unsigned long long ticks;
  if (proc_starttime(pid) != start || (via != pid && (!proc_ppid_ticks(via, &ppid, &ticks) || ppid != pid)))
    die_err(ESRCH, "container process is gone");
  /* rootless: no capability in the host's user namespace, every one in the container's (the user owns
     it): the user namespace first, then the rest as its root, as nsenter does for an ordinary user */
  if (rootless() && setns(fds[NS_USER], 0) < 0) die("setns user");
  for (int i = 0; i < NS_COUNT; i++) {
    if (fds[i] < 0) die("open namespace %s", names[i]);
    int skip = (i == NS_USER && (isolation != ISO_STRICT || rootless())) || (i == NS_NET && !net_own()) ||
               (!with_pidns && (i == NS_IPC || i == NS_UTS || i == NS_NET || i == NS_PID));
    if (!skip && setns(fds[i], 0) < 0) die("setns %s", names[i]);
    close(fds[i]);
  }
  return pid;
}

struct exec_req {
  char **argv;
  char **envp;
  const char *cwd;
  int tty;         /* -t: a terminal of its own, relayed to ours */
  int interactive; /* -i: our stdin is its stdin; otherwise it reads /dev/null */
};

/* replace the spec's value of key for this exec only (or add it): become_and_exec reads uid and gid there */
static void override_entry(const char *key, const char *value) {
  size_t kl = strlen(key);
  char *e = malloc(kl + strlen(value) + 2);
  if (!e) die("exec: memory for %s", key);
  sprintf(e, "%s=%s", key, value);
  for (int i = 0; i < n_entries; i++)
    if (strncmp(entries[i], key, kl) == 0 && entries[i][kl] == '=') {
      entries[i] = e;
      return;
    }
  spec_add(e);
}

/* "-u UID:GID": the identity inside the container for this exec only */
static void exec_user(const char *v) {
  char uid[16], gid[16];
  if (sscanf(v, "%15[0-9]:%15[0-9]", uid, gid) != 2) die_err(EINVAL, "expected -u UID:GID, got %s", v);
  override_entry(SPEC_UID, uid);
  override_entry(SPEC_GID, gid);
}

/* "-E FD": NUL-terminated K=V entries read from FD until EOF, so values never show on a command line */
static char *read_env_fd(const char *v, size_t *len) {
  int fd = atoi(v);
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap + 1);
  for (;;) {
    if (n == cap) buf = realloc(buf, (cap *= 2) + 1);
    ssize_t got = read(fd, buf + n, cap - n);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) die("read environment from fd %d", fd);
    if (got == 0) break;
    n += (size_t)got;
  }
  close(fd);
  buf[n] = 0;
  *len = n;
  return buf;
}

/* parse "[-e K=V]... [-E FD] [-u UID:GID] [-w DIR] -- CMD [ARG...]"; the config's environment, then extra values on top */
static void parse_exec_args(char **args, int nargs, struct exec_req *r) {
  char *fdenv = NULL;
  size_t fdlen = 0;
  for (int k = 1; k + 1 < nargs && strcmp(args[k], "--") != 0; k++)
    if (strcmp(args[k], "-E") == 0) fdenv = read_env_fd(args[k + 1], &fdlen);
  size_t nfd = 0;
  for (size_t k = 0; k < fdlen; k++) nfd += fdenv[k] == 0;
  char **extra_env = calloc((size_t)nargs + nfd + 2, sizeof(char *));
  int ne = 0, i = 1;
  for (size_t k = 0; k < fdlen; k += strlen(fdenv + k) + 1)
    if (fdenv[k]) extra_env[ne++] = fdenv + k;
  const char *wd = NULL;
  for (; i < nargs; i++) {
    if (strcmp(args[i], "--") == 0) {
      i++;
      break;
    }
    if (strcmp(args[i], "-e") == 0 && i + 1 < nargs) extra_env[ne++] = args[++i];
    else if (strcmp(args[i], "-E") == 0 && i + 1 < nargs) i++; /* read above */
    else if (strcmp(args[i], "-u") == 0 && i + 1 < nargs) exec_user(args[++i]);
    else if (strcmp(args[i], "-w") == 0 && i + 1 < nargs) wd = args[++i];
    else if (strcmp(args[i], "-t") == 0) r->tty = 1;
    else if (strcmp(args[i], "-S") == 0 && i + 1 < nargs) pty_size_fd = open(args[++i], O_RDONLY | O_CLOEXEC);
    else if (strcmp(args[i], "-i") == 0) r->interactive = 1;
    else die_err(EINVAL, "unknown exec option %s", args[i]);
  }
  r->argv = args + i;
  if (!r->argv[0]) die_err(EINVAL, "exec needs a command");
  r->cwd = wd ? wd : spec_get(SPEC_CWD);
  char **base = env_vec();
  int nb = 0;
  while (base[nb]) nb++;
  r->envp = calloc((size_t)(nb + ne + 1), sizeof(char *));
  int m = 0;
  for (int b = 0; b < nb; b++) {
    size_t kl = strcspn(base[b], "=");
    int overridden = 0;
    for (int x = 0; x < ne; x++)
      if (strncmp(extra_env[x], base[b], kl) == 0 && extra_env[x][kl] == '=') overridden = 1;
    if (!overridden) r->envp[m++] = base[b];
  }
  for (int x = 0; x < ne; x++) r->envp[m++] = extra_env[x];
}

/* in the forked child, inside the container's namespaces: join its cgroups, then become its process */
static void exec_child(const struct exec_req *r, const int *cgfds, int ncg, int errw, int slave) {
  report_fd = errw;
  if (slave >= 0) setsid(), pty_take(slave); /* its own session, the terminal its controlling one */
  else if (!r->interactive) {
    int nul = open("/dev/null", O_RDONLY);
    if (nul < 0 || dup2(nul, 0) < 0) die("stdin");
    close(nul);
  }
  for (int k = 0; k < ncg; k++)
    if (write(cgfds[k], "0", 1) != 1) die("join cgroup");
  if ((isolation == ISO_STRICT || rootless()) && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)) die("become container root");
  if (prctl(PR_SET_DUMPABLE, 0) < 0) die("not dumpable");
  /*
   * A session of its own, so no controlling terminal: the caller's terminal may still be its stdio,
   * but without CAP_SYS_ADMIN it cannot push input into it (TIOCSTI), take it over (TIOCSCTTY) or
   * signal the caller's foreground jobs through it. An interactive exec has a pty of its own (exec -t).
   */
  if (slave < 0 && setsid() < 0) die("setsid"); /* with -t, pty_take made the session already */
  apply_rlimits();
  /* only stdio and the exec-error pipe cross into the container */
  int x = fcntl(errw, F_DUPFD_CLOEXEC, 3);
  if (x != 3 && (dup2(errw, 3) < 0 || fcntl(3, F_SETFD, FD_CLOEXEC) < 0)) die("exec error pipe");
  close_fds_from(4);
  report_fd = 3;
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  become_and_exec(r->argv, r->envp, r->cwd, 3);
}

/*
 * wait for the exec'd command, forwarding SIGTERM, SIGINT and SIGHUP (SIGUSR2 becomes SIGKILL); its exit
 * code as a shell gives it. Signals go to the command's process group (it is a session leader), so a
 * timeout also ends what it started in the background (`sleep 1 & sleep 2`), which would otherwise hold
 * the caller's pipes open
 */
static int wait_exec(pid_t child, int errr, int master, const sigset_t *mask) {
  struct launch_error le;
  memset(&le, 0, sizeof le);
  ssize_t n;
  while ((n = read(errr, &le, sizeof le)) < 0 && errno == EINTR) {
  }
  if (n > 0) {
    le.msg[sizeof le.msg - 1] = 0;
    fprintf(stderr, "codex32: %s\n", le.msg);
    waitpid(child, NULL, 0);
    return le.stage ? 125 : le.err == ENOENT ? 127 : 126;
  }
  int status = 0;
  if (master >= 0) status = pty_relay(master, child, mask);
  for (; master < 0;) {
    siginfo_t si;
    int sig = sigwaitinfo(mask, &si);
    if (sig == SIGCHLD) {
      if (waitpid(child, &status, WNOHANG) == child) break;
    } else if (sig == SIGUSR2) kill(-child, SIGKILL); /* the caller's timeout ran out: no grace left */
    else if (sig > 0) kill(-child, sig);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int exec_main(char **args, int nargs) {
  if (nargs < 1) die_err(EINVAL, "usage: exec RUNDIR [-e K=V]... [-E FD] [-u UID:GID] [-w DIR] [-t] [-i] -- CMD [ARG...]");
  const char *dir = args[0];
  load_container(dir);
  char **filters = spec_all(SPEC_SECCOMP); /* read on the host now: the container's root cannot see them */
  char serr[256];
  if (seccomp_prepare(filters, serr, sizeof serr) < 0) die_err(0, "%s", serr); /* serr names the cause */
  free(filters);
  struct exec_req r = {0};
  parse_exec_args(args, nargs, &r);
  /* cgroup files are host paths: open them before entering the container's mount namespace */
  cgroups = spec_all(SPEC_CGROUP);
  int ncg = 0;
  while (cgroups[ncg]) ncg++;
  int *cgfds = calloc((size_t)ncg + 1, sizeof *cgfds); /* every one of them: a cgroup skipped would not hold the command */
  if (!cgfds) die("exec: memory for %d cgroups", ncg);
  for (int k = 0; k < ncg; k++)
    if ((cgfds[k] = cgroup_join_open(cgroups[k])) < 0) die("open cgroup %s", cgroups[k]);
  /* a strict user namespace denies setgroups: drop ours before joining it */
  if (isolation == ISO_STRICT && !rootless() && setgroups(0, NULL) < 0) die("setgroups");
  /* the command inherits the helper's OOM score, set while the helper is still root of the host */
  const char *oom = spec_get(SPEC_OOM_SCORE_ADJ);
  if (oom && write_file("/proc/self/oom_score_adj", oom) < 0) die("oom_score_adj %s", oom);
  if (!join_running(dir, 1)) die_err(ESRCH, "container is not running");
  /* block the signals we wait for before forking, so an early exit cannot be missed */
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  sigaddset(&mask, SIGUSR2);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  int errp[2], master = -1, slave = -1;
  if (pipe2(errp, O_CLOEXEC) < 0) die("pipe");
  /* opened here, inside the container's mount namespace: its own devpts names the terminal */
  if (r.tty && pty_open(&master, &slave) < 0) die("open a terminal");
  pid_t child = fork(); /* a fork is needed to be inside the pid namespace */
  if (child < 0) die("fork");
  if (child == 0) {
    close(errp[0]);
    if (master >= 0) close(master);
    exec_child(&r, cgfds, ncg, errp[1], slave);
  }
  if (slave >= 0) close(slave);
  for (int k = 0; k < ncg; k++) close(cgfds[k]);
  close(errp[1]);
  return wait_exec(child, errp[0], master, &mask);
}
