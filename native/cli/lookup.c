/* lookup: a container row as the engine's get() finds it, and whether Node would leave it as it is */
#include "lookup.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fresh.h"

void row_free(struct row *r) {
  free(r->id), free(r->name), free(r->status), free(r->config), free(r->state);
  memset(r, 0, sizeof *r);
}

/* rows matching sql with ref bound; 1 when exactly one */
static int lookup(sqlite3 *db, const char *sql, const char *a, const char *b, struct row *r) {
  sqlite3_stmt *st;
  int n = 0;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return -1;
  sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
  while (sqlite3_step(st) == SQLITE_ROW && ++n == 1) {
    if (sqlite3_column_type(st, 3) != SQLITE_INTEGER) n = 99;
    r->id = strdup((const char *)sqlite3_column_text(st, 0)), r->name = strdup((const char *)sqlite3_column_text(st, 1));
    r->status = strdup((const char *)sqlite3_column_text(st, 2)), r->created = sqlite3_column_int64(st, 3);
    r->config = strdup((const char *)sqlite3_column_text(st, 4)), r->state = strdup((const char *)sqlite3_column_text(st, 5));
  }
  sqlite3_finalize(st);
  return n == 1 ? 1 : -1;
}

/* the engine's get(): exact id or name, else a unique id prefix; -1 for anything Node must answer */
int row_find(sqlite3 *db, const char *ref, struct row *r) {
  const char *cols = "SELECT id, name, status, created_at, config, state FROM containers ";
  char sql[256], end[80];
  snprintf(sql, sizeof sql, "%sWHERE id = ?1 OR name = ?2", cols);
  if (lookup(db, sql, ref, ref, r) == 1) return 0;
  row_free(r);
  size_t n = strlen(ref);
  if (n < 3 || n > 63 || strspn(ref, "0123456789abcdef") != n) return -1;
  snprintf(end, sizeof end, "%sg", ref);
  snprintf(sql, sizeof sql, "%sWHERE id >= ?1 AND id < ?2 LIMIT 2", cols);
  if (lookup(db, sql, ref, end, r) == 1) return 0;
  row_free(r);
  return -1;
}

/* Node would leave the row as it is: not active, or running with nothing new from its supervisor */
int row_settled(struct jq *q, const char *storage, const struct row *r) {
  int active = !strcmp(r->status, "starting") || !strcmp(r->status, "running") || !strcmp(r->status, "restarting") ||
               !strcmp(r->status, "stopping");
  if (!strcmp(r->status, "dead")) {
    char *reason = jq_str(q, r->state, "$.reason", "");
    int lost = !strcmp(reason, "supervisor-lost"); /* the restart policy may start it again */
    free(reason);
    return !lost;
  }
  if (!active) return 1;
  char *start = jq_str(q, r->state, "$.shim.start", ""), *mark = jq_str(q, r->state, "$.mark", ""),
       *oom = jq_str(q, r->state, "$.cgroups.oomEvents", "");
  struct active_row a = {r->id, r->status, jq_int(q, r->state, "$.shim.pid", 0), *start ? start : NULL, *mark ? mark : NULL,
                         *oom ? oom : NULL, jq_int(q, r->state, "$.oomSeen", 0)};
  int ok = row_fresh(storage, &a);
  free(start), free(mark), free(oom);
  return ok;
}

