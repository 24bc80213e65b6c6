/* inspect: the docker-shaped document of src/engine/inspect.ts for the containers it can render exactly.
   A container with a health check, an entrypoint, a custom seccomp profile, exposed ports, tmpfs mounts,
   blkio or CPU limits, or no command goes to Node, and so does any row Node would reconcile. */
#define _GNU_SOURCE
#include "inspect.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "jq.h"
#include "jw.h"
#include "lookup.h"

static void iso_or_zero(struct jw *w, const char *key, int64_t ms) {
  char iso[40];
  if (!ms || iso_time(ms, iso, sizeof iso)) snprintf(iso, sizeof iso, "0001-01-01T00:00:00Z");
  jw_str(w, key, iso);
}

/* an array of strings at path ([] when nullish) */
static void str_array(struct jq *q, struct jw *w, const char *key, const char *json, const char *path) {
  jw_open(w, key, '[');
  for (jq_each(q, json, path); jq_next(q);) {
    if (strcmp(jq_vtype(q), "text")) q->bad = 1;
    else jw_str(w, NULL, jq_value(q));
  }
  jw_close(w, ']');
}

/* a key JavaScript would move to the front of an object (an array index) */
static int index_like(const char *k) {
  size_t n = strlen(k);
  return n && n <= 10 && strspn(k, "0123456789") == n && (k[0] != '0' || n == 1);
}

static void state_doc(struct jq *q, struct jw *w, const struct row *r) {
  const char *s = r->state;
  int running = !strcmp(r->status, "running") || !strcmp(r->status, "stopping");
  jw_open(w, "State", '{');
  jw_str(w, "Status", r->status);
  jw_bool(w, "Running", running);
  jw_bool(w, "Restarting", !strcmp(r->status, "restarting"));
  jw_bool(w, "Dead", !strcmp(r->status, "dead"));
  jw_int(w, "Pid", running ? jq_int(q, s, "$.init.pid", 0) : 0);
  jw_int(w, "ExitCode", jq_int(q, s, "$.exitCode", 0));
  jw_int(w, "Signal", jq_int(q, s, "$.signal", 0));
  jw_bool(w, "OOMKilled", jq_bool(q, s, "$.oomKilled", 0));
  char *err = jq_str(q, s, "$.error", ""), *reason = jq_str(q, s, "$.reason", "");
  jw_str(w, "Error", err);
  jw_str(w, "Reason", reason);
  free(err), free(reason);
  iso_or_zero(w, "StartedAt", jq_int(q, s, "$.startedAt", 0));
  iso_or_zero(w, "FinishedAt", jq_int(q, s, "$.finishedAt", 0));
  jw_close(w, '}');
  if (jq_type(q, s, "$.restartCount") == NULL || strcmp(jq_type(q, s, "$.restartCount"), "integer")) q->bad = 1;
  jw_int(w, "RestartCount", jq_int(q, s, "$.restartCount", 0));
}

