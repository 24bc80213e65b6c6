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
#include "seccomp.h"
#include "supervise.h"

static const struct {
  const char *name;
  int (*fn)(char **args, int n);
} commands[] = {
    {"run", run_main},         /* run RUNDIR: supervise the container described by RUNDIR/spec */
    {"exec", exec_main},       /* exec RUNDIR [-e K=V]... [-w DIR] -- CMD [ARG...] */
    {"tar-out", tar_out_main}, /* tar-out RUNDIR BUSYBOX DIR ENTRY... */
    {"tar-in", tar_in_main},   /* tar-in RUNDIR BUSYBOX DIR */
    {"test-dir", test_dir_main}, /* test-dir RUNDIR PATH */
    {"seccomp-compile", seccomp_compile_main}, /* seccomp-compile OUT < LINES */
};

int main(int argc, char **argv) {
  for (size_t i = 0; argc >= 2 && i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp(argv[1], commands[i].name) == 0) return commands[i].fn(argv + 2, argc - 2);
  fprintf(stderr, "usage: codex32-shim run RUNDIR | exec RUNDIR [-e K=V] [-w DIR] -- CMD [ARG...] | "
                  "tar-out RUNDIR BUSYBOX DIR ENTRY... | tar-in RUNDIR BUSYBOX DIR | test-dir RUNDIR PATH | "
                  "seccomp-compile OUT\n");
  return 125;
}
