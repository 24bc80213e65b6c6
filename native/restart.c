/* restart: whether a run that ended is followed by another, by the policy (the spec's, or an update's) */
#define _GNU_SOURCE
#include "restart.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract.h"
#include "record.h"
#include "spec.h"
#include "util.h"

static int unstable_runs; /* restarts after runs shorter than restart_min_uptime_ms (PM2's min_uptime) */

/* is one more restart within restart_max? With restart_min_uptime_ms, only short runs count (PM2's rule) */
static int under_limit(long long max) {
  long long min_up = spec_num(SPEC_RESTART_MIN_UPTIME_MS, 0);
  if (min_up <= 0) return max == 0 || restarts < max;
  if (now_ms() - run_started_ms >= min_up) return 1;
  if (max != 0 && unstable_runs >= max) return 0;
  unstable_runs++;
  return 1;
}

/* a policy update gave the running container (RUNDIR/restart-policy, "POLICY MAX"): it replaces the spec's.
 * Read at each exit, so an update takes effect without a signal and survives nothing but this run. */
static void read_restart_update(char buf[32], const char **pol, long long *max) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/" RUN_RESTART_POLICY, rundir);
  char *s = read_file(path, NULL);
  if (!s) return; /* none given: the spec's policy */
  long long m;
  if (sscanf(s, "%31s %lld", buf, &m) == 2 && m >= 0) {
    *pol = buf;
    *max = m;
  } else {
    fprintf(stderr, "codex32-shim: ignoring a malformed %s: %s\n", RUN_RESTART_POLICY, s);
  }
  free(s);
}

int restart_wanted(int code, int sig) {
  if (stopping) return 0;
  if (force_restart) {
    force_restart = 0;
    return 1;
  }
  char updated[32];
  const char *pol = spec_get(SPEC_RESTART);
  long long max = spec_num(SPEC_RESTART_MAX, 0);
  read_restart_update(updated, &pol, &max);
  if (!pol || strcmp(pol, "no") == 0) return 0;
  if (strcmp(pol, "on-failure") == 0) {
    if (code == 0 && sig == 0) return 0;
    return under_limit(max);
  }
  return under_limit(max); /* always, unless-stopped */
}