static void config_doc(struct jq *q, struct jw *w, const struct row *r) {
  const char *c = r->config;
  char *name = jq_str(q, c, "$.name", NULL), *host = jq_str(q, c, "$.hostname", name), *wd = jq_str(q, c, "$.workdir", "");
  jw_open(w, "Config", '{');
  jw_str(w, "Hostname", host);
  jw_open(w, "Env", '[');
  if (jq_nullish(q, c, "$.env") || strcmp(jq_type(q, c, "$.env"), "object")) q->bad = 1;
  for (jq_each(q, c, "$.env"); jq_next(q);) {
    if (strcmp(jq_vtype(q), "text") || index_like(jq_key(q))) q->bad = 1;
    char *kv = NULL;
    if (asprintf(&kv, "%s=%s", jq_key(q), jq_value(q) ? jq_value(q) : "") < 0) abort();
    jw_str(w, NULL, kv);
    free(kv);
  }
  jw_close(w, ']');
  str_array(q, w, "Cmd", c, "$.command");
  jw_null(w, "Entrypoint");
  jw_str(w, "WorkingDir", wd);
  if (jq_nullish(q, c, "$.user")) jw_str(w, "User", "");
  else {
    char u[64];
    snprintf(u, sizeof u, "%lld:%lld", (long long)jq_int(q, c, "$.user.uid", -1), (long long)jq_int(q, c, "$.user.gid", -1));
    jw_str(w, "User", u);
  }
  if (jq_nullish(q, c, "$.labels") || strcmp(jq_type(q, c, "$.labels"), "object")) q->bad = 1;
  jw_open(w, "Labels", '{');
  for (jq_each(q, c, "$.labels"); jq_next(q);) {
    if (strcmp(jq_vtype(q), "text") || index_like(jq_key(q))) q->bad = 1;
    else jw_str(w, jq_key(q), jq_value(q));
  }
  jw_close(w, '}');
  static const char *const ints[][2] = {{"StopSignal", "$.stopSignal"}, {"StopTimeout", "$.stopTimeout"}};
  for (int i = 0; i < 2; i++) {
    if (jq_nullish(q, c, ints[i][1])) q->bad = 1;
    jw_int(w, ints[i][0], jq_int(q, c, ints[i][1], 0));
  }
  if (jq_nullish(q, c, "$.tty") || jq_nullish(q, c, "$.interactive")) q->bad = 1;
  jw_bool(w, "Tty", jq_bool(q, c, "$.tty", 0));
  jw_bool(w, "OpenStdin", jq_bool(q, c, "$.interactive", 0));
  jw_close(w, '}');
  free(name), free(host), free(wd);
}

/* the published ports, in order: "PORT/PROTO", host address and port; -1 past 64 */
struct port {
  char key[48], ip[64], hp[24];
};

static int ports_of(struct jq *q, const char *c, struct port *ps) {
  int n = 0;
  for (jq_each(q, c, "$.publish"); jq_next(q) && n < 64; n++) {
    char *p = strdup(jq_value(q));
    char *proto = jq_str(q, p, "$.protocol", NULL), *ip = jq_str(q, p, "$.hostIp", NULL);
    snprintf(ps[n].key, sizeof ps[n].key, "%lld/%s", (long long)jq_int(q, p, "$.containerPort", -1), proto);
    snprintf(ps[n].ip, sizeof ps[n].ip, "%s", ip);
    snprintf(ps[n].hp, sizeof ps[n].hp, "%lld", (long long)jq_int(q, p, "$.hostPort", -1));
    if (strlen(ip) >= sizeof ps[n].ip || strlen(proto) > 8) q->bad = 1;
    free(p), free(proto), free(ip);
  }
  if (n == 64) q->bad = 1;
  return n;
}

/* PortBindings / NetworkSettings.Ports: published ports grouped by "PORT/PROTO", in first-seen order */
static void port_map(struct jw *w, const char *key, const struct port *ps, int n) {
  jw_open(w, key, '{');
  for (int i = 0; i < n; i++) {
    int first = 1;
    for (int j = 0; j < i; j++) first &= strcmp(ps[j].key, ps[i].key) != 0;
    if (!first) continue;
    jw_open(w, ps[i].key, '[');
    for (int j = i; j < n; j++) {
      if (strcmp(ps[j].key, ps[i].key)) continue;
      jw_open(w, NULL, '{');
      jw_str(w, "HostIp", ps[j].ip);
      jw_str(w, "HostPort", ps[j].hp);
      jw_close(w, '}');
    }
    jw_close(w, ']');
  }
  jw_close(w, '}');
}

/* 1 when every key of the object at path is one this renderer knows: a setting added later goes to Node
   until it is rendered here too */
static int known_keys(struct jq *q, const char *c, const char *path, const char *const *keys) {
  for (jq_each(q, c, path); jq_next(q);) {
    int found = 0;
    for (int i = 0; keys[i] && !found; i++) found = !strcmp(keys[i], jq_key(q));
    if (!found) return 0;
  }
  return 1;
}

