/* record: what the supervisor tells the engine: RUNDIR/state, exits, events and the start reply */
#ifndef CODEX32_RECORD_H
#define CODEX32_RECORD_H
#include <stdint.h>
#include <sys/types.h>

/* the current run, as recorded in RUNDIR/state */
extern pid_t child_pid; /* host pid of the container's first process (init) */
extern unsigned long long child_start;
extern int run_no, restarts;
extern int64_t run_started_ms;
extern int stopping; /* a user stop or kill: never restart */
extern const char *stop_reason;
extern const char *health_status;
extern int health_streak;
extern int force_restart; /* an unhealthy container restarted on request, whatever the policy */
extern int sync_fd;       /* fd 3 to the engine's start call, -1 once answered */

/* replace RUNDIR/state atomically: "PHASE PID STARTTIME RUN RESTARTS HEALTH STREAK STARTED_MS" */
void write_state(const char *phase);
/* append one line to RUNDIR/exits in a single write */
void append_exit(int code, int sig, int oom, const char *reason);
/* append an event the engine would otherwise miss between two looks: "MS TYPE VALUE" */
void shim_event(const char *type, const char *value);
/* answer the engine's start call once on fd 3, then close it */
void sync_reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
