/*
 * supervise: the event loop of "codex32-shim run". One poll over a signalfd, timerfds and the
 * container's two output pipes: start runs, capture logs, carry out stop requests, restart by
 * policy with backoff, run health checks, enforce the maximum runtime and the CPU duty cycle.
 */
#define _GNU_SOURCE
#include "supervise.h"
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "attach.h"
#include "cgroup.h"
#include "container.h"
#include "contract.h"
#include "health.h"
#include "keep.h"
#include "logcopy.h"
#include "log.h"
#include "pty.h"
#include "record.h"
#include "restart.h"
#include "seccomp.h"
#include "spec.h"
#include "throttle.h"
#include "userns.h"
#include "util.h"

/* the loop's descriptors and settings; the run being supervised is in record.h */
struct loop {
  int sfd, grace_t, backoff_t, timeout_t, health_t, health_to_t;
  struct throttle_fds throttle;
  long long backoff_initial, backoff_max, backoff_reset, timeout_ms;
  long long health_interval, health_timeout;
  long long backoff, oom_before;
  int running, waiting_backoff, runs_started;
};

enum { LOOP_GO_ON = 0, LOOP_DONE = 1 };

static int restart_by_engine; /* a watch restart ends the supervisor: restart_arg starts the container afresh */


static int timer(void) {
  int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  if (fd < 0) die("timerfd_create");
  return fd;
}

static void loop_init(struct loop *l) {
  memset(l, 0, sizeof *l);
  sigset_t mask;
  sigemptyset(&mask);
  int sigs[] = {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGPIPE};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaddset(&mask, sigs[i]);
  if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) die("block signals");
  if ((l->sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) die("signalfd");
  l->grace_t = timer();
  l->backoff_t = timer();
  l->timeout_t = timer();
  l->health_t = timer();
  l->health_to_t = timer();
  l->throttle = throttle_init();
  /* without it, a double-forked process of the container would escape the kill path */
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) die("become child subreaper");
  l->backoff_initial = spec_num(SPEC_BACKOFF_INITIAL_MS, 100);
  l->backoff_max = spec_num(SPEC_BACKOFF_MAX_MS, 30000);
  l->backoff_reset = spec_num(SPEC_BACKOFF_RESET_MS, 10000);
  l->timeout_ms = spec_num(SPEC_TIMEOUT_MS, 0);
  l->health_interval = spec_get(SPEC_HEALTH_ARG) ? spec_num(SPEC_HEALTH_INTERVAL_MS, 30000) : 0;
  l->health_timeout = spec_num(SPEC_HEALTH_TIMEOUT_MS, 10000);
  keep_init();
}

/* start a run and answer the engine's start call with its outcome */
static void begin_run(struct loop *l) {
  struct run_io io;
  l->oom_before = oom_count();
  start_run(&io);
  int errfd = io.errpipe;
  /* with a terminal, the command's output is its master, sent by the container before exec */
  int master = io.pty_sock >= 0 ? fd_recv(io.pty_sock) : -1;
  if (io.pty_sock >= 0) close(io.pty_sock);
  if (master >= 0) close(io.out), io.out = master;
  attach_set_run(master >= 0 ? dup(master) : io.input, master >= 0);
  struct launch_error le;
  memset(&le, 0, sizeof le);
  ssize_t n;
  while ((n = read(errfd, &le, sizeof le)) < 0 && errno == EINTR) {
  }
  close(errfd);
  out_s.fd = io.out;
  err_s.fd = io.err;
  /* a larger pipe means fewer wake-ups for a chatty bot; refused past pipe-max-size or the user's
     pipe quota, where the default size only costs more wake-ups */
  (void)fcntl(out_s.fd, F_SETPIPE_SZ, 1024 * 1024);
  (void)fcntl(err_s.fd, F_SETPIPE_SZ, 1024 * 1024);
  if (fcntl(out_s.fd, F_SETFL, O_NONBLOCK) < 0 || fcntl(err_s.fd, F_SETFL, O_NONBLOCK) < 0) die("output pipes non-blocking");
  l->running = 1;
  if (n > 0) { /* set-up or exec failed: report it and do not restart what cannot run */
    int code = le.stage ? 125 : le.err == ENOENT ? 127 : 126;
    le.msg[sizeof le.msg - 1] = 0;
    log_stamp();
    log_write("stderr", 'F', le.msg, strlen(le.msg));
    log_flush();
    sync_reply("err %d %d %s\n", code, le.err, le.msg);
    stopping = 1;
    stop_reason = le.stage ? "setup-failed" : le.err == ENOENT ? "not-found" : "not-executable";
    return;
  }
  if (l->health_interval) {
    set_health("starting");
    health_streak = 0;
    arm(l->health_t, l->health_interval);
  }
  /* recorded before the engine hears "ok": a copy or exec the caller sends as soon as start returns
     must find the container running, not assemble a private root whose /tmp is thrown away */
  write_state("running");
  sync_reply("ok %d %llu\n", child_pid, child_start);
  /* the maximum runtime counts from the first start, not from each restart */
  if (l->timeout_ms > 0 && l->runs_started++ == 0) arm(l->timeout_t, l->timeout_ms);
}