/* features whose rendering stays in Node (see the top of this file) */
static int unsupported(struct jq *q, const char *c) {
  static const char *const config_keys[] = {
      "name", "image", "command", "env", "limits", "volumes", "refreshApp", "allowHostRoot", "restart", "stopSignal", "stopTimeout",
      "logMaxSize", "logMaxFiles", "labels", "tty", "interactive", "publish", "dns", "addHosts", "capAdd", "capDrop", "tmpfs",
      "isolation", "network", "hostname", "workdir", "user", "entrypoint", "health", "seccomp", "exposedPorts", "blkio", "port",
      "timeout", "networkBandwidth", "readOnly", "shmSize", "noNewPrivileges", NULL};
  static const char *const limit_keys[] = {"memory", "cpus", "cpuShares", "pids", "nofile", "cpuTime", "fsize", NULL};
  if (!known_keys(q, c, "$", config_keys) || !known_keys(q, c, "$.limits", limit_keys)) return 1;
  static const char *const absent[] = {"$.health", "$.entrypoint", "$.blkio", "$.limits.cpus", NULL};
  for (int i = 0; absent[i]; i++)
    if (!jq_nullish(q, c, absent[i])) return 1;
  static const char *const empty[] = {"$.exposedPorts", "$.tmpfs", NULL};
  for (int i = 0; empty[i]; i++) {
    jq_each(q, c, empty[i]);
    if (jq_next(q)) return 1;
  }
  if (!jq_nullish(q, c, "$.seccomp")) {
    char *s = jq_str(q, c, "$.seccomp", NULL);
    int custom = strcmp(s, "default") != 0;
    free(s);
    if (custom) return 1;
  }
  jq_each(q, c, "$.command");
  return !jq_next(q);
}

/* networkMode(): the configured one, else none for strict and host otherwise */
static char *net_mode(struct jq *q, const char *c, const char *isolation) {
  char *m = jq_str(q, c, "$.network", "");
  if (*m) return m;
  free(m);
  return strdup(!strcmp(isolation, "strict") ? "none" : "host");
}

static void host_config(struct jq *q, struct jw *w, const char *c, const char *isolation, const char *mode, const struct port *ps, int np) {
  int minimal = !strcmp(isolation, "minimal");
  jw_open(w, "HostConfig", '{');
  jw_str(w, "Isolation", isolation);
  jw_int(w, "Memory", jq_int(q, c, "$.limits.memory", 0));
  jw_int(w, "NanoCpus", 0);
  jw_int(w, "CpuShares", jq_int(q, c, "$.limits.cpuShares", 0));
  jw_int(w, "PidsLimit", jq_int(q, c, "$.limits.pids", 0));
  jw_int(w, "Nofile", jq_int(q, c, "$.limits.nofile", 0));
  jw_open(w, "RestartPolicy", '{');
  char *rname = jq_str(q, c, "$.restart.name", NULL);
  jw_str(w, "Name", rname);
  free(rname);
  if (jq_nullish(q, c, "$.restart.maxRetries") || jq_nullish(q, c, "$.logMaxSize") || jq_nullish(q, c, "$.logMaxFiles")) q->bad = 1;
  jw_int(w, "MaximumRetryCount", jq_int(q, c, "$.restart.maxRetries", 0));
  jw_close(w, '}');
  jw_bool(w, "AutoRemove", 0); /* a container with autoRemove in its config is Node's to render (known_keys) */
  jw_int(w, "Timeout", jq_int(q, c, "$.timeout", 0));
  jw_open(w, "LogConfig", '{');
  jw_int(w, "MaxSize", jq_int(q, c, "$.logMaxSize", 0));
  jw_int(w, "MaxFiles", jq_int(q, c, "$.logMaxFiles", 0));
  jw_close(w, '}');
  jw_str(w, "NetworkMode", mode);
  port_map(w, "PortBindings", ps, np);
  str_array(q, w, "Dns", c, "$.dns");
  jw_open(w, "ExtraHosts", '[');
  for (jq_each(q, c, "$.addHosts"); jq_next(q);) {
    char *h = strdup(jq_value(q)), *host = jq_str(q, h, "$.host", NULL), *ip = jq_str(q, h, "$.ip", NULL), *hi = NULL;
    if (asprintf(&hi, "%s:%s", host, ip) < 0) abort();
    jw_str(w, NULL, hi);
    free(h), free(host), free(ip), free(hi);
  }
  jw_close(w, ']');
  jw_int(w, "NetworkBandwidth", jq_int(q, c, "$.networkBandwidth", 0));
  jw_int(w, "BlkioWeight", 0);
  str_array(q, w, "CapAdd", c, "$.capAdd");
  str_array(q, w, "CapDrop", c, "$.capDrop");
  jw_bool(w, "ReadonlyRootfs", !strcmp(isolation, "strict") || jq_bool(q, c, "$.readOnly", 0));
  jw_open(w, "Tmpfs", '{');
  jw_close(w, '}');
  jw_int(w, "ShmSize", minimal ? 0 : jq_int(q, c, "$.shmSize", 64 * 1024 * 1024));
  static const char *const blkio[] = {"BlkioDeviceReadBps", "BlkioDeviceWriteBps", "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps"};
  for (int i = 0; i < 4; i++) jw_open(w, blkio[i], '['), jw_close(w, ']');
  jw_open(w, "SecurityOpt", '[');
  if (!minimal || jq_bool(q, c, "$.noNewPrivileges", 0)) jw_str(w, NULL, "no-new-privileges");
  jw_close(w, ']');
  jw_close(w, '}');
}

