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
#include "userns.h"
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
  if ((isolation == 2 || rootless()) && getuid() != 0 && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)) die("become container root");
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

/* every entry of DIR but the kernel's and the runtime's own file systems */
static int archived(const char *nm) {
  return strcmp(nm, ".") && strcmp(nm, "..") && strcmp(nm, "proc") && strcmp(nm, "sys") && strcmp(nm, "dev") &&
         strcmp(nm, "tmp");
}

char **tar_out_argv(char **ents, int m, char **listing) {
  size_t stars = 0, names = 0;
  for (int i = 0; i < m; i++) stars += strcmp(ents[i], "*") == 0;
  for (char **l = listing; stars && l && *l; l++) names += (size_t)archived(*l);
  /* sized for every name each "*" stands for: none may be dropped, nothing written past the end */
  char **argv = calloc(4 + (size_t)m + stars * names + 1, sizeof(char *));
  if (!argv) die("out of memory");
  size_t k = 0;
  argv[k++] = "tar";
  argv[k++] = "-c";
  argv[k++] = "-f";
  argv[k++] = "-";
  for (int i = 0; i < m; i++) {
    if (strcmp(ents[i], "*") != 0) {
      argv[k++] = ents[i];
      continue;
    }
    for (char **l = listing; l && *l; l++)
      if (archived(*l)) argv[k++] = *l;
  }
  return argv;
}

/* the names in the current directory, NULL-terminated (what "*" stands for) */
static char **cwd_names(void) {
  DIR *d = opendir(".");
  if (!d) die("read the directory to archive");
  size_t cap = 64, k = 0;
  char **v = malloc(cap * sizeof(char *));
  struct dirent *de;
  while (v && (de = readdir(d))) {
    if (k + 1 == cap) v = realloc(v, (cap *= 2) * sizeof(char *));
    if (v && !(v[k++] = strdup(de->d_name))) die("out of memory");
  }
  if (!v) die("out of memory");
  v[k] = NULL;
  closedir(d);
  return v;
}

/* tar-out RUNDIR BUSYBOX DIR ENTRY...: archive ENTRYs of DIR (inside the container) to stdout */
int tar_out_main(char **args, int n) {
  if (n < 4) die_err(EINVAL, "usage: tar-out RUNDIR BUSYBOX DIR ENTRY...");
  load_container(args[0]);
  int bb = open(args[1], O_RDONLY | O_CLOEXEC);
  if (bb < 0) die("open %s", args[1]);
  enter_root(rundir);
  if (chdir(args[2]) < 0) die("%s", args[2]);
  char **listing = NULL;
  for (int i = 3; i < n && !listing; i++)
    if (strcmp(args[i], "*") == 0) listing = cwd_names();
  return run_tar(bb, tar_out_argv(args + 3, n - 3, listing));
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