/* what the engine asks for in RUNDIR/stop-request: "SIGNAL GRACE_MS REASON [main|group]" */
struct stop_request {
  int sig;
  long long grace; /* ms before SIGKILL to everything; -1: never (a kill) */
  char reason[64];
  int group; /* signal every process, not only the main one */
};

static void read_stop_request(struct stop_request *r) {
  char path[PATH_MAX], scope[16] = "main";
  snprintf(path, sizeof path, "%s/" RUN_STOP_REQUEST, rundir);
  char *s = read_file(path, NULL);
  r->sig = (int)spec_num(SPEC_STOP_SIGNAL, SIGTERM);
  r->grace = spec_num(SPEC_STOP_TIMEOUT_MS, 10000);
  snprintf(r->reason, sizeof r->reason, "stopped");
  if (s) {
    sscanf(s, "%d %lld %63s %15s", &r->sig, &r->grace, r->reason, scope);
    free(s);
  }
  r->group = strcmp(scope, "group") == 0;
}

/* the stop signal, once, then SIGKILL to everything when the grace period ends */
static void stop_container(struct loop *l, int sig, int group, long long grace) {
  throttle_resume(); /* a tree stopped by the CPU duty cycle must see the signal */
  signal_container(sig, group);
  if (grace >= 0) arm(l->grace_t, grace > 0 ? grace : 1);
}

/* a stop or kill request from the engine */
static int on_stop_request(struct loop *l) {
  struct stop_request r;
  read_stop_request(&r);
  stopping = 1;
  restart_by_engine = 0; /* a stop during a watch restart wins: nothing starts it again */
  stop_reason = strcmp(r.reason, "killed") == 0 ? "killed" : "stopped";
  if (!l->running) { /* in backoff: nothing to signal */
    write_state("exited");
    return LOOP_DONE;
  }
  write_state("stopping");
  stop_container(l, r.sig, r.group, r.grace);
  return LOOP_GO_ON;
}

/* the main process is gone: read what is left of its output, for at most two seconds */
static void drain_streams(void) {
  int64_t end = now_ms() + 2000;
  while ((out_s.fd >= 0 || err_s.fd >= 0) && now_ms() < end) {
    struct pollfd d[2];
    int nd = 0;
    if (out_s.fd >= 0) d[nd++] = (struct pollfd){out_s.fd, POLLIN, 0};
    if (err_s.fd >= 0) d[nd++] = (struct pollfd){err_s.fd, POLLIN, 0};
    if (poll(d, (nfds_t)nd, 100) <= 0) {
      kill_container();
      continue;
    }
    for (int k = 0; k < nd; k++)
      if (d[k].revents) stream_pump(d[k].fd == out_s.fd ? &out_s : &err_s);
  }
  if (out_s.fd >= 0) close(out_s.fd), out_s.fd = -1;
  if (err_s.fd >= 0) close(err_s.fd), err_s.fd = -1;
}

/* the container's main process exited with status st: record it, then restart or finish */
static int on_main_exit(struct loop *l, int st) {
  int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  int sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
  /* nothing else of the container may outlive its main process */
  kill_container();
  net_helper_stop(); /* pasta, rootless: it would hold the published ports past the run */
  drain_streams();
  attach_run_ended();
  int est;
  pid_t ep;
  while ((ep = waitpid(-1, &est, WNOHANG)) > 0) (void)keep_reaped(ep, est); /* the refill's status is kept */
  int oom = oom_count() > l->oom_before;
  /* a restart the supervisor asked for (unhealthy, memory, cron, watch) is recorded with its reason */
  int forced = force_restart && !stopping;
  const char *reason = stopping || forced ? stop_reason : oom ? "oom" : sig ? "signal" : code ? "failed" : "completed";
  if (oom && !stopping) code = 137;
  l->running = 0;
  arm(l->grace_t, 0);
  arm(l->health_t, 0);
  if (!restart_wanted(code, sig)) {
    append_exit(code, sig, oom, reason);
    arm(l->timeout_t, 0);
    write_state("exited");
    return LOOP_DONE;
  }
  int64_t lasted = now_ms() - run_started_ms;
  /* a restart asked for is no failure: it waits the first delay, never a doubled one */
  l->backoff = (forced || lasted >= l->backoff_reset || l->backoff == 0) ? l->backoff_initial : l->backoff * 2;
  if (l->backoff > l->backoff_max) l->backoff = l->backoff_max;
  restarts++;
  l->waiting_backoff = 1;
  /* the decision is on record before the exit: killed between the two, the state says a restart was
     due (the engine restarts it), where an exit followed by a running state would read as the end */
  write_state("restarting");
  append_exit(code, sig, oom, reason);
  arm(l->backoff_t, l->backoff);
  return LOOP_GO_ON;
}

