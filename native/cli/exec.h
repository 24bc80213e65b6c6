/* exec: `codex32 exec NAME CMD...` without options, as src/engine/exec.ts runs it for the CLI (inherited stdio) */
#ifndef CODEX32_CLI_EXEC_H
#define CODEX32_CLI_EXEC_H
#include <sqlite3.h>

/* the command's exit code; -1 before anything happened when Node must run it (db is then still open) */
int exec_run(sqlite3 *db, const char *storage, const char *launcher, const char *ref, char **cmd, int n);
#endif
