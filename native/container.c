/*
 * container: one run of the container. The supervisor clones the first process into its
 * namespaces, has it join its cgroups, sets its user mapping, then releases it through a pipe; that
 * process builds the root and becomes pid 1 (standard, strict) or execs the command (minimal).
 * The steps of a run, in order: start_run (supervisor side), child_enter and child_main (inside),
 * become_and_exec. Under cgroup v1 the process joins its cgroups itself, before its release.
 */
#define _GNU_SOURCE
#include "container.h"

#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "caps.h"
#include "contract.h"
#include "pty.h"
#include "cgroup.h"
#include "record.h"
#include "sandbox.h"
#include "spec.h"
#include "userns.h"
#include "util.h"

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

/* tty: open the container's terminal, hand its master to the supervisor; returns the slave */
static int open_terminal(int psock) {
  int master, slave;
  if (pty_open(&master, &slave) < 0) die("open a terminal");
  pty_resize(master, 24, 80); /* until a client says its size */
  if (fd_send(psock, master) < 0) die("pass the terminal to the supervisor");
  close(master);
  close(psock);
  return slave;
}

/* in the new child: wait for the supervisor's go, build the container, exec the command */
static void child_main(int gofd, int errpipe, int psock, char **argv) {
  char go;
  if (read(gofd, &go, 1) != 1) _exit(125); /* supervisor died before releasing us */
  close(gofd);
  report_fd = errpipe;
  char **envp = env_vec();
  const char *cwd = spec_get(SPEC_CWD);
  if (isolation == 0) {
    setsid();
    if (psock >= 0) pty_take(open_terminal(psock));
    apply_rlimits();
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    become_and_exec(argv, envp, cwd, errpipe);
  }
  /* standard and strict: we are pid 1 of a fresh pid namespace */
  if (setsid() < 0) die("setsid");
  /* rootless standard has a user namespace too, whose root is the user */
  if (isolation == 2 || rootless())
    if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) die("become container root");
  if (isolation == 2) {
    /*
     * No nested user namespaces: the limit is per user namespace, written here with the container
     * root's CAP_SYS_RESOURCE, which its processes never hold; mount and network namespaces need
     * CAP_SYS_ADMIN, so without a nested user namespace none can be made either.
     */
    if (write_file("/proc/sys/user/max_user_namespaces", "0") < 0) die("cap nested user namespaces");
  }
  const char *hn = spec_get(SPEC_HOSTNAME);
  if (hn && sethostname(hn, strlen(hn)) < 0) die("sethostname");
  if (spec_num(SPEC_NETNS, 0)) loopback_up();
  setup_rootfs(spec_get(SPEC_NEWROOT));
  if (prctl(PR_SET_DUMPABLE, 0) < 0) die("not dumpable"); /* /proc/1 of the container stays closed to it */
  int slave = psock >= 0 ? open_terminal(psock) : -1;
  pid_t cmd = fork();
  if (cmd < 0) die("fork");
  if (cmd == 0) {
    /* with a terminal the command leads its own session, the terminal its controlling one */
    if (slave >= 0) setsid(), pty_take(slave);
    else setpgid(0, 0);
    apply_rlimits();
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    become_and_exec(argv, envp, cwd, errpipe);
  }
  close(errpipe);
  if (slave >= 0) close(slave); /* the terminal reports end of file once the command's copies are gone */
  restrict_caps((1ULL << CAP_KILL));
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) die("no_new_privs for the container's init");
  _exit(container_init(cmd));
}

static unsigned long ns_flags(void) {
  if (isolation == 0) return 0;
  unsigned long f = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS;
  if (spec_num(SPEC_NETNS, 0)) f |= CLONE_NEWNET;
  if (isolation == 2 || rootless()) f |= CLONE_NEWUSER;
  return f;
}

/* close every descriptor from 3 up but the n in keep */
static void close_except(const int *keep, int n) {
  int hi = 2;
  for (int i = 0; i < n; i++)
    if (keep[i] > hi) hi = keep[i];
  for (int fd = 3; fd < hi; fd++) {
    int kept = 0;
    for (int i = 0; i < n; i++) kept |= keep[i] == fd;
    if (!kept) close(fd);
  }
  close_fds_from(hi + 1);
}

/*
 * The files the child joins its cgroups through, itself (cgroup_join_open: cheaper than being
 * placed), or -1 where the supervisor places it: at strict, whose child is in a user namespace
 * without a mapping yet, and past MAX_CGROUPS.
 */
#define MAX_CGROUPS 16
static int self_join[MAX_CGROUPS];

static void open_self_join(void) {
  int i = 0;
  for (char **cg = cgroups; isolation != ISO_STRICT && cg && *cg && i < MAX_CGROUPS; cg++, i++)
    if ((self_join[i] = cgroup_join_open(*cg)) < 0) die("open cgroup %s", *cg);
  for (; i < MAX_CGROUPS; i++) self_join[i] = -1;
}

static void close_self_join(void) {
  for (int i = 0; i < MAX_CGROUPS; i++)
    if (self_join[i] >= 0) close(self_join[i]), self_join[i] = -1;
}

