/* stats: one sample of the running containers as src/cli/commands/monitor.ts prints it (--no-stream, --json).
   As Node does, it lists the containers, reads their CPU time, waits half a second, lists them again and
   reads everything: CPU % is the CPU time used between the two reads. The first read takes only the CPU
   time, the one figure of it that is shown. Streaming, bots (their processes are Node's to sample), a
   container without CPU and memory accounting in its cgroups, and any row Node would reconcile go to Node. */
#define _GNU_SOURCE
#include "stats.h"
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cgread.h"
#include "fallback.h"
#include "fresh.h"
#include "lookup.h"
#include "settings.h"
#include "store.h"
#include "text.h"

#define SAMPLE_GAP_MS 500 /* monitor.ts waits as long between its two samples: keep the two equal */

struct sample {
  char *id, *name, *cpu_usage, *memory_dir, *pids_dir;
  struct cg_files f;
  int64_t started, restarts;
  double config_limit; /* config.limits.memory, -1 when unset */
  double cpu_ms, usage, limit, rss, pids;
};

struct pass {
  struct sample *s;
  size_t n, cap;
  double at;  /* when the CPU times were read (monotonic ms) */
  int64_t now; /* Date.now() at that moment */
};

/* every column a sample needs; WHERE is StateStore.listContainers' (active rows) or one id */
static const char *const SQL =
    "SELECT id, name, status, json_extract(state, '$.shim.pid'), json_extract(state, '$.shim.start'), json_extract(state, '$.mark'),"
    " json_extract(state, '$.cgroups.oomEvents'), json_extract(state, '$.oomSeen'), json_extract(state, '$.startedAt'),"
    " json_extract(state, '$.restartCount'), json_extract(state, '$.cgroups.version'), json_extract(state, '$.cgroups.cpuUsage'),"
    " json_extract(state, '$.cgroups.memoryDir'), json_extract(state, '$.cgroups.dirs[0]'),"
    " (SELECT value FROM json_each(state, '$.cgroups.dirs') WHERE type = 'text' AND instr(value, '/pids/codex32/') > 0 LIMIT 1),"
    " json_type(config, '$.limits'), json_extract(config, '$.limits.memory')"
    " FROM containers WHERE %s ORDER BY created_at DESC";

static const char *text_or_null(sqlite3_stmt *st, int i) {
  return sqlite3_column_type(st, i) == SQLITE_TEXT ? (const char *)sqlite3_column_text(st, i) : NULL;
}

/* an integer column (dflt when NULL); -1 for any other type */
static int int_or(sqlite3_stmt *st, int i, int64_t dflt, int64_t *out) {
  int t = sqlite3_column_type(st, i);
  if (t == SQLITE_NULL) return *out = dflt, 0;
  if (t != SQLITE_INTEGER) return -1;
  *out = sqlite3_column_int64(st, i);
  return 0;
}

