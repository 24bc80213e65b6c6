/* exec: join a running container to run one more command in it */
#ifndef CODEX32_EXEC_H
#define CODEX32_EXEC_H

/* enter the running container's namespaces (init pid checked by start time); 0 when not running */
int join_running(const char *dir, int with_pidns);
/* exec RUNDIR [-e K=V]... [-w DIR] -- CMD [ARG...] */
int exec_main(char **args, int nargs);

#endif