/* a health check process ended with status st */
static void on_health_exit(struct loop *l, int st) {
  arm(l->health_to_t, 0);
  if (health_started == -2) {
    health_discard();
    return;
  }
  int hc = health_started < 0 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  if (health_done(hc) && l->running && !stopping) {
    /* unhealthy with restart requested: end this run; the exit path restarts it */
    force_restart = 1;
    stop_reason = "unhealthy";
    kill_container();
  }
  write_state(l->running ? "running" : "restarting");
}

/* a restart a bot file promises (memory, cron, watch): the stop signal once, SIGKILL after the stop
   timeout, then the exit path starts the next run, whatever the policy */
static void graceful_restart(struct loop *l, const char *reason) {
  /* changed code in a container that runs a copy of it: only the engine's start copies it afresh */
  char **by_engine = spec_all(SPEC_RESTART_ARG);
  if (by_engine[0] && strcmp(reason, "watch-restart") == 0) restart_by_engine = stopping = 1;
  else force_restart = 1;
  free(by_engine);
  stop_reason = reason;
  stop_container(l, (int)spec_num(SPEC_STOP_SIGNAL, SIGTERM), 0, spec_num(SPEC_STOP_TIMEOUT_MS, 10000));
}

static int on_signals(struct loop *l) {
  struct signalfd_siginfo si;
  while (read(l->sfd, &si, sizeof si) == sizeof si) {
    if (si.ssi_signo == SIGPIPE) continue;
    if (si.ssi_signo != SIGCHLD) {
      if (on_stop_request(l) == LOOP_DONE) return LOOP_DONE;
      continue;
    }
    int st;
    pid_t p;
    while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
      if (p == health_pid) on_health_exit(l, st);
      else if (p == child_pid && on_main_exit(l, st) == LOOP_DONE) return LOOP_DONE;
      else if (keep_reaped(p, st)) continue;
      /* any other pid is an orphan we adopted as subreaper */
    }
  }
  return LOOP_GO_ON;
}

/* true when timer fd fired (its expiry count is consumed) */
static int fired(const struct pollfd *p) {
  uint64_t ticks;
  return p->revents && read(p->fd, &ticks, sizeof ticks) > 0;
}

/* the timers, in pfd order: grace, backoff, timeout, health, health timeout, throttle, resume */
static void on_timers(struct loop *l, const struct pollfd *pfd) {
  if (fired(&pfd[0]) && l->running) kill_container();
  if (fired(&pfd[2]) && l->running && !stopping) {
    stopping = 1;
    stop_reason = "timeout";
    write_state("stopping");
    stop_container(l, (int)spec_num(SPEC_STOP_SIGNAL, SIGTERM), 0, spec_num(SPEC_STOP_TIMEOUT_MS, 10000));
  }
  if (fired(&pfd[1])) l->waiting_backoff = 0;
  if (fired(&pfd[3])) {
    /* a paused container's check would join its frozen cgroup and time out: none runs until unpause, as docker */
    if (l->running && !stopping && !health_pid && !cgroup_frozen()) {
      health_start();
      arm(l->health_to_t, l->health_timeout);
    }
    if (l->running && !stopping) arm(l->health_t, l->health_interval);
  }
  if (fired(&pfd[5]) && l->running) throttle_tick();
  if (fired(&pfd[6])) throttle_resume();
  if (fired(&pfd[4]) && health_pid) {
    kill(health_pid, SIGKILL); /* reaped with the other children; counted as a failure there */
    /* unless the container was paused while it ran: the freeze, not the container, made it late */
    health_started = cgroup_frozen() ? -2 : -1;
  }
}

