/* throttle: --cpus without a cpu cgroup (minimal on such hosts), a duty cycle of SIGSTOP and SIGCONT */
#ifndef CODEX32_THROTTLE_H
#define CODEX32_THROTTLE_H

/* the two timers the loop polls: every 100 ms (tick), and the end of a pause (resume) */
struct throttle_fds {
  int tick, resume;
};

/* read cpu_throttle_permille from the spec; the tick timer runs only when it is set */
struct throttle_fds throttle_init(void);
/* a 100 ms tick: CPU time used beyond the quota stops the tree long enough to pay it back */
void throttle_tick(void);
/* the pause is over, or a signal must be seen: SIGCONT to the tree */
void throttle_resume(void);
/* is the tree stopped by the duty cycle now? */
int throttle_paused(void);

#endif
