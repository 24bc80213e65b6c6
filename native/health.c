/* health: the container's health command, run through our own exec path, and its results */
#define _GNU_SOURCE
#include "health.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "contract.h"
#include "record.h"
#include "spec.h"
#include "util.h"

struct health_result {
  int64_t at;
  int code;
  char out[200];
};
static struct health_result health_log[5];
static int health_n;
pid_t health_pid;
int64_t health_started;

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
  snprintf(tmp, sizeof tmp, "%s/" RUN_HEALTH ".tmp", rundir);
  snprintf(path, sizeof path, "%s/" RUN_HEALTH, rundir);
  FILE *f = fopen(tmp, "w");
  if (!f) return;
  for (int i = 0; i < health_n; i++)
    fprintf(f, "%lld %d %s\n", (long long)health_log[i].at, health_log[i].code, health_log[i].out);
  fclose(f);
  rename(tmp, path);
}

void health_start(void) {
  char **hargs = spec_all(SPEC_HEALTH_ARG);
  int n = 0;
  while (hargs[n]) n++;
  char **argv = calloc((size_t)n + 6, sizeof(char *));
  argv[0] = "codex32-shim";
  argv[1] = "exec";
  argv[2] = (char *)rundir;
  argv[3] = "--";
  for (int i = 0; i < n; i++) argv[4 + i] = hargs[i];
  char outp[PATH_MAX];
  snprintf(outp, sizeof outp, "%s/" RUN_HEALTH_OUT, rundir);
  pid_t p = fork();
  if (p == 0) {
    int fd = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int nul = open("/dev/null", O_RDONLY);
    /* the check's exit code says why: 125 is a failed check, counted as one */
    if (fd < 0 || nul < 0 || dup2(nul, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) _exit(125);
    close_fds_from(3);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execv("/proc/self/exe", argv);
    _exit(125);
  }
  if (p < 0) fprintf(stderr, "codex32-shim: fork for the health check: %s\n", strerror(errno));
  free(hargs);
  free(argv);
  health_pid = p > 0 ? p : 0;
  health_started = now_ms();
}

void set_health(const char *status) {
  if (strcmp(status, health_status) != 0) shim_event("health_status", status);
  health_status = status;
}

void health_discard(void) {
  health_pid = 0;
}

int health_done(int code) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/" RUN_HEALTH_OUT, rundir);
  char *out = read_file(path, NULL);
  health_record(code, out ? out : "");
  free(out);
  health_pid = 0;
  if (code == 0) {
    set_health("healthy");
    health_streak = 0;
  } else if (now_ms() - run_started_ms >= spec_num(SPEC_HEALTH_START_MS, 0)) {
    health_streak++;
    if (health_streak >= spec_num(SPEC_HEALTH_RETRIES, 3)) {
      set_health("unhealthy");
      return spec_num(SPEC_HEALTH_RESTART, 0) != 0;
    }
  }
  return 0;
}
