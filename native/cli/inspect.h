/* inspect: `codex32 inspect REF...` as the Node CLI prints it (src/engine/inspect.ts toInspect) */
#ifndef CODEX32_CLI_INSPECT_H
#define CODEX32_CLI_INSPECT_H
#include <sqlite3.h>
#include "text.h"

/* render every ref into out; -1 when any of them needs Node (not found, to reconcile, a feature not rendered here) */
int inspect_render(sqlite3 *db, const char *storage, char **refs, int n, struct buf *out);
#endif
