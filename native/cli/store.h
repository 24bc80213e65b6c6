/* store: the state database opened for reading, only when it is exactly what this build understands */
#ifndef CODEX32_CLI_STORE_H
#define CODEX32_CLI_STORE_H
#include <sqlite3.h>

/* the schema version (src/state/migrations.ts SCHEMA_VERSION) this front end reads; test/native-cli.test.ts checks it */
#define CODEX32_SCHEMA_VERSION 3

/* open storage/state.db (read-only unless write); NULL when anything would make the Node CLI write or report an error */
sqlite3 *store_open(const char *storage, int write);
#endif
