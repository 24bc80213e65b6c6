/*
 * userns: what a rootless supervisor (an ordinary user's) needs beyond the root one. It cannot write
 * a user namespace's maps past its own uid, so uidmap's setuid helpers write them from the user's
 * /etc/subuid and /etc/subgid ranges, as podman does; and it cannot make veth pairs, so a private
 * network is pasta's, one process per run, started once the mapping is written and ended with the run.
 */
#define _GNU_SOURCE
#include "userns.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "contract.h"
#include "spec.h"
#include "util.h"

int rootless(void) { return spec_get(SPEC_NEWUIDMAP) != NULL; }

/* run argv, its stderr to ours (shim.err), and wait for it: its exit status, or -1 with errno */
static int run_helper(char **argv) {
  pid_t p = spawn_detached(argv, 1);
  if (p < 0) return -1;
  int st;
  while (waitpid(p, &st, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* HELPER PID then the fields of every line of the map, as newuidmap(1) takes them */
static void map_with(const char *helper_key, const char *map_key, pid_t pid) {
  const char *helper = spec_get(helper_key);
  char **lines = spec_all(map_key);
  int n = 0;
  while (lines[n]) n++;
  if (!helper || !n) die_err(EINVAL, "rootless spec without %s or %s", helper_key, map_key);
  char **argv = calloc((size_t)(3 * n + 3), sizeof *argv);
  char **copies = calloc((size_t)n, sizeof *copies);
  char num[32];
  if (!argv || !copies) die("memory for %s", helper);
  snprintf(num, sizeof num, "%d", pid);
  int a = 0;
  argv[a++] = (char *)helper;
  argv[a++] = num;
  for (int i = 0; i < n; i++) {
    if (!(copies[i] = strdup(lines[i]))) die("memory for %s", helper);
    char *save = NULL;
    int f = 0;
    for (char *t = strtok_r(copies[i], " ", &save); t; t = strtok_r(NULL, " ", &save), f++)
      if (f < 3) argv[a++] = t;
    if (f != 3) die_err(EINVAL, "%s line %.64s needs INSIDE OUTSIDE COUNT", map_key, lines[i]);
  }
  int rc = run_helper(argv);
  if (rc < 0) die("run %s", helper);
  /* the helper said why on stderr (shim.err): most often the user has no range in /etc/subuid or /etc/subgid */
  if (rc != 0) die_err(0, "%s exited %d writing the container's map (is the range in /etc/subuid and /etc/subgid this user's?)", helper, rc);
  for (int i = 0; i < n; i++) free(copies[i]);
  free(copies);
  free(argv);
  free(lines);
}

void rootless_map(pid_t pid) {
  map_with(SPEC_NEWUIDMAP, SPEC_USERNS_UID_MAP, pid);
  map_with(SPEC_NEWGIDMAP, SPEC_USERNS_GID_MAP, pid);
}

void net_helper_start(pid_t pid) {
  char **args = spec_all(SPEC_NET_HELPER_ARG);
  int n = 0;
  while (args[n]) n++;
  if (!n) {
    free(args);
    return;
  }
  char **argv = calloc((size_t)n + 2, sizeof *argv);
  char num[32];
  if (!argv) die("memory for %s", args[0]);
  memcpy(argv, args, (size_t)n * sizeof *argv);
  snprintf(num, sizeof num, "%d", pid);
  argv[n] = num;
  int rc = run_helper(argv);
  if (rc < 0) die("run %s", args[0]);
  if (rc != 0) die_err(0, "%s exited %d setting up the container's network (its message is in shim.err)", args[0], rc);
  free(argv);
  free(args);
}

void net_helper_stop(void) {
  const char *f = spec_get(SPEC_NET_HELPER_PID);
  if (!f) return;
  char *s = read_file(f, NULL);
  if (!s) return; /* never started: the run failed before it */
  pid_t p = (pid_t)strtol(s, NULL, 10);
  free(s);
  /* put in the background, it is our child as the subreaper: reap it here, its port then free at once;
     a pid that is no child of ours is not the helper any more */
  int ppid = 0;
  unsigned long long ticks;
  if (p > 1 && proc_ppid_ticks(p, &ppid, &ticks) && ppid == getpid() && kill(p, SIGKILL) == 0)
    while (waitpid(p, NULL, 0) < 0 && errno == EINTR) {
    }
  if (unlink(f) < 0 && errno != ENOENT) fprintf(stderr, "codex32-shim: remove %s: %s\n", f, strerror(errno));
}
