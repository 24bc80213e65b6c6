/* sql: the few writes the native run makes, each as the Node store makes it (src/state/store.ts) */
#include "sql.h"
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

int sql_run(sqlite3 *db, int *constraint, const char *sql, const char *types, ...) {
  sqlite3_stmt *st;
  if (constraint) *constraint = 0;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return -1;
  va_list ap;
  va_start(ap, types);
  for (int i = 0; types[i]; i++) {
    if (types[i] == 't') sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
    else if (types[i] == 'i') sqlite3_bind_int64(st, i + 1, va_arg(ap, long long));
    else sqlite3_bind_null(st, i + 1);
  }
  va_end(ap);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_CONSTRAINT && constraint) *constraint = 1;
  sqlite3_finalize(st);
  return rc == SQLITE_DONE || rc == SQLITE_ROW ? sqlite3_changes(db) : -1;
}

int sql_begin(sqlite3 *db) { return sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1; }

int sql_end(sqlite3 *db, int ok) {
  if (ok && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK) return 0;
  sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  return -1;
}

int sql_event(sqlite3 *db, long long time, const char *type, const char *id, const char *name, const char *attrs) {
  return sql_run(db, NULL, "INSERT INTO events (time, type, container_id, name, attrs) VALUES (?, ?, ?, ?, ?)", "ittt" "t", time, type, id, name, attrs) == 1 ? 0 : -1;
}
