/* ps: mirrors src/cli/commands/query.ts (ps) and src/cli/format.ts; rows come out in the store's order */
#define _GNU_SOURCE
#include "ps.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fresh.h"

#define COLS 8

/* one query for everything ps shows; the ORDER BY and WHERE are those of StateStore.listContainers */
static const char *const SQL =
    "SELECT id, name, status, created_at, json_extract(config, '$.image'), json_array_length(config, '$.command'),"
    " (SELECT group_concat(value, ' ') FROM json_each(config, '$.command')), json_extract(config, '$.isolation'),"
    " (SELECT group_concat(json_extract(value, '$.hostIp') || ':' || json_extract(value, '$.hostPort') || '->' ||"
    "   json_extract(value, '$.containerPort') || '/' || json_extract(value, '$.protocol'), ', ') FROM json_each(config, '$.publish')),"
    " json_extract(state, '$.startedAt'), json_extract(state, '$.finishedAt'), json_extract(state, '$.exitCode'),"
    " json_extract(state, '$.reason'), json_extract(state, '$.restartCount'), json_extract(state, '$.init.pid'),"
    " json_extract(state, '$.shim.pid'), json_extract(state, '$.shim.start'), json_extract(state, '$.mark'),"
    " json_extract(state, '$.cgroups.oomEvents'), json_extract(state, '$.oomSeen')"
    " FROM containers %s ORDER BY created_at DESC";

struct row {
  char *cell[COLS];
  const char *id, *name, *status, *image, *command, *isolation, *ports;
  int64_t created, exit_code, restarts, pid;
  int has_exit;
  char state[96];
  char iso[40];
};

static const char *text(sqlite3_stmt *st, int i) {
  const unsigned char *t = sqlite3_column_text(st, i);
  return t ? (const char *)t : "";
}

/* an integer column, or dflt when NULL; -1 for any other type */
static int int_col(sqlite3_stmt *st, int i, int64_t dflt, int64_t *out, int *present) {
  int t = sqlite3_column_type(st, i);
  if (present) *present = t == SQLITE_INTEGER;
  if (t == SQLITE_NULL) return *out = dflt, 0;
  if (t != SQLITE_INTEGER) return -1;
  *out = sqlite3_column_int64(st, i);
  return 0;
}

static int is_active(const char *s) {
  return !strcmp(s, "starting") || !strcmp(s, "running") || !strcmp(s, "restarting") || !strcmp(s, "stopping");
}

/* statusLine(row, now) */
static int status_line(sqlite3_stmt *st, const char *status, int64_t now, char *out, size_t outsz) {
  int64_t started, finished, code;
  char d[64];
  if (int_col(st, 9, now, &started, NULL) || int_col(st, 10, now, &finished, NULL) || int_col(st, 11, 0, &code, NULL)) return -1;
  if (!strcmp(status, "running")) {
    human_duration(now - started, d, sizeof d);
    snprintf(out, outsz, "Up %s", d);
  } else if (!strcmp(status, "restarting") || !strcmp(status, "exited")) {
    human_duration(now - finished, d, sizeof d);
    snprintf(out, outsz, "%s (%lld) %s ago", status[0] == 'r' ? "Restarting" : "Exited", (long long)code, d);
  } else if (!strcmp(status, "dead")) {
    if (sqlite3_column_type(st, 12) != SQLITE_NULL && sqlite3_column_type(st, 12) != SQLITE_TEXT) return -1;
    snprintf(out, outsz, "Dead (%s)", sqlite3_column_type(st, 12) == SQLITE_NULL ? "unknown" : text(st, 12));
  } else {
    snprintf(out, outsz, "%c%s", status[0] - 'a' + 'A', status + 1);
  }
  return 0;
}

/* read one result row; -1 when it needs Node or holds something unexpected */
static int read_row(sqlite3_stmt *st, const char *storage, int64_t now, struct row *r) {
  for (int i = 0; i < 8; i++)
    if (i != 3 && i != 5 && i != 6 && i != 8 && sqlite3_column_type(st, i) != SQLITE_TEXT) return -1;
  r->id = text(st, 0), r->name = text(st, 1), r->status = text(st, 2), r->image = text(st, 4);
  r->command = text(st, 6), r->isolation = text(st, 7), r->ports = text(st, 8);
  int64_t ncmd, init_pid, shim_pid, oom_seen;
  if (strlen(r->id) != 64 || !r->status[0] || int_col(st, 3, 0, &r->created, NULL) || sqlite3_column_type(st, 3) != SQLITE_INTEGER ||
      int_col(st, 5, 0, &ncmd, NULL) || sqlite3_column_type(st, 5) != SQLITE_INTEGER || int_col(st, 11, 0, &r->exit_code, &r->has_exit) ||
      sqlite3_column_type(st, 13) != SQLITE_INTEGER || int_col(st, 13, 0, &r->restarts, NULL) || int_col(st, 14, 0, &init_pid, NULL) ||
      int_col(st, 15, 0, &shim_pid, NULL) || int_col(st, 19, 0, &oom_seen, NULL))
    return -1;
  if (is_active(r->status)) {
    struct active_row a = {r->id, r->status, shim_pid, sqlite3_column_type(st, 16) == SQLITE_TEXT ? text(st, 16) : NULL,
                           sqlite3_column_type(st, 17) == SQLITE_TEXT ? text(st, 17) : NULL,
                           sqlite3_column_type(st, 18) == SQLITE_TEXT ? text(st, 18) : NULL, oom_seen};
    if (!row_fresh(storage, &a)) return -1;
  }
  r->pid = !strcmp(r->status, "running") ? init_pid : 0;
  if (status_line(st, r->status, now, r->state, sizeof r->state) || iso_time(r->created, r->iso, sizeof r->iso)) return -1;
  /* the table's cells */
  char img[200], cmd[200], created[80], quoted[4096];
  if (ellipsis(r->image, 24, img, sizeof img)) return -1;
  struct buf q = {0};
  if (ncmd) buf_json(&q, r->command);
  else {
    const char *base = r->image;
    size_t len = strlen(base);
    while (len > 1 && base[len - 1] == '/') len--;
    const char *slash = memrchr(base, '/', len);
    buf_fmt(&q, "(%.*s)", (int)(len - (slash ? (size_t)(slash + 1 - base) : 0)), slash ? slash + 1 : base);
  }
  snprintf(quoted, sizeof quoted, "%s", q.p ? q.p : "");
  free(q.p);
  if (ellipsis(quoted, 24, cmd, sizeof cmd)) return -1;
  human_duration(now - r->created, created, sizeof created - 4);
  strcat(created, " ago");
  const char *cells[COLS] = {NULL, img, cmd, created, r->state, r->isolation, r->ports, r->name};
  for (int i = 0; i < COLS; i++) r->cell[i] = i ? strdup(cells[i]) : strndup(r->id, 12);
  return 0;
}

