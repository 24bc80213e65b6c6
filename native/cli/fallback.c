/* fallback: exec `node bin/codex32 ARGS` without NODE_EXTRA_CA_CERTS, as the launcher's Node path does */
#include "fallback.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *js;
static int nargs;
static char **args;

void fallback_init(const char *launcher, int argc, char **argv) {
  js = launcher;
  nargs = argc;
  args = argv;
}

void to_node(void) {
  char **v = calloc((size_t)nargs + 3, sizeof *v);
  if (!v) exit(125);
  v[0] = "node";
  v[1] = (char *)js;
  for (int i = 0; i < nargs; i++) v[i + 2] = args[i];
  /* Node 20 spends 40-75 ms on this variable at every start (docs/benchmarks.md) */
  unsetenv("NODE_EXTRA_CA_CERTS");
  execvp("node", v);
  fprintf(stderr, "codex32: cannot run node: %s\n", strerror(errno));
  exit(125);
}