/* one listed row: -1 when Node would reconcile it or sample it otherwise; a running one is added to p */
static int take_row(sqlite3_stmt *st, const char *storage, struct pass *p) {
  const char *id = text_or_null(st, 0), *name = text_or_null(st, 1), *status = text_or_null(st, 2);
  int64_t shim_pid, oom_seen, started, restarts, limit;
  if (!id || strlen(id) != 64 || !name || !status || int_or(st, 3, 0, &shim_pid) || int_or(st, 7, 0, &oom_seen)) return -1;
  int active = !strcmp(status, "starting") || !strcmp(status, "running") || !strcmp(status, "restarting") || !strcmp(status, "stopping");
  if (active) {
    struct active_row a = {id, status, shim_pid, text_or_null(st, 4), text_or_null(st, 5), text_or_null(st, 6), oom_seen};
    if (!row_fresh(storage, &a)) return -1;
  }
  if (strcmp(status, "running")) return 0;
  const char *version = text_or_null(st, 10), *cpu = text_or_null(st, 11), *mem = text_or_null(st, 12), *limits = text_or_null(st, 15);
  if (!version || (strcmp(version, "v1") && strcmp(version, "v2")) || !cpu || !mem || !limits || strcmp(limits, "object")) return -1;
  const char *pids = text_or_null(st, version[1] == '2' ? 13 : 14);
  if (!pids || int_or(st, 8, 0, &started) || sqlite3_column_type(st, 9) != SQLITE_INTEGER || int_or(st, 9, 0, &restarts) ||
      int_or(st, 16, -1, &limit) || limit < -1 || limit >= (1LL << 53))
    return -1;
  if (p->n == p->cap) {
    p->cap = p->cap ? p->cap * 2 : 64;
    p->s = realloc(p->s, p->cap * sizeof *p->s);
    if (!p->s) abort();
  }
  struct sample *s = &p->s[p->n++];
  memset(s, 0, sizeof *s);
  s->id = strdup(id), s->name = strdup(name), s->cpu_usage = strdup(cpu), s->memory_dir = strdup(mem), s->pids_dir = strdup(pids);
  s->f = (struct cg_files){version[1] == '2', s->cpu_usage, s->memory_dir, s->pids_dir};
  s->started = started, s->restarts = restarts, s->config_limit = (double)limit;
  return 0;
}

/* the rows matching `where` (with ref bound, if any) */
static int take_rows(sqlite3 *db, const char *storage, const char *where, const char *ref, struct pass *p) {
  char sql[2400];
  sqlite3_stmt *st;
  snprintf(sql, sizeof sql, SQL, where);
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return -1;
  if (ref) sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
  int rc, bad = 0;
  while (!bad && (rc = sqlite3_step(st)) == SQLITE_ROW) bad = take_row(st, storage, p);
  sqlite3_finalize(st);
  return bad || rc != SQLITE_DONE ? -1 : 0;
}

/* allStats(): every running container, or those named, each found as the engine's get() finds it */
static int list(sqlite3 *db, const char *storage, char **refs, int nrefs, struct pass *p) {
  if (!nrefs) return take_rows(db, storage, "status IN ('starting', 'running', 'restarting', 'stopping')", NULL, p);
  struct jq q;
  if (jq_init(&q, db)) return -1;
  int bad = 0;
  for (int i = 0; !bad && i < nrefs; i++) {
    struct row r = {0};
    bad = row_find(db, refs[i], &r) || !row_settled(&q, storage, &r) || q.bad || take_rows(db, storage, "id = ?1", r.id, p);
    row_free(&r);
  }
  jq_done(&q);
  return bad ? -1 : 0;
}

static double mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

/* sampleStats(): the CPU times first, the moment, then (full) memory and process counts */
static int sample(struct pass *p, int full) {
  for (size_t i = 0; i < p->n; i++)
    if (cg_cpu_ms(&p->s[i].f, &p->s[i].cpu_ms)) return -1;
  p->at = mono_ms(), p->now = wall_ms();
  for (size_t i = 0; full && i < p->n; i++) {
    struct sample *s = &p->s[i];
    if (cg_rss(&s->f, &s->rss) || cg_tasks(&s->f, &s->pids) || cg_memory(&s->f, &s->usage, &s->limit)) return -1;
    if (s->limit < 0) s->limit = s->config_limit; /* mem?.limit ?? r.config.limits.memory */
  }
  return 0;
}

/* cpuPercent() against the first pass's sample of the same container (0 for one that was not there) */
static double cpu_percent(const struct pass *prev, size_t hint, const struct pass *cur, const struct sample *s) {
  const struct sample *old = hint < prev->n && !strcmp(prev->s[hint].id, s->id) ? &prev->s[hint] : NULL;
  for (size_t i = 0; !old && i < prev->n; i++)
    if (!strcmp(prev->s[i].id, s->id)) old = &prev->s[i];
  if (!old || cur->at <= prev->at) return 0;
  return fmax(0, ((s->cpu_ms - old->cpu_ms) / (cur->at - prev->at)) * 100);
}

