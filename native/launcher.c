/*
 * launcher: "codex32-shim launcher", a small fork server for long-lived engines (the library, the
 * service, the Docker API). Forking a Node process with a large heap costs milliseconds in page
 * tables and copy-on-write faults, and the shim then re-execs itself from a read-only view of its
 * binary (selfexe.c). This process runs from that view already and posix_spawns each shim from
 * /proc/self/exe, so a launch is one vfork-style clone and one exec.
 *
 * Protocol, one line each way per event (stdin from the engine, stdout to it):
 * Started as "codex32-shim launcher NAME [SOCKET]": NAME is the argv[0] each shim gets (the engine finds
 * shims by their command line); SOCKET the engine's stdio server for the commands it spawns through
 * here ("ID S ..." and "ID K ...", see spawncmd.c).
 *   in:  "ID RUNDIR"     launch `codex32-shim run RUNDIR` in its own session
 *        "ID H RUNDIR"   launch it held: it execs and waits before reading anything of RUNDIR, so
 *                        the engine can prepare the run (cgroups, network, spec) while it starts
 *        "ID G"          release a held shim; "ID C": cancel it (it exits having done nothing)
 *   out: "ID P PID START" spawned, with its start time (read here, before it can be reaped: a shim
 *                        whose command ends at once may be gone by the time the engine reads the line);
 *                        "ID X ERRNO" when the spawn failed
 *        "ID L TEXT"     a line the shim reported on its fd 3 (attach, ok ..., err ...)
 *        "ID E"          the shim closed fd 3: its start report is complete
 * The launcher reaps the shims it spawned while it lives, and exits when its stdin closes (cancelling
 * the shims still held: nobody is left to release them); the shims run on, as they do when the engine that spawned them directly exits.
 * Commands the engine waits for keep it until they end, so their ends are reported to an engine that
 * closed it but lives on; an engine that is gone (its end of stdout closed) ends it at once.
 */
#define _GNU_SOURCE
#include "launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawncmd.h"
#include "util.h"

extern char **environ;

#define MAX_PENDING 256

/* a shim whose start report is still being read */
struct pending {
  long id;
  int fd;
  int held; /* waiting for G or C on its report socket */
  size_t len;
  char buf[512];
};

static struct pending pend[MAX_PENDING];
static int npend;
static const char *self_name; /* argv[0] of the shims: the name the engine looks for in /proc */
static char **held_env;       /* our environment and CODEX32_HELD=1: a held shim's */

/* environ with CODEX32_HELD=1 added, made once */
static char **held_environ(void) {
  if (held_env) return held_env;
  size_t n = 0;
  while (environ[n]) n++;
  held_env = calloc(n + 2, sizeof *held_env);
  if (!held_env) die("out of memory");
  memcpy(held_env, environ, n * sizeof *held_env);
  held_env[n] = "CODEX32_HELD=1";
  return held_env;
}