static int supervise(void) {
  struct loop l;
  loop_init(&l);
  for (;;) {
    if (!l.running && !l.waiting_backoff) begin_run(&l);
    struct pollfd pfd[24];
    int np = 0;
    int timers[] = {l.grace_t, l.backoff_t, l.timeout_t, l.health_t, l.health_to_t, l.throttle.tick, l.throttle.resume};
    for (size_t i = 0; i < sizeof timers / sizeof timers[0]; i++) pfd[np++] = (struct pollfd){timers[i], POLLIN, 0};
    int sig_i = np;
    pfd[np++] = (struct pollfd){l.sfd, POLLIN, 0};
    int keep_base = np, nk = keep_pollfds(pfd + np, 4);
    np += nk;
    int io_base = np;
    /* an attached client still taking earlier output holds the container's output back */
    int held = attach_backlogged();
    if (out_s.fd >= 0 && !held) pfd[np++] = (struct pollfd){out_s.fd, POLLIN, 0};
    if (err_s.fd >= 0 && !held) pfd[np++] = (struct pollfd){err_s.fd, POLLIN, 0};
    int attach_base = np, na = attach_pollfds(pfd + np, 24 - np);
    np += na;
    if (poll(pfd, (nfds_t)np, held ? 500 : -1) < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    for (int i = io_base; i < attach_base; i++)
      if (pfd[i].revents) stream_pump(pfd[i].fd == out_s.fd ? &out_s : &err_s);
    attach_handle(pfd + attach_base, na);
    on_timers(&l, pfd);
    const char *due = keep_due(pfd + keep_base, nk, l.running && !stopping && !force_restart);
    if (due) graceful_restart(&l, due);
    if (pfd[sig_i].revents && on_signals(&l) == LOOP_DONE) return 0;
  }
}

/* the spec's exit command (exit_arg entries), started detached once the container has exited for good:
   the engine's `rm` of it for run -d --rm, as podman's conmon runs its exit command; or, after a watch
   restart handed to the engine, its restart command (restart_arg) */
static void exit_command(void) {
  char **argv = spec_all(restart_by_engine ? SPEC_RESTART_ARG : SPEC_EXIT_ARG);
  if (argv[0] && spawn_detached(argv, 0) < 0) fprintf(stderr, "codex32-shim: fork for %s: %s\n", argv[0], strerror(errno));
  free(argv);
}

int run_main(char **args, int n) {
  if (n != 1) die_err(EINVAL, "usage: run RUNDIR");
  if (fcntl(3, F_GETFD) >= 0) {
    sync_fd = 3;
    fcntl(3, F_SETFD, FD_CLOEXEC);
  }
  /* launched held (launcher.c): the engine is still preparing the run; one byte on fd 3 says go,
     its end says the start was abandoned, and nothing of RUNDIR has been touched */
  if (getenv("CODEX32_HELD")) {
    unsetenv("CODEX32_HELD");
    char go;
    ssize_t r;
    while ((r = read(sync_fd, &go, 1)) < 0 && errno == EINTR) {
    }
    if (r != 1) return 0;
  }
  close_fds_from(4);
  /* the supervisor's own errors go to RUNDIR/shim.err from here on, a refused spec's included */
  char errlog[PATH_MAX];
  snprintf(errlog, sizeof errlog, "%s/" RUN_SHIM_ERR, args[0]);
  int ef = open(errlog, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (ef >= 0 && ef != 2 && (dup2(ef, 2) < 0 || close(ef) < 0)) ef = -1;
  load_container(args[0]);
  net_join();
  char **filters = spec_all(SPEC_SECCOMP); /* read on the host now: the container's root cannot see them */
  char serr[256];
  if (seccomp_prepare(filters, serr, sizeof serr) < 0) die_err(0, "%s", serr); /* serr names the cause */
  free(filters);
  run_no = (int)spec_num(SPEC_RUN_BASE, 0);
  cgroups = spec_all(SPEC_CGROUP);
  const char *log_path = spec_get(SPEC_LOG);
  if (!log_path) die_err(EINVAL, "spec has no log path");
  /* stdin and stdout of the supervisor itself go nowhere: it lives detached; stderr is RUNDIR/shim.err
     (above), set before the log is opened, so a log that cannot be is said there */
  int devnull = open("/dev/null", O_RDWR);
  if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0) die("/dev/null as stdin and stdout");
  if (ef < 0 && dup2(devnull, 2) < 0) die("/dev/null as stderr");
  if (devnull > 2) close(devnull);
  log_init(log_path, spec_num(SPEC_LOG_MAX_SIZE, 0), (int)spec_num(SPEC_LOG_MAX_FILES, 1));
  copy_init();
  attach_init();
  int code = supervise();
  attach_shutdown();
  exit_command();
  return code;
}
