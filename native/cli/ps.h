/* ps: `codex32 ps [-a] [-q] [--json]` from the database, exactly as the Node CLI prints it */
#ifndef CODEX32_CLI_PS_H
#define CODEX32_CLI_PS_H
#include <sqlite3.h>
#include "text.h"

struct ps_opts {
  int all, quiet, json;
};

/* render into out; -1 when a row needs Node (reconcile, unexpected value) */
int ps_render(sqlite3 *db, const char *storage, const struct ps_opts *o, struct buf *out);
#endif
