/* health: the container's health command, run through our own exec path, and its results */
#ifndef CODEX32_HEALTH_H
#define CODEX32_HEALTH_H
#include <stdint.h>
#include <sys/types.h>

extern pid_t health_pid;        /* the running check, 0 when none */
extern int64_t health_started;  /* -1 once the running check timed out, -2 once a pause caught it */

/* fork "codex32-shim exec RUNDIR -- HEALTH_ARG..." with its output in RUNDIR/health.out */
void health_start(void);
/* record a status change as an event */
void set_health(const char *status);
/* a check finished (code -1: it timed out); returns 1 when the container should be restarted */
int health_done(int code);
/* the running check ended with no result to count (a pause caught it): nothing recorded */
void health_discard(void);

#endif