static void render_json(struct row *rows, size_t n, struct buf *out) {
  if (!n) return buf_str(out, "[]\n");
  buf_str(out, "[\n");
  for (size_t i = 0; i < n; i++) {
    struct row *r = &rows[i];
    buf_str(out, "  {\n    \"Id\": "), buf_json(out, r->id);
    buf_str(out, ",\n    \"Name\": "), buf_json(out, r->name);
    buf_str(out, ",\n    \"Image\": "), buf_json(out, r->image);
    buf_str(out, ",\n    \"Command\": "), buf_json(out, r->command);
    buf_str(out, ",\n    \"Created\": "), buf_json(out, r->iso);
    buf_str(out, ",\n    \"Status\": "), buf_json(out, r->status);
    buf_str(out, ",\n    \"State\": "), buf_json(out, r->state);
    if (r->has_exit) buf_fmt(out, ",\n    \"ExitCode\": %lld", (long long)r->exit_code);
    else buf_str(out, ",\n    \"ExitCode\": null");
    buf_fmt(out, ",\n    \"RestartCount\": %lld", (long long)r->restarts);
    buf_str(out, ",\n    \"Isolation\": "), buf_json(out, r->isolation);
    buf_str(out, ",\n    \"Ports\": "), buf_json(out, r->ports);
    buf_fmt(out, ",\n    \"Pid\": %lld\n  }%s\n", (long long)r->pid, i + 1 < n ? "," : "");
  }
  buf_str(out, "]\n");
}

/* table(): columns padded to the widest cell plus 3, trailing blanks trimmed */
static void render_table(struct row *rows, size_t n, struct buf *out) {
  static const char *const head[COLS] = {"CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "ISOLATION", "PORTS", "NAMES"};
  size_t w[COLS];
  for (int c = 0; c < COLS; c++) {
    w[c] = js_length(head[c]);
    for (size_t i = 0; i < n; i++)
      if (js_length(rows[i].cell[c]) > w[c]) w[c] = js_length(rows[i].cell[c]);
  }
  for (size_t i = 0; i <= n; i++) {
    size_t start = out->len;
    for (int c = 0; c < COLS; c++) {
      const char *s = i ? rows[i - 1].cell[c] : head[c];
      if (c == COLS - 1) buf_str(out, s);
      else buf_pad(out, s, w[c] + 3);
    }
    while (out->len > start && (out->p[out->len - 1] == ' ' || out->p[out->len - 1] == '\t')) out->p[--out->len] = 0;
    buf_str(out, "\n");
  }
}

int ps_render(sqlite3 *db, const char *storage, const struct ps_opts *o, struct buf *out) {
  char sql[2400];
  snprintf(sql, sizeof sql, SQL, o->all ? "" : "WHERE status IN ('starting', 'running', 'restarting', 'stopping')");
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return -1;
  int64_t now = wall_ms();
  size_t n = 0, cap = 0;
  struct row *rows = NULL;
  int rc, bad = 0;
  while (!bad && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (n == cap) {
      cap = cap ? cap * 2 : 64;
      rows = realloc(rows, cap * sizeof *rows);
      if (!rows) abort();
    }
    memset(&rows[n], 0, sizeof rows[n]);
    if (read_row(st, storage, now, &rows[n])) bad = 1;
    else {
      /* the strings live until the next step: keep copies */
      struct row *r = &rows[n++];
      r->id = strdup(r->id), r->name = strdup(r->name), r->status = strdup(r->status), r->image = strdup(r->image);
      r->command = strdup(r->command), r->isolation = strdup(r->isolation), r->ports = strdup(r->ports);
    }
  }
  if (!bad && rc != SQLITE_DONE) bad = 1;
  sqlite3_finalize(st);
  if (bad) return -1;
  if (o->quiet)
    for (size_t i = 0; i < n; i++) buf_fmt(out, "%.12s\n", rows[i].id);
  else if (o->json) render_json(rows, n, out);
  else render_table(rows, n, out);
  return 0; /* the process ends right after: the rows are not freed one by one */
}
