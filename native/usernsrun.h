/* usernsrun: a command as root of a rootless container's user mapping (userns-run RUNDIR -- CMD...) */
#ifndef CODEX32_USERNSRUN_H
#define CODEX32_USERNSRUN_H

int userns_run_main(char **args, int n);

#endif
