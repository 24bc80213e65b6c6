/*
 * codex32-shim: the per-container supervisor (the conmon role) and runtime (the runc role).
 *
 * It is written in C because a supervisor per container must stay under 1 MB PSS, and because
 * namespaces with a parent-written uid_map, pivot_root, capability bounding and signalfd-driven
 * log capture cannot be expressed reliably in POSIX sh. Policy (what to mount, which limits) is
 * decided by the TypeScript engine and written to RUNDIR/spec; this program only carries it out.
 * docs/supervisor.md describes the spec, the files it writes and which source file does what.
 *
 * main only dispatches: each subcommand is one function taking the arguments after its name.
 */
#include <stdio.h>
#include <string.h>

#include "archive.h"
#include "exec.h"
#include "launcher.h"
#include "selfexe.h"
#include "seccomp.h"
#include "supervise.h"
#include "usernsrun.h"

/*
 * protect: the subcommand puts a process of this binary inside a container (its init, an exec'd
 * command before its exec), so it runs from a read-only view of the binary (selfexe.c). The other
 * subcommands never run where a container's processes can see them.
 */
static const struct {
  const char *name;
  int (*fn)(char **args, int n);
  int protect;
} commands[] = {
    {"run", run_main, 1},                         /* run RUNDIR: supervise the container described by RUNDIR/spec */
    {"exec", exec_main, 1},                       /* exec RUNDIR [-e K=V]... [-E FD] [-u UID:GID] [-w DIR] [-t] [-i] -- CMD [ARG...] */
    {"tar-out", tar_out_main, 0},                 /* tar-out RUNDIR BUSYBOX DIR ENTRY... */
    {"tar-in", tar_in_main, 0},                   /* tar-in RUNDIR BUSYBOX DIR */
    {"test-dir", test_dir_main, 0},               /* test-dir RUNDIR PATH */
    {"seccomp-compile", seccomp_compile_main, 0}, /* seccomp-compile OUT < LINES */
    {"launcher", launcher_main, 1},               /* launcher NAME [SOCKET]: spawn shims and commands on request (a fork server) */
    {"userns-run", userns_run_main, 0},           /* userns-run RUNDIR -- CMD [ARG...]: rootless, CMD as root of the container mapping */
};

int main(int argc, char **argv) {
  for (size_t i = 0; argc >= 2 && i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp(argv[1], commands[i].name) == 0) {
      if (commands[i].protect) protect_self(argv);
      return commands[i].fn(argv + 2, argc - 2);
    }
  fprintf(stderr, "usage: codex32-shim run RUNDIR | exec RUNDIR [-e K=V] [-w DIR] [-t] [-i] -- CMD [ARG...] | "
                  "tar-out RUNDIR BUSYBOX DIR ENTRY... | tar-in RUNDIR BUSYBOX DIR | test-dir RUNDIR PATH | "
                  "seccomp-compile OUT | launcher NAME [SOCKET] | userns-run RUNDIR -- CMD [ARG...]\n");
  return 125;
}