static void mounts(struct jq *q, struct jw *w, const char *c) {
  jw_open(w, "Mounts", '[');
  for (jq_each(q, c, "$.volumes"); jq_next(q);) {
    char *v = strdup(jq_value(q)), *src = jq_str(q, v, "$.source", NULL), *dst = jq_str(q, v, "$.target", NULL);
    jw_open(w, NULL, '{');
    jw_str(w, "Type", "bind");
    jw_str(w, "Source", src);
    jw_str(w, "Destination", dst);
    jw_bool(w, "RW", !jq_bool(q, v, "$.readOnly", 0));
    jw_close(w, '}');
    free(v), free(src), free(dst);
  }
  jw_close(w, ']');
}

/* networkInfo(): the address only while the private network is up (its lease file) */
static void network(struct jq *q, struct jw *w, const struct row *r, const char *mode, const struct port *ps, int np) {
  char lease[128], addr[64] = "";
  snprintf(lease, sizeof lease, "/run/codex32/net/c32-%.11s", r->id);
  FILE *f = !strcmp(mode, "private") ? fopen(lease, "re") : NULL;
  if (f) {
    size_t n = fread(addr, 1, sizeof addr - 1, f);
    addr[n] = 0;
    fclose(f);
    char *a = addr + strspn(addr, " \t\n\r\v\f");
    memmove(addr, a, strlen(a) + 1);
    for (n = strlen(addr); n && strchr(" \t\n\r\v\f", addr[n - 1]); n--) addr[n - 1] = 0;
  }
  const char *c = r->config;
  jw_open(w, "NetworkSettings", '{');
  jw_str(w, "Mode", mode);
  jw_str(w, "IPAddress", addr);
  jw_str(w, "Gateway", *addr ? "10.89.0.1" : "");
  port_map(w, "Ports", ps, np);
  int has_port = !jq_nullish(q, c, "$.port");
  int64_t port = jq_int(q, c, "$.port", 0);
  if (has_port) jw_int(w, "Port", port);
  else jw_null(w, "Port");
  char url[160] = "";
  if (strcmp(mode, "private") && has_port) snprintf(url, sizeof url, "http://127.0.0.1:%lld", (long long)port);
  else
    for (int i = 0; i < np && !*url; i++)
      if (!strcmp(strchr(ps[i].key, '/'), "/tcp"))
        snprintf(url, sizeof url, "http://%s:%s", strcmp(ps[i].ip, "0.0.0.0") ? ps[i].ip : "127.0.0.1", ps[i].hp);
  if (*url) jw_str(w, "URL", url);
  else jw_null(w, "URL");
  jw_close(w, '}');
}

