/*
 * userns-run: a command as root of a user namespace mapped as a rootless container is (the user's own
 * uid as 0, its /etc/subuid and /etc/subgid range above). An ordinary user unpacks an image's layers
 * through it: tar keeps each file's owner, which outside the namespace only root may set, and the
 * files land owned as the container will see them. The engine writes RUNDIR/spec with the mapping.
 */
#define _GNU_SOURCE
#include "usernsrun.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spec.h"
#include "userns.h"
#include "util.h"

/* the child: a user namespace of its own, told to the parent, then the command once it is mapped */
static void child(int ready, int go, char **argv) {
  char b = 0;
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) die("die with the parent");
  if (unshare(CLONE_NEWUSER) < 0) die("unshare a user namespace");
  if (write(ready, &b, 1) != 1) die("tell the parent");
  if (read(go, &b, 1) != 1) _exit(125); /* the parent died, or could not write the maps: it said why */
  if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) die("become root of the user namespace");
  execvp(argv[0], argv);
  die("exec %s", argv[0]);
}

int userns_run_main(char **args, int n) {
  if (n < 3 || strcmp(args[1], "--") != 0) {
    fprintf(stderr, "usage: codex32-shim userns-run RUNDIR -- CMD [ARG...]\n");
    return 125;
  }
  load_container(args[0]);
  int ready[2], go[2];
  if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0) die("pipes");
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) child(ready[1], go[0], args + 2);
  close(ready[1]);
  close(go[0]);
  char b = 0;
  if (read(ready[0], &b, 1) != 1) die_err(0, "the command's process ended before its user namespace was made");
  rootless_map(pid); /* dies naming the helper that failed; the child then ends with its parent */
  if (write(go[1], &b, 1) != 1) die("release the command");
  close(go[1]);
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) die("wait for the command");
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
