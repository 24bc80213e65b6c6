/* sql: one statement with bound values, and IMMEDIATE transactions, as the Node store writes */
#ifndef CODEX32_CLI_SQL_H
#define CODEX32_CLI_SQL_H
#include <sqlite3.h>

/* run sql with values bound in order by types ('t' text, 'i' int64, 'n' null); the rows it changed, or -1 on
   failure (*constraint set when a UNIQUE or CHECK constraint refused it) */
int sql_run(sqlite3 *db, int *constraint, const char *sql, const char *types, ...);
/* BEGIN IMMEDIATE: the write lock up front, so no read-modify-write is lost */
int sql_begin(sqlite3 *db);
/* COMMIT when ok, else ROLLBACK; 0 when committed */
int sql_end(sqlite3 *db, int ok);
/* append an event as recordEvent does: time, type, container id and name, attrs (JSON) */
int sql_event(sqlite3 *db, long long time, const char *type, const char *id, const char *name, const char *attrs);
#endif
