/* archive: tar in and out of a container's root, and a type test, all from inside it */
#define _GNU_SOURCE
#include "archive.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "caps.h"
#include "contract.h"
#include "exec.h"
#include "sandbox.h"
#include "spec.h"
#include "util.h"

/*
 * Confine this process to the container's filesystem so every path, symlinks included, resolves
 * inside it: the running container's mount namespace, or the same root assembled privately for a
 * stopped one (minimal: its app directory). Then drop to the file capabilities a copy needs.
 */
static void enter_root(const char *dir) {
  const char *app = spec_get(SPEC_CWD);
  if (isolation == 0) {
    if (!app || chroot(app) < 0 || chdir("/") < 0) die("enter the container directory");
  } else if (!join_running(dir, 0)) {
    if (unshare(CLONE_NEWNS) < 0) die("unshare mount namespace");
    setup_rootfs(spec_get(SPEC_NEWROOT));
  }
  if (chdir("/") < 0) die("chdir /");
  /* in a strict container's user namespace act as its root, whose capabilities end at its borders */
  if (isolation == 2 && getuid() != 0 && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)) die("become container root");
  uint64_t keep = (1ULL << CAP_CHOWN) | (1ULL << CAP_DAC_OVERRIDE) | (1ULL << CAP_FOWNER) | (1ULL << CAP_FSETID);
  restrict_caps(keep);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) die("no_new_privs");
}

/* run the host's static busybox (opened before entering) as tar inside the container root */
static int run_tar(int bbfd, char **argv) {
  char *envp[] = {"PATH=/usr/bin:/bin", NULL};
  syscall(SYS_execveat, bbfd, "", argv, envp, AT_EMPTY_PATH);
  die("exec host busybox tar");
  return 125;
}

/* tar-out RUNDIR BUSYBOX DIR ENTRY...: archive ENTRYs of DIR (inside the container) to stdout */
int tar_out_main(char **args, int n) {
  if (n < 4) die_err(EINVAL, "usage: tar-out RUNDIR BUSYBOX DIR ENTRY...");
  load_container(args[0]);
  int bb = open(args[1], O_RDONLY | O_CLOEXEC);
  if (bb < 0) die("open %s", args[1]);
  enter_root(rundir);
  if (chdir(args[2]) < 0) die("%s", args[2]);
  size_t cap = (size_t)n + 64, k = 0;
  char **argv = calloc(cap, sizeof(char *));
  if (!argv) die("tar-out: memory for the arguments");
  argv[k++] = "tar";
  argv[k++] = "-c";
  argv[k++] = "-f";
  argv[k++] = "-";
  for (int i = 3; i < n; i++) {
    if (strcmp(args[i], "*") != 0) {
      argv[k++] = args[i];
      continue;
    }
    /* every entry of DIR but the kernel's and the runtime's own file systems, however many */
    DIR *d = opendir(".");
    if (!d) die("list %s", args[2]);
    struct dirent *de;
    while ((errno = 0, de = readdir(d))) {
      const char *nm = de->d_name;
      if (!strcmp(nm, ".") || !strcmp(nm, "..") || !strcmp(nm, "proc") || !strcmp(nm, "sys") || !strcmp(nm, "dev") ||
          !strcmp(nm, "tmp"))
        continue;
      if (k + 1 >= cap) {
        char **grown = realloc(argv, cap * 2 * sizeof(char *));
        if (!grown) die("tar-out: memory for %zu entries", cap * 2);
        argv = grown;
        cap *= 2;
      }
      if (!(argv[k++] = strdup(nm))) die("tar-out: memory for %s", nm);
    }
    if (errno) die("list %s", args[2]);
    closedir(d);
  }
  argv[k] = NULL;
  return run_tar(bb, argv);
}

/* tar-in RUNDIR BUSYBOX DIR: extract the (already validated) archive on stdin into DIR */
int tar_in_main(char **args, int n) {
  if (n != 3) die_err(EINVAL, "usage: tar-in RUNDIR BUSYBOX DIR");
  load_container(args[0]);
  int bb = open(args[1], O_RDONLY | O_CLOEXEC);
  if (bb < 0) die("open %s", args[1]);
  enter_root(rundir);
  if (chdir(args[2]) < 0) die("%s", args[2]);
  char *argv[] = {"tar", "-x", "-o", "-f", "-", NULL};
  return run_tar(bb, argv);
}

/* test-dir RUNDIR PATH: exit 0 if PATH is a directory inside the container, 1 if something else, 2 if missing */
int test_dir_main(char **args, int n) {
  if (n != 2) die_err(EINVAL, "usage: test-dir RUNDIR PATH");
  load_container(args[0]);
  enter_root(rundir);
  struct stat st;
  if (stat(args[1], &st) < 0) return 2;
  return S_ISDIR(st.st_mode) ? 0 : 1;
}
