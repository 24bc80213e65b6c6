/* jq: SQLite's JSON functions read the documents Node wrote; any surprise marks the read bad */
#include "jq.h"
#include <stdlib.h>
#include <string.h>

int jq_init(struct jq *q, sqlite3 *db) {
  memset(q, 0, sizeof *q);
  q->db = db;
  if (sqlite3_prepare_v2(db, "SELECT json_type(?1, ?2), json_extract(?1, ?2)", -1, &q->at, NULL) != SQLITE_OK) return -1;
  if (sqlite3_prepare_v2(db, "SELECT key, value, type FROM json_each(?1, ?2)", -1, &q->each, NULL) != SQLITE_OK) return -1;
  return 0;
}

void jq_done(struct jq *q) {
  sqlite3_finalize(q->at);
  sqlite3_finalize(q->each);
}

const char *jq_type(struct jq *q, const char *json, const char *path) {
  sqlite3_reset(q->at);
  sqlite3_bind_text(q->at, 1, json, -1, SQLITE_STATIC);
  sqlite3_bind_text(q->at, 2, path, -1, SQLITE_STATIC);
  if (sqlite3_step(q->at) != SQLITE_ROW) {
    q->bad = 1;
    return NULL;
  }
  return (const char *)sqlite3_column_text(q->at, 0);
}

int jq_nullish(struct jq *q, const char *json, const char *path) {
  const char *t = jq_type(q, json, path);
  return !t || !strcmp(t, "null");
}

char *jq_str(struct jq *q, const char *json, const char *path, const char *dflt) {
  const char *t = jq_type(q, json, path);
  if (t && !strcmp(t, "text")) return strdup((const char *)sqlite3_column_text(q->at, 1));
  if ((!t || !strcmp(t, "null")) && dflt) return strdup(dflt);
  q->bad = 1;
  return strdup("");
}

int64_t jq_int(struct jq *q, const char *json, const char *path, int64_t dflt) {
  const char *t = jq_type(q, json, path);
  if (t && !strcmp(t, "integer")) return sqlite3_column_int64(q->at, 1);
  if (!t || !strcmp(t, "null")) return dflt;
  q->bad = 1;
  return 0;
}

int jq_bool(struct jq *q, const char *json, const char *path, int dflt) {
  const char *t = jq_type(q, json, path);
  if (t && (!strcmp(t, "true") || !strcmp(t, "false"))) return t[0] == 't';
  if (!t || !strcmp(t, "null")) return dflt;
  q->bad = 1;
  return 0;
}

int jq_each(struct jq *q, const char *json, const char *path) {
  sqlite3_reset(q->each);
  sqlite3_bind_text(q->each, 1, json, -1, SQLITE_STATIC);
  sqlite3_bind_text(q->each, 2, path, -1, SQLITE_STATIC);
  return 0;
}

int jq_next(struct jq *q) {
  int rc = sqlite3_step(q->each);
  if (rc == SQLITE_ROW) return 1;
  if (rc != SQLITE_DONE) q->bad = 1;
  return 0;
}

const char *jq_key(struct jq *q) { return (const char *)sqlite3_column_text(q->each, 0); }
const char *jq_value(struct jq *q) { return (const char *)sqlite3_column_text(q->each, 1); }
const char *jq_vtype(struct jq *q) { return (const char *)sqlite3_column_text(q->each, 2); }