/* Runs: the runs table, oldest first, as StateStore.listRuns maps it */
static void runs(struct jq *q, struct jw *w, const char *id) {
  sqlite3_stmt *st;
  jw_open(w, "Runs", '[');
  if (sqlite3_prepare_v2(q->db, "SELECT run, started_at, finished_at, exit_code, signal, oom, reason FROM runs WHERE container_id = ? ORDER BY run",
                         -1, &st, NULL) != SQLITE_OK) {
    q->bad = 1;
    return jw_close(w, ']');
  }
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  static const char *const keys[] = {"run", "startedAt", "finishedAt", "exitCode", "signal"};
  while (sqlite3_step(st) == SQLITE_ROW) {
    jw_open(w, NULL, '{');
    for (int i = 0; i < 6; i++)
      if (sqlite3_column_type(st, i) != SQLITE_INTEGER) q->bad = 1;
    if (sqlite3_column_type(st, 6) != SQLITE_TEXT) q->bad = 1;
    for (int i = 0; i < 5; i++) jw_int(w, keys[i], sqlite3_column_int64(st, i));
    jw_bool(w, "oom", sqlite3_column_int64(st, 5) == 1);
    jw_str(w, "reason", (const char *)sqlite3_column_text(st, 6));
    jw_close(w, '}');
  }
  sqlite3_finalize(st);
  jw_close(w, ']');
}

/* toInspect() of one settled row */
static void document(struct jq *q, struct jw *w, const struct row *r, const char *storage) {
  char created[40], logpath[4300];
  if (iso_time(r->created, created, sizeof created)) q->bad = 1;
  char *isolation = jq_str(q, r->config, "$.isolation", NULL), *image = jq_str(q, r->config, "$.image", NULL);
  char *mode = net_mode(q, r->config, isolation);
  struct port ps[64];
  int np = ports_of(q, r->config, ps);
  jw_open(w, NULL, '{');
  jw_str(w, "Id", r->id);
  jw_str(w, "Name", r->name);
  jw_str(w, "Created", created);
  char *path = jq_str(q, r->config, "$.command[0]", NULL);
  jw_str(w, "Path", path);
  free(path);
  jw_open(w, "Args", '[');
  for (jq_each(q, r->config, "$.command"); jq_next(q);)
    if (strcmp(jq_key(q), "0")) jw_str(w, NULL, jq_value(q));
  jw_close(w, ']');
  state_doc(q, w, r);
  jw_str(w, "Image", image);
  config_doc(q, w, r);
  host_config(q, w, r->config, isolation, mode, ps, np);
  mounts(q, w, r->config);
  snprintf(logpath, sizeof logpath, "%s/containers/%s/container.log", storage, r->id);
  jw_str(w, "LogPath", logpath);
  network(q, w, r, mode, ps, np);
  runs(q, w, r->id);
  jw_close(w, '}');
  free(isolation), free(image), free(mode);
}

int inspect_render(sqlite3 *db, const char *storage, char **refs, int n, struct buf *out) {
  struct jq q;
  if (jq_init(&q, db)) return -1;
  struct jw w = {.out = out};
  jw_open(&w, NULL, '[');
  for (int i = 0; i < n && !q.bad; i++) {
    struct row r = {0};
    if (row_find(db, refs[i], &r) || !row_settled(&q, storage, &r) || unsupported(&q, r.config)) q.bad = 1;
    else document(&q, &w, &r, storage);
    row_free(&r);
  }
  jw_close(&w, ']');
  buf_str(out, "\n");
  int bad = q.bad;
  jq_done(&q);
  return bad ? -1 : 0;
}
