/*
 * spawncmd: the launcher's spawns of any command for the engine (ip, nft, the copy and exec helpers),
 * so that a long-lived engine never forks its own large process. Each of the command's fds 0-3 is
 * /dev/null or a unix socket connected to the engine's stdio server (an abstract socket named at the
 * launcher's start): the connection first says "TOKEN FD\n", so the engine knows whose fd it is.
 *
 *   in:  "ID S TOKEN FDS FLAGS NENV [ENV...] FILE [ARG...]"  every field %-escaped (%, space, newline);
 *        FDS is four letters for fds 0-3, p (a socket to the engine) or n (/dev/null); FLAGS is d (its
 *        own session, not waited for) or -; NENV is the number of ENV entries that replace the
 *        environment, or - to keep the launcher's. FILE is looked up on PATH.
 *        "ID K SIGNUM"  signal the command, unless it has already been reaped (its pid may be reused)
 *   out: "ID P PID START" spawned, "ID X ERRNO" not, "ID W CODE SIGNUM" it ended (CODE -1 when a signal did)
 */
#define _GNU_SOURCE
#include "spawncmd.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

extern char **environ;

#define MAX_CMDS 1024
#define MAX_FIELDS 65536

/* a command the engine waits for: its exit is reported */
struct cmd {
  long id;
  pid_t pid;
};

static struct cmd cmds[MAX_CMDS];
static int ncmds;
static struct sockaddr_un engine_addr;
static socklen_t engine_len;

void spawncmd_init(const char *name) {
  if (!name || !*name) return;
  size_t n = strlen(name);
  if (n + 1 > sizeof engine_addr.sun_path) die_err(ENAMETOOLONG, "launcher: socket name %s", name);
  engine_addr.sun_family = AF_UNIX;
  engine_addr.sun_path[0] = 0; /* abstract: nothing on disk to clean up, gone with the engine */
  memcpy(engine_addr.sun_path + 1, name, n);
  engine_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

int spawncmd_running(void) { return ncmds; }

static void reply(long id, const char *kind, long long a, long long b) {
  char line[96];
  int n = b == LLONG_MIN ? snprintf(line, sizeof line, "%ld %s %lld\n", id, kind, a) : snprintf(line, sizeof line, "%ld %s %lld %lld\n", id, kind, a, b);
  if (n > 0) write_all(1, line, (size_t)n);
}

/* undo the %-escapes of one field in place */
static void unescape(char *s) {
  char *w = s;
  for (char *r = s; *r; r++) {
    if (r[0] == '%' && r[1] && r[2]) {
      char hex[3] = {r[1], r[2], 0};
      *w++ = (char)strtol(hex, NULL, 16);
      r += 2;
    } else *w++ = *r;
  }
  *w = 0;
}

/* a socket connected to the engine's stdio server, announced as fd of token; -1 with errno */
static int engine_socket(const char *token, int fd) {
  if (!engine_len) return errno = ENOTCONN, -1;
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  char head[160];
  int n = snprintf(head, sizeof head, "%s %d\n", token, fd);
  /* libuv before 1.47 (Node 20) binds an abstract name padded with NULs to the whole sun_path, later
     ones to its length: the padded name first, then the exact one */
  int c = connect(s, (struct sockaddr *)&engine_addr, sizeof engine_addr);
  if (c < 0 && errno == ECONNREFUSED) c = connect(s, (struct sockaddr *)&engine_addr, engine_len);
  if (c < 0 || n <= 0 || (size_t)n >= sizeof head || write_all(s, head, (size_t)n) < 0) {
    int e = errno ? errno : EINVAL;
    close(s);
    return errno = e, -1;
  }
  return s;
}

/* spawn what the fields say; the errno of a failure, 0 on success (pid set) */
static int start(char **f, int nf, pid_t *pid) {
  if (nf < 5 || strlen(f[1]) != 4) return EINVAL;
  const char *token = f[0], *fds = f[1];
  int detached = f[2][0] == 'd';
  int nenv = strcmp(f[3], "-") == 0 ? -1 : atoi(f[3]);
  if (nenv < -1 || 4 + (nenv > 0 ? nenv : 0) >= nf) return EINVAL;
  char **argv = f + 4 + (nenv > 0 ? nenv : 0);
  char **envp = environ;
  if (nenv >= 0) {
    envp = calloc((size_t)nenv + 1, sizeof *envp);
    if (!envp) return ENOMEM;
    memcpy(envp, f + 4, (size_t)nenv * sizeof *envp);
  }
  int sock[4] = {-1, -1, -1, -1}, err = 0;
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&at);
  for (int fd = 0; fd < 4 && !err; fd++) {
    if (fds[fd] == 'p') {
      sock[fd] = engine_socket(token, fd);
      if (sock[fd] < 0) err = errno;
      else err = posix_spawn_file_actions_adddup2(&fa, sock[fd], fd); /* the copy loses close-on-exec */
    } else if (fd < 3) err = posix_spawn_file_actions_addopen(&fa, fd, "/dev/null", fd ? O_WRONLY : O_RDONLY, 0);
  }
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  if (!err) err = posix_spawnattr_setsigmask(&at, &none);
  if (!err) err = posix_spawnattr_setsigdefault(&at, &all);
  if (!err) err = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | (detached ? POSIX_SPAWN_SETSID : 0));
  if (!err) err = posix_spawnp(pid, argv[0], &fa, &at, argv, envp);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  if (envp != environ) free(envp);
  for (int fd = 0; fd < 4; fd++)
    if (sock[fd] >= 0) close(sock[fd]); /* the command holds its copies; a failed one's end at the engine sees EOF */
  return err;
}

void spawncmd_request(long id, char *rest) {
  if (rest[0] == 'K' && rest[1] == ' ') {
    int sig = atoi(rest + 2);
    for (int i = 0; i < ncmds; i++)
      if (cmds[i].id == id && kill(cmds[i].pid, sig) < 0) fprintf(stderr, "codex32-shim: launcher: kill %d: %s\n", (int)cmds[i].pid, strerror(errno));
    return;
  }
  static char *f[MAX_FIELDS];
  int nf = 0, over = 0;
  for (char *p = rest + 2, *sp;; p = sp + 1) { /* an empty field is an empty argument */
    if (nf == MAX_FIELDS - 1) {
      over = 1;
      break;
    }
    sp = strchr(p, ' ');
    f[nf++] = p;
    if (!sp) break;
    *sp = 0;
  }
  f[nf] = NULL;
  for (int i = 0; i < nf; i++) unescape(f[i]);
  pid_t pid;
  int err = over ? E2BIG : ncmds >= MAX_CMDS ? EAGAIN : start(f, nf, &pid);
  if (err) return reply(id, "X", err, LLONG_MIN);
  reply(id, "P", pid, (long long)proc_starttime(pid));
  if (nf > 2 && f[2][0] != 'd') cmds[ncmds++] = (struct cmd){.id = id, .pid = pid};
}

void spawncmd_reaped(pid_t pid, int status) {
  for (int i = 0; i < ncmds; i++) {
    if (cmds[i].pid != pid) continue;
    reply(cmds[i].id, "W", WIFEXITED(status) ? WEXITSTATUS(status) : -1, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    cmds[i] = cmds[--ncmds];
    return;
  }
}
