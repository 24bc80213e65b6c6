/* store: Node owns the schema, its migrations and every repair; this side reads, and appends exec's event */
#include "store.h"
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* Node's engine creates storage/containers and loosens 0700 to 0711 on open: it must find nothing to do */
static int dirs_ready(const char *storage) {
  char p[4200];
  struct stat st;
  snprintf(p, sizeof p, "%s/containers", storage);
  if (stat(storage, &st) || !S_ISDIR(st.st_mode) || (st.st_mode & 0777) == 0700) return 0;
  if (stat(p, &st) || !S_ISDIR(st.st_mode) || (st.st_mode & 0777) == 0700) return 0;
  snprintf(p, sizeof p, "%s/state.db", storage);
  return stat(p, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600;
}

static int pragma_int(sqlite3 *db, const char *sql, int *out) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return -1;
  int rc = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER ? 0 : -1;
  if (!rc) *out = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  return rc;
}

static int is_wal(sqlite3 *db) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL) != SQLITE_OK) return 0;
  int ok = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) && !strcmp((const char *)sqlite3_column_text(st, 0), "wal");
  sqlite3_finalize(st);
  return ok;
}

sqlite3 *store_open(const char *storage, int write) {
  char path[4200];
  if (!dirs_ready(storage)) return NULL;
  snprintf(path, sizeof path, "%s/state.db", storage);
  sqlite3 *db;
  if (sqlite3_open_v2(path, &db, write ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
    sqlite3_close(db);
    return NULL;
  }
  sqlite3_busy_timeout(db, 30000);
  int version = -1;
  if (pragma_int(db, "PRAGMA user_version", &version) || version != CODEX32_SCHEMA_VERSION || !is_wal(db)) {
    sqlite3_close(db);
    return NULL;
  }
  return db;
}
