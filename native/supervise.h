/* supervise: the event loop of "codex32-shim run": logs, restarts, stops, health, timeouts */
#ifndef CODEX32_SUPERVISE_H
#define CODEX32_SUPERVISE_H

/* run RUNDIR: supervise the container described by RUNDIR/spec until it is done */
int run_main(char **args, int n);

#endif