static void out(const char *fmt, long id, const char *text) {
  char line[600];
  int n = snprintf(line, sizeof line, fmt, id, text);
  if (n > 0) write_all(1, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* spawn one shim for rundir with its report socket on fd 3 (a held one reads its go there) */
static void launch(long id, const char *rundir, int held) {
  int p[2];
  if (npend >= MAX_PENDING || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) < 0) {
    char e[16];
    snprintf(e, sizeof e, "%d", npend >= MAX_PENDING ? EAGAIN : errno);
    out("%ld X %s\n", id, e);
    return;
  }
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, p[1], 3); /* dup2 clears close-on-exec on the copy */
  posix_spawnattr_init(&at);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setsigdefault(&at, &all);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  char *argv[] = {(char *)self_name, "run", (char *)rundir, NULL};
  pid_t pid;
  int rc = posix_spawn(&pid, "/proc/self/exe", &fa, &at, argv, held ? held_environ() : environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  close(p[1]);
  if (rc != 0) {
    char num[24];
    close(p[0]);
    snprintf(num, sizeof num, "%d", rc);
    out("%ld X %s\n", id, num);
    return;
  }
  char ref[48];
  snprintf(ref, sizeof ref, "%d %llu", (int)pid, proc_starttime(pid));
  out("%ld P %s\n", id, ref);
  pend[npend++] = (struct pending){.id = id, .fd = p[0], .held = held};
}

/* release (go) or cancel a held shim: one byte to go on, the end of its input to give up */
static void decide(long id, int go) {
  for (int i = 0; i < npend; i++) {
    if (pend[i].id != id || !pend[i].held) continue;
    pend[i].held = 0;
    if (!go || write(pend[i].fd, "g", 1) != 1) shutdown(pend[i].fd, SHUT_WR);
    return;
  }
}

/* relay what one shim reported; 0 once its pipe is closed */
static int relay(struct pending *r) {
  ssize_t n = read(r->fd, r->buf + r->len, sizeof r->buf - 1 - r->len);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 1;
  if (n > 0) r->len += (size_t)n;
  char *nl;
  while ((nl = memchr(r->buf, '\n', r->len))) {
    *nl = 0;
    out("%ld L %s\n", r->id, r->buf);
    r->len -= (size_t)(nl + 1 - r->buf);
    memmove(r->buf, nl + 1, r->len);
  }
  if (r->len && (n <= 0 || r->len == sizeof r->buf - 1)) { /* a last line without a newline, or an over-long one */
    r->buf[r->len] = 0;
    out("%ld L %s\n", r->id, r->buf);
    r->len = 0;
  }
  if (n > 0) return 1;
  out("%ld E%s\n", r->id, "");
  close(r->fd);
  return 0;
}

/* parse and run every whole request line in buf; returns the bytes consumed */
static size_t requests(char *buf, size_t len) {
  size_t used = 0;
  char *nl;
  while ((nl = memchr(buf + used, '\n', len - used))) {
    *nl = 0;
    char *line = buf + used, *sp = strchr(line, ' ');
    used = (size_t)(nl + 1 - buf);
    if (!sp || sp == line) continue;
    *sp = 0;
    long id = strtol(line, NULL, 10);
    char *rest = sp + 1;
    if ((rest[0] == 'S' || rest[0] == 'K') && rest[1] == ' ') spawncmd_request(id, rest);
    else if (strcmp(rest, "G") == 0 || strcmp(rest, "C") == 0) decide(id, *rest == 'G');
    else if (strncmp(rest, "H ", 2) == 0) launch(id, rest + 2, 1);
    else launch(id, rest, 0);
  }
  return used;
}

/* the engine's end of stdout is closed: nobody is left to report to */
static int engine_gone(void) {
  struct pollfd p = {.fd = 1, .events = 0};
  return poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP));
}

#define MAX_REQUEST (4u << 20) /* a command line and environment: more than the kernel's own limit */

int launcher_main(char **args, int n) {
  self_name = n >= 1 ? args[0] : "codex32-shim";
  spawncmd_init(n >= 2 ? args[1] : NULL);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigaddset(&chld, SIGPIPE);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) die("signalfd");
  size_t cap = 8192, inlen = 0;
  char *in = malloc(cap);
  if (!in) die("out of memory");
  int open_in = 1;
  while (open_in || npend || spawncmd_running()) {
    if (!open_in && engine_gone()) break;
    struct pollfd fds[MAX_PENDING + 3];
    int k = 0;
    fds[k++] = (struct pollfd){.fd = sfd, .events = POLLIN};
    fds[k++] = (struct pollfd){.fd = open_in ? 0 : 1, .events = open_in ? POLLIN : 0}; /* closed: watch the engine's end */
    int base = k;
    for (int i = 0; i < npend; i++) fds[k++] = (struct pollfd){.fd = pend[i].fd, .events = POLLIN};
    if (poll(fds, (nfds_t)k, -1) < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    if (fds[0].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
      }
      int status;
      pid_t pid;
      while ((pid = waitpid(-1, &status, WNOHANG)) > 0) spawncmd_reaped(pid, status); /* reaped, so its pid is not mistaken for a live one */
    }
    for (int i = npend - 1; i >= 0; i--)
      if (fds[base + i].revents && !relay(&pend[i])) pend[i] = pend[--npend];
    if (open_in && fds[1].revents) {
      if (inlen == cap) {
        char *more = cap < MAX_REQUEST ? realloc(in, cap * 2) : NULL;
        if (more) in = more, cap *= 2;
        else inlen = 0; /* a line longer than any request: dropped */
      }
      ssize_t r = read(0, in + inlen, cap - inlen);
      if (r <= 0 && !(r < 0 && errno == EINTR)) {
        open_in = 0;
        for (int i = 0; i < npend; i++) decide(pend[i].id, 0);
        continue;
      }
      if (r > 0) inlen += (size_t)r;
      size_t used = requests(in, inlen);
      memmove(in, in + used, inlen - used);
      inlen -= used;
    }
  }
  free(in);
  return 0;
}