/* in the clone: only stdio and our private pipes survive, nothing the caller held leaks in */
static void child_enter(const int gop[2], const int errp[2], const int o[2], const int e[2], const int in[2], const int ps[2], char **argv) {
  report_fd = errp[1]; /* a failure from here on is the start's error, not an exit code */
  for (int i = 0; i < MAX_CGROUPS; i++)
    if (self_join[i] >= 0 && write(self_join[i], "0", 1) != 1) die("join cgroup %s", cgroups[i]);
  close_self_join();
  close(gop[1]);
  close(errp[0]);
  close(o[0]);
  close(e[0]);
  if (ps[0] >= 0) close(ps[0]);
  if (in[1] >= 0) close(in[1]);
  int devnull = in[0] >= 0 ? -1 : open("/dev/null", O_RDONLY);
  if (in[0] < 0 && devnull < 0) die("open /dev/null");
  /* stdin_open: the pipe the supervisor feeds from attached clients */
  if (dup2(in[0] >= 0 ? in[0] : devnull, 0) < 0 || dup2(o[1], 1) < 0 || dup2(e[1], 2) < 0) die("the container's stdio");
  int keep[4] = {fcntl(gop[0], F_DUPFD_CLOEXEC, 3), fcntl(errp[1], F_DUPFD_CLOEXEC, 3), ps[1] >= 0 ? fcntl(ps[1], F_DUPFD_CLOEXEC, 3) : -1,
                 premade_root >= 0 ? fcntl(premade_root, F_DUPFD_CLOEXEC, 3) : -1};
  close_except(keep, 4);
  premade_root = keep[3]; /* the idmapped root the supervisor made, moved into place by setup_rootfs */
  child_main(keep[0], keep[1], keep[2], argv);
  _exit(125);
}

/* place the new process in the cgroups it did not join itself, and its user mapping, before it runs a
   single instruction of its own */
static void place_child(pid_t pid) {
  for (char **cg = cgroups; cg && *cg; cg++) {
    if (cg - cgroups < MAX_CGROUPS && self_join[cg - cgroups] >= 0) continue; /* it joined itself */
    char path[PATH_MAX], num[32];
    snprintf(path, sizeof path, "%s/cgroup.procs", *cg);
    snprintf(num, sizeof num, "%d", pid);
    if (write_file(path, num) < 0) die("join cgroup %s", *cg);
  }
  if (rootless()) {
    rootless_map(pid);
    net_helper_start(pid); /* pasta joins the namespaces once they are mapped */
  } else if (isolation == ISO_STRICT) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/uid_map", pid);
    if (write_file(path, spec_get(SPEC_UID_MAP)) < 0) die("uid_map");
    snprintf(path, sizeof path, "/proc/%d/setgroups", pid);
    write_file(path, "deny");
    snprintf(path, sizeof path, "/proc/%d/gid_map", pid);
    if (write_file(path, spec_get(SPEC_GID_MAP)) < 0) die("gid_map");
  }
}

void start_run(struct run_io *io) {
  int gop[2], errp[2], o[2], e[2], in[2] = {-1, -1}, ps[2] = {-1, -1};
  if (pipe2(gop, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 || pipe2(o, O_CLOEXEC) < 0 ||
      pipe2(e, O_CLOEXEC) < 0)
    die("pipe");
  int tty = (int)spec_num(SPEC_TTY, 0);
  if (tty && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ps) < 0) die("socketpair");
  if (!tty && spec_num(SPEC_STDIN_OPEN, 0) && pipe2(in, O_CLOEXEC) < 0) die("pipe");
  char **argv = spec_all(SPEC_ARG);
  /* a strict user namespace denies setgroups: drop the supervisor's groups before they are inherited */
  if (isolation == ISO_STRICT && !rootless() && setgroups(0, NULL) < 0) die("setgroups");
  open_self_join();
  /* the OOM score is inherited: set ours for the clone, then take ours back (as host root: a strict child
     could not lower its own, and its /proc entry is closed to us until its user mapping is written) */
  const char *oom = spec_get(SPEC_OOM_SCORE_ADJ);
  char own_oom[16] = "0";
  if (oom) {
    char *cur = read_file("/proc/self/oom_score_adj", NULL);
    if (!cur) die("read oom_score_adj");
    snprintf(own_oom, sizeof own_oom, "%.*s", (int)strcspn(cur, "\n"), cur);
    free(cur);
    if (write_file("/proc/self/oom_score_adj", oom) < 0) die("oom_score_adj %s", oom);
  }
  /* idmapped layers need the initial user namespace's CAP_SYS_ADMIN: made here, moved into place by the child */
  if (isolation == ISO_STRICT && !rootless()) premake_root();
  pid_t pid = (pid_t)syscall(SYS_clone, SIGCHLD | ns_flags(), 0, 0, 0, 0);
  if (pid < 0) die("clone");
  if (pid > 0 && premade_root >= 0) {
    close(premade_root);
    premade_root = -1;
  }
  if (pid > 0 && oom && write_file("/proc/self/oom_score_adj", own_oom) < 0) die("oom_score_adj back to %s", own_oom);
  if (pid == 0) child_enter(gop, errp, o, e, in, ps, argv);
  free(argv);
  close(gop[0]);
  close(errp[1]);
  close(o[1]);
  close(e[1]);
  if (in[0] >= 0) close(in[0]);
  if (ps[1] >= 0) close(ps[1]);
  child_pid = pid;
  child_start = proc_starttime(pid);
  run_started_ms = now_ms();
  run_no++;
  place_child(pid);
  close_self_join();
  /* the run is on record before its command can do anything: a supervisor killed from here on leaves
     a state naming this run, which the engine records as cut short instead of losing it */
  write_state("running");
  if (write(gop[1], "g", 1) != 1) die("release child");
  close(gop[1]);
  *io = (struct run_io){o[0], e[0], errp[0], in[1], ps[0]};
}
