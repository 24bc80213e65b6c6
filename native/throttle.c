/* throttle: --cpus without a cpu cgroup (minimal on such hosts), a duty cycle of SIGSTOP and SIGCONT */
#define _GNU_SOURCE
#include "throttle.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "cgroup.h"
#include "contract.h"
#include "spec.h"
#include "util.h"

static struct throttle_fds fds = {-1, -1};
static long long permille;
static unsigned long long prev_ticks;
static int paused;
static long hz;

struct throttle_fds throttle_init(void) {
  fds.tick = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  fds.resume = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  if (fds.tick < 0 || fds.resume < 0) die("timerfd_create");
  permille = spec_num(SPEC_CPU_THROTTLE_PERMILLE, 0);
  hz = sysconf(_SC_CLK_TCK);
  if (permille > 0) {
    struct itimerspec its = {{0, 100000000}, {0, 100000000}};
    if (timerfd_settime(fds.tick, 0, &its, NULL) < 0) die("arm the CPU throttle");
  }
  return fds;
}

void throttle_tick(void) {
  if (paused || permille <= 0) return;
  unsigned long long now_ticks = 0;
  pid_t *tree;
  int n = collect_descendants(&tree, &now_ticks);
  long long used_ms = prev_ticks && now_ticks >= prev_ticks ? (long long)(now_ticks - prev_ticks) * 1000 / hz : 0;
  long long allowed_ms = 100 * permille / 1000;
  prev_ticks = now_ticks;
  if (used_ms > allowed_ms && n > 0) {
    for (int i = 0; i < n; i++) kill(tree[i], SIGSTOP);
    paused = 1;
    arm(fds.resume, (used_ms - allowed_ms) * 1000 / permille);
  }
  free(tree);
}

void throttle_resume(void) {
  if (!paused) return;
  signal_descendants(SIGCONT);
  paused = 0;
  unsigned long long t = 0;
  pid_t *tree;
  collect_descendants(&tree, &t);
  free(tree);
  prev_ticks = t;
}

int throttle_paused(void) { return paused; }
