/* spawncmd: the launcher's spawns of any command, its stdio on sockets to the engine (see spawncmd.c) */
#ifndef CODEX32_SPAWNCMD_H
#define CODEX32_SPAWNCMD_H
#include <sys/types.h>

/* the engine's stdio server: an abstract unix socket name (none: only /dev/null stdio works) */
void spawncmd_init(const char *name);
/* run one request: REST is what follows "ID " ("S ..." or "K SIGNUM"), modified in place */
void spawncmd_request(long id, char *rest);
/* a reaped child: if it was a command the engine waits for, report its end */
void spawncmd_reaped(pid_t pid, int status);
/* how many commands the engine still waits for */
int spawncmd_running(void);

#endif