/* Number.prototype.toFixed(digits) for |x| < 1e21: the exact value rounded half up, as V8 does (printf
   rounds an exact tie such as 0.125 to even, V8 up: the exact expansion is rounded here by hand) */
static void js_fixed(double x, int digits, char *out, size_t outsz) {
  char full[420];
  /* 90 places hold every double from 2^-37 up exactly; smaller ones round to zero either way */
  snprintf(full, sizeof full, "%.90f", fabs(x));
  size_t keep = (size_t)(strchr(full, '.') - full) + 1 + (size_t)digits;
  int up = full[keep] >= '5';
  full[keep] = 0;
  int i = (int)keep - 1;
  for (; up && i >= 0; i--) {
    if (full[i] == '.') continue;
    if (full[i] < '9') break;
    full[i] = '0';
  }
  if (up && i >= 0) full[i]++;
  snprintf(out, outsz, "%s%s%s", x < 0 ? "-" : "", up && i < 0 ? "1" : "", full);
}

/* monitor.ts size(): "-" when undefined (negative here) */
static void size_text(double n, char *out, size_t outsz) {
  char f[440];
  if (n < 0) snprintf(out, outsz, "-");
  else if (n < 1024 * 1024) js_fixed(n / 1024, 1, f, sizeof f), snprintf(out, outsz, "%sKiB", f);
  else if (n < 1024.0 * 1024 * 1024) js_fixed(n / 1024 / 1024, 1, f, sizeof f), snprintf(out, outsz, "%sMiB", f);
  else js_fixed(n / 1024 / 1024 / 1024, 2, f, sizeof f), snprintf(out, outsz, "%sGiB", f);
}

#define COLS 8

