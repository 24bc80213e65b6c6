/* launcher: a fork server that spawns shims for a long-lived engine (see launcher.c) */
#ifndef CODEX32_LAUNCHER_H
#define CODEX32_LAUNCHER_H

/* launcher NAME: read "ID RUNDIR" lines on stdin, spawn a shim for each, report on stdout */
int launcher_main(char **args, int n);

#endif
