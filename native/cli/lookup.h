/* lookup: one container row by reference, read as the Node engine reads it */
#ifndef CODEX32_CLI_LOOKUP_H
#define CODEX32_CLI_LOOKUP_H
#include <sqlite3.h>
#include <stdint.h>
#include "jq.h"

struct row {
  char *id, *name, *status, *config, *state;
  int64_t created;
};

void row_free(struct row *r);
/* the engine's get(): exact id or name, else a unique id prefix; -1 for anything Node must answer */
int row_find(sqlite3 *db, const char *ref, struct row *r);
/* 1 when Node would leave the row as it is: not active, or running with nothing new from its supervisor */
int row_settled(struct jq *q, const char *storage, const struct row *r);
#endif
