/* jq: typed reads from a JSON document stored in the database, with JavaScript's `??` defaults */
#ifndef CODEX32_CLI_JQ_H
#define CODEX32_CLI_JQ_H
#include <sqlite3.h>
#include <stdint.h>

struct jq {
  sqlite3 *db;
  sqlite3_stmt *at, *each;
  int bad; /* set by any read that met a value of a type it cannot render as Node would */
};

int jq_init(struct jq *q, sqlite3 *db);
void jq_done(struct jq *q);
/* json_type at path: "null", "integer", "text", "array", ... or NULL when absent */
const char *jq_type(struct jq *q, const char *json, const char *path);
/* 1 when the value at path is absent or null (JavaScript's nullish) */
int jq_nullish(struct jq *q, const char *json, const char *path);
/* a copy of the string at path, dflt when nullish (NULL dflt: it must be there) */
char *jq_str(struct jq *q, const char *json, const char *path, const char *dflt);
int64_t jq_int(struct jq *q, const char *json, const char *path, int64_t dflt);
/* a boolean or nullish (dflt) */
int jq_bool(struct jq *q, const char *json, const char *path, int dflt);
/* iterate the array or object at path: start, then next until 0; key/value/type of the current item */
int jq_each(struct jq *q, const char *json, const char *path);
int jq_next(struct jq *q);
const char *jq_key(struct jq *q);
const char *jq_value(struct jq *q);
const char *jq_vtype(struct jq *q);
#endif