static void render_table(const struct pass *prev, const struct pass *cur, struct buf *out) {
  static const char *const head[COLS] = {"CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "PIDS", "UPTIME", "RESTARTS"};
  char **cell = calloc((cur->n + 1) * COLS, sizeof *cell);
  size_t w[COLS];
  if (!cell) abort();
  for (int c = 0; c < COLS; c++) cell[c] = strdup(head[c]);
  for (size_t i = 0; i < cur->n; i++) {
    const struct sample *s = &cur->s[i];
    char cpu[440], used[460], limit[460], pct[440], up[80];
    js_fixed(cpu_percent(prev, i, cur, s), 2, cpu, sizeof cpu);
    size_text(s->usage, used, sizeof used), size_text(s->limit, limit, sizeof limit);
    if (s->limit > 0) js_fixed((s->usage / s->limit) * 100, 2, pct, sizeof pct), strcat(pct, "%");
    else snprintf(pct, sizeof pct, "-");
    human_duration(s->started ? cur->now - s->started : 0, up, sizeof up);
    char **row = cell + (i + 1) * COLS;
    if (asprintf(&row[0], "%.12s", s->id) < 0 || asprintf(&row[2], "%s%%", cpu) < 0 ||
        asprintf(&row[3], "%s / %s", used, limit) < 0 || asprintf(&row[5], "%.0f", s->pids) < 0 ||
        asprintf(&row[7], "%lld", (long long)s->restarts) < 0)
      abort();
    row[1] = strdup(s->name), row[4] = strdup(pct), row[6] = strdup(up);
  }
  /* table(): each column but the last padded to its widest cell plus 3, trailing blanks trimmed */
  for (int c = 0; c < COLS; c++) {
    w[c] = 0;
    for (size_t i = 0; i <= cur->n; i++)
      if (js_length(cell[i * COLS + c]) > w[c]) w[c] = js_length(cell[i * COLS + c]);
  }
  for (size_t i = 0; i <= cur->n; i++) {
    size_t start = out->len;
    for (int c = 0; c < COLS; c++) {
      if (c == COLS - 1) buf_str(out, cell[i * COLS + c]);
      else buf_pad(out, cell[i * COLS + c], w[c] + 3);
    }
    while (out->len > start && (out->p[out->len - 1] == ' ' || out->p[out->len - 1] == '\t')) out->p[--out->len] = 0;
    buf_str(out, "\n");
  }
}

/* JSON.stringify(rows, null, 2): CPUPerc is Number(cpu.toFixed(2)), so without trailing zeros */
static void render_json(const struct pass *prev, const struct pass *cur, struct buf *out) {
  if (!cur->n) return buf_str(out, "[]\n");
  buf_str(out, "[\n");
  for (size_t i = 0; i < cur->n; i++) {
    const struct sample *s = &cur->s[i];
    char cpu[440], limit[40] = "null";
    js_fixed(cpu_percent(prev, i, cur, s), 2, cpu, sizeof cpu);
    size_t n = strlen(cpu);
    while (cpu[n - 1] == '0') cpu[--n] = 0;
    if (cpu[n - 1] == '.') cpu[--n] = 0;
    if (s->limit >= 0) snprintf(limit, sizeof limit, "%.0f", s->limit);
    buf_str(out, "  {\n    \"Id\": "), buf_json(out, s->id);
    buf_str(out, ",\n    \"Name\": "), buf_json(out, s->name);
    buf_fmt(out, ",\n    \"CPUPerc\": %s,\n    \"MemUsage\": %.0f,\n    \"MemLimit\": %s,\n    \"MemRSS\": %.0f", cpu, s->usage, limit, s->rss);
    buf_fmt(out, ",\n    \"PIDs\": %.0f,\n    \"UptimeMs\": %lld,\n    \"Restarts\": %lld\n  }%s\n", s->pids,
            (long long)(s->started ? cur->now - s->started : 0), (long long)s->restarts, i + 1 < cur->n ? "," : "");
  }
  buf_str(out, "]\n");
}

/* --no-stream, --json and container names, in any order; -1 for anything else, or for streaming */
static int stats_args(int argc, char **argv, int *json, char ***refs, int *nrefs) {
  int stream = 1;
  *refs = calloc((size_t)argc + 1, sizeof **refs);
  if (!*refs) abort();
  for (int i = 0; i < argc; i++) {
    if (!strcmp(argv[i], "--no-stream")) stream = 0;
    else if (!strcmp(argv[i], "--json")) *json = 1;
    else if (argv[i][0] == '-' || !argv[i][0]) return -1;
    else (*refs)[(*nrefs)++] = argv[i];
  }
  return stream && !*json ? -1 : 0;
}

/* 1 when the bots table is empty: a bot's usage, or a bot's name given as a container, is Node's */
static int no_bots(sqlite3 *db) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db, "SELECT EXISTS (SELECT 1 FROM bots)", -1, &st, NULL) != SQLITE_OK) return 0;
  int none = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER && sqlite3_column_int(st, 0) == 0;
  sqlite3_finalize(st);
  return none;
}

int stats_command(const char *storage, int argc, char **argv) {
  int json = 0, nrefs = 0;
  char **refs;
  if (stats_args(argc, argv, &json, &refs, &nrefs)) to_node();
  const char *dir = storage_dir(storage);
  sqlite3 *db = dir ? store_open(dir, 0) : NULL;
  struct pass first = {0}, second = {0};
  if (!db || !no_bots(db) || list(db, dir, refs, nrefs, &first) || sample(&first, 0)) to_node();
  /* the pause Node takes between its samples (docs/benchmarks.md: why half a second) */
  struct timespec gap = {SAMPLE_GAP_MS / 1000, (SAMPLE_GAP_MS % 1000) * 1000000L};
  while (nanosleep(&gap, &gap) && errno == EINTR) {}
  if (list(db, dir, refs, nrefs, &second) || sample(&second, 1)) to_node();
  sqlite3_close(db);
  struct buf out = {0};
  if (json) render_json(&first, &second, &out);
  else render_table(&first, &second, &out);
  signal(SIGPIPE, SIG_IGN);
  for (size_t off = 0; off < out.len;) {
    ssize_t n = write(1, out.p + off, out.len - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return errno == EPIPE ? 0 : 125; /* the reader went away: as Node, quietly */
    off += (size_t)n;
  }
  return 0; /* the process ends right after: nothing is freed one by one */
}
