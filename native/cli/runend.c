/* runend: a native run once its container exists: the supervisor launched as Node's launchShim does,
   the outcome recorded as startContainer does, then -d's id, or the log followed, the exit recorded as
   reconcile does and the container removed as removeContainer does */
#define _GNU_SOURCE
#include "run.h"
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "follow.h"
#include "readfile.h"
#include "recipe.h"
#include "sql.h"
#include "text.h"

int proc_start(pid_t pid, char *out, size_t outsz) {
  char path[64], st[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  if (read_small(path, st, sizeof st, 0) <= 0) return -1;
  char *p = strrchr(st, ')');
  for (int field = 2; p && field < 22; field++) p = strchr(p + 1, ' ');
  if (!p) return -1;
  size_t len = strcspn(p + 1, " ");
  if (!len || len >= outsz) return -1;
  snprintf(out, outsz, "%.*s", (int)len, p + 1);
  return 0;
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)st, (void)ftw;
  return type == FTW_DP ? rmdir(path) : unlink(path);
}

/* SIGKILL whatever is left in each cgroup, then remove it (killCgroups, removeCgroups) */
static void drop_cgroups(const struct started *c) {
  for (int i = 0; i < c->recipe->n; i++) {
    const char *v = recipe_at(c->recipe, i, "cgroup");
    if (!v) continue;
    struct buf d = {0}, procs = {0};
    recipe_fill(&d, v, c->pairs);
    buf_str(&procs, d.p), buf_str(&procs, "/cgroup.procs");
    for (int tries = 0; rmdir(d.p) && errno == EBUSY && tries < 500; tries++) {
      FILE *f = fopen(procs.p, "re");
      int pid;
      while (f && fscanf(f, "%d", &pid) == 1) kill(pid, SIGKILL);
      if (f) fclose(f);
      nanosleep(&(struct timespec){0, 4 * 1000000}, NULL);
    }
    free(d.p), free(procs.p);
  }
}

void undo_create(struct started *c) {
  drop_cgroups(c);
  net_down(c);
  nftw(c->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* the last exit the supervisor recorded: "RUN STARTED FINISHED CODE SIGNAL OOM REASON" */
struct exit_rec {
  long long run, started, finished;
  int code, sig, oom;
  char reason[32];
};
static int last_exit(const char *dir, struct exit_rec *e) {
  char p[4200], line[256];
  snprintf(p, sizeof p, "%s/exits", dir);
  FILE *f = fopen(p, "re");
  int found = 0;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "%lld %lld %lld %d %d %d %31s", &e->run, &e->started, &e->finished, &e->code, &e->sig, &e->oom, e->reason) == 7) found = 1;
  if (f) fclose(f);
  return found ? 0 : -1;
}

static sqlite3 *g_db;
static struct started *g_c;
static pid_t g_shim;
static char g_shim_start[32];

/* what `engine.kill(id, sig)` does when the run is interrupted: the kill event, then the stop request */
static void forward(int sig) {
  int ok = !sql_begin(g_db);
  int changed = ok ? sql_run(g_db, NULL, "UPDATE containers SET state = json_set(state, '$.userStopped', json('true')) WHERE id = ? AND status IN ('starting', 'running', 'restarting', 'stopping')", "t", g_c->id) : -1;
  struct buf attrs = {0};
  buf_fmt(&attrs, "{\"signal\":%d}", sig);
  ok = ok && changed >= 0 && (changed == 0 || !sql_event(g_db, wall_ms(), "kill", g_c->id, g_c->name, attrs.p));
  free(attrs.p);
  if (sql_end(g_db, ok) || changed != 1) return;
  char tmp[4300], fin[4300], line[64];
  snprintf(tmp, sizeof tmp, "%s/stop-request.tmp", g_c->dir);
  snprintf(fin, sizeof fin, "%s/stop-request", g_c->dir);
  int n = snprintf(line, sizeof line, "%d -1 killed main", sig);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || write(fd, line, (size_t)n) != n) {
    if (fd >= 0) close(fd);
    return;
  }
  close(fd);
  char now[32];
  if (!rename(tmp, fin) && !proc_start(g_shim, now, sizeof now) && !strcmp(now, g_shim_start)) kill(g_shim, SIGUSR1);
}

/* removeContainer's claim: `removing`, owned by us, unless another process is removing it already */
static const char SQL_REMOVING[] = "UPDATE containers SET status = 'removing', state = json_set(state, '$.owner', json(?)) WHERE id = ? AND status != 'removing'";

/* the rest of removeContainer once the row is `removing` and ours: processes, cgroups, network and files,
   then the row with its `remove` event */
static void remove_rest(sqlite3 *db, struct started *c) {
  undo_create(c);
  int ok = !sql_begin(db) && sql_run(db, NULL, "DELETE FROM containers WHERE id = ?", "t", c->id) >= 0 && !sql_event(db, wall_ms(), "remove", c->id, c->name, "{}");
  sql_end(db, ok);
}

/* removeContainer of a container that is not running: `removing`, owned by owner, then the rest */
static void remove_stopped(sqlite3 *db, struct started *c, const char *owner) {
  int mine = !sql_begin(db) && sql_run(db, NULL, SQL_REMOVING, "tt", owner, c->id) == 1;
  if (!sql_end(db, mine)) remove_rest(db, c);
}

void owner_ref(const struct started *c, struct buf *out) { buf_fmt(out, "{\"pid\":%d,\"start\":\"%s\"}", (int)getpid(), c->owner_start); }

int start_failed(sqlite3 *db, struct started *c, int rm, const char *why) {
  char spec[4200];
  snprintf(spec, sizeof spec, "%s/spec", c->dir);
  unlink(spec); /* a spec cut short must never be launched */
  net_down(c);
  drop_cgroups(c);
  int ok = !sql_begin(db) && sql_run(db, NULL, "UPDATE containers SET status = 'created', state = json_remove(state, '$.owner') WHERE id = ?", "t", c->id) == 1;
  sql_end(db, ok);
  if (rm) {
    struct buf owner = {0};
    owner_ref(c, &owner);
    remove_stopped(db, c, owner.p);
    free(owner.p);
  }
  fprintf(stderr, "codex32: %s [RUNTIME_FAILED]\n", why);
  return 125;
}

/* the supervisor's state line ("PHASE PID START RUN RESTARTS HEALTH STREAK STARTED") and how many events it
   logged, as reconcile reads them (readShimState, readShimEvents) */
static int shim_state(const char *dir, char *init, size_t initsz, long long *restarts, long long *started, long long *events) {
  char p[4200], line[512], pid[32], start[32];
  snprintf(p, sizeof p, "%s/state", dir);
  if (read_small(p, line, sizeof line, 1) <= 0 || sscanf(line, "%*s %31s %31s %*s %lld %*s %*s %lld", pid, start, restarts, started) != 4) return -1;
  snprintf(init, initsz, "{\"pid\":%s,\"start\":\"%s\"}", pid, start);
  *events = 0;
  snprintf(p, sizeof p, "%s/events", dir);
  FILE *f = fopen(p, "re");
  while (f && fgets(line, sizeof line, f))
    if (line[0] != '\n') (*events)++;
  if (f) fclose(f);
  return 0;
}

/* record the exit as reconcile does (the run, its die or oom event), then with rm remove the container, else
   leave it exited with reconcile's state; its exit code, or -1 when the supervisor recorded none */
static int finish(sqlite3 *db, struct started *c, const char *owner, int rm) {
  struct exit_rec e;
  char init[96];
  long long restarts = 0, started = 0, events = 0;
  if (last_exit(c->dir, &e) || (!rm && shim_state(c->dir, init, sizeof init, &restarts, &started, &events))) return -1;
  struct buf attrs = {0};
  buf_fmt(&attrs, "{\"exitCode\":%d,\"signal\":%d,\"reason\":", e.code, e.sig), buf_json(&attrs, e.reason), buf_fmt(&attrs, ",\"run\":%lld}", e.run);
  int ok = !sql_begin(db);
  int fresh = ok ? sql_run(db, NULL, "INSERT OR IGNORE INTO runs (container_id, run, started_at, finished_at, exit_code, signal, oom, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", "tiiiiiit", c->id, e.run, e.started, e.finished, (long long)e.code, (long long)e.sig, (long long)e.oom, e.reason) : -1;
  ok = ok && fresh >= 0 && (fresh == 0 || !sql_event(db, e.finished, e.oom ? "oom" : "die", c->id, c->name, attrs.p));
  int mine = !ok ? -1
             : rm ? sql_run(db, NULL, SQL_REMOVING, "tt", owner, c->id)
                  : sql_run(db, NULL,
                            "UPDATE containers SET status = 'exited', state = json_set(json_remove(state, '$.owner', '$.mark'), '$.shimEvents', ?, '$.init', json(?), "
                            "'$.restartCount', json_extract(state, '$.restartBase') + ?, '$.startedAt', CASE WHEN ? > 0 THEN ? ELSE json_extract(state, '$.startedAt') END, "
                            "'$.exitCode', ?, '$.signal', ?, '$.oomKilled', json(?), '$.reason', ?, '$.finishedAt', ?) WHERE id = ? AND status IN ('starting', 'running', 'restarting', 'stopping')",
                            "itiiiiitti" "t", events, init, restarts, started, started, (long long)e.code, (long long)e.sig, e.oom ? "true" : "false", e.reason, e.finished, c->id);
  free(attrs.p);
  if (sql_end(db, ok && mine >= 0) || mine != 1 || !rm) return e.code; /* not ours to remove: another process does (rm -f) */
  remove_rest(db, c);
  return e.code;
}

/* spawn `codex32-shim run DIR` in its own session, fd 3 its report pipe; the report's text */
static pid_t launch(const char *shim, const char *dir, struct buf *report) {
  int p[2];
  if (pipe2(p, O_CLOEXEC)) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_RDWR);
    if (setsid() < 0 || null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0 || dup2(p[1], 3) < 0) _exit(125);
    closefrom(4);
    unsetenv("CODEX32_RECIPE");
    execv(shim, (char *[]){(char *)shim, "run", (char *)dir, NULL});
    _exit(125);
  }
  close(p[1]);
  if (pid < 0) return close(p[0]), -1;
  char chunk[1024];
  ssize_t n;
  while ((n = read(p[0], chunk, sizeof chunk)) != 0)
    if (n > 0) buf_add(report, chunk, (size_t)n);
    else if (errno != EINTR) break;
  close(p[0]);
  return pid;
}

int run_started(sqlite3 *db, struct started *c, int detach, int rm) {
  const struct recipe *r = c->recipe;
  struct buf report = {0}, ref = {0}, owner = {0};
  owner_ref(c, &owner);
  const char *shim = recipe_get(r, "shim");
  pid_t pid = shim ? launch(shim, c->dir, &report) : -1;
  if (pid > 0) proc_start(pid, g_shim_start, sizeof g_shim_start);
  buf_fmt(&ref, "{\"pid\":%d,\"start\":\"%s\"}", (int)pid, g_shim_start);
  long long ipid = 0;
  char istart[32] = "", msg[1024] = "the supervisor exited before starting the container";
  int code = 125;
  const char *line = report.p ? report.p : "";
  if (!strncmp(line, "attach\n", 7)) line += 7;
  int started = sscanf(line, "ok %lld %31s", &ipid, istart) == 2 && *g_shim_start;
  if (!started && sscanf(line, "err %d %*d %1023[^\n]", &code, msg) < 1) code = 125;
  int ok = !sql_begin(db);
  if (started) {
    struct buf init = {0};
    buf_fmt(&init, "{\"pid\":%lld,\"start\":\"%s\"}", ipid, istart);
    ok = ok && sql_run(db, NULL, "UPDATE containers SET status = 'running', state = json_set(json_remove(state, '$.owner'), '$.shim', json(?), '$.init', json(?), '$.startedAt', ?, '$.bootId', ?) WHERE id = ?", "ttitt", ref.p, init.p, wall_ms(), recipe_get(r, "boot"), c->id) == 1;
    ok = ok && !sql_event(db, wall_ms(), "start", c->id, c->name, "{}");
    free(init.p);
  } else {
    const char *reason = code == 127 ? "not-found" : code == 126 ? "not-executable" : "setup-failed";
    struct buf attrs = {0};
    buf_fmt(&attrs, "{\"exitCode\":%d,\"reason\":\"%s\"}", code, reason);
    ok = ok && sql_run(db, NULL, "UPDATE containers SET status = 'exited', state = json_set(json_remove(state, '$.owner'), '$.shim', json(?), '$.exitCode', ?, '$.finishedAt', ?, '$.reason', ?, '$.error', ?) WHERE id = ?", "tiitt" "t", pid > 0 && *g_shim_start ? ref.p : "null", (long long)code, wall_ms(), reason, msg, c->id) == 1;
    ok = ok && !sql_event(db, wall_ms(), "die", c->id, c->name, attrs.p);
    free(attrs.p);
  }
  sql_end(db, ok);
  free(report.p), free(ref.p);
  if (!started) {
    if (pid > 0) waitpid(pid, NULL, 0);
    net_down(c); /* as startContainer's stopNetwork after a failed start */
    const char *err = code == 127 ? "COMMAND_NOT_FOUND" : code == 126 ? "COMMAND_NOT_EXECUTABLE" : "RUNTIME_FAILED";
    if (rm) remove_stopped(db, c, owner.p); /* as Node's run --rm: a container that failed to start is removed */
    fprintf(stderr, "codex32: Cannot %s container %s: %s [%s]\n", code == 127 || code == 126 ? "run the command of" : "set up", c->name, msg, err);
    return code == 127 || code == 126 ? code : 125;
  }
  if (detach) {
    printf("%s\n", c->id);
    return 0;
  }
  g_db = db, g_c = c, g_shim = pid;
  int closed = follow_log(c->dir, pid, forward);
  int exit_code = finish(db, c, owner.p, rm);
  free(owner.p);
  if (exit_code >= 0) return closed ? 0 : exit_code; /* a closed pipe ends quietly with 0, as the Node CLI */
  if (!rm) return 137; /* reconcile, whoever looks next, records the supervisor lost (dead, 137) */
  /* the supervisor died without recording an exit: Node's reconcile knows that case (dead, 137), and removes it */
  fprintf(stderr, "codex32: the supervisor of %s ended without recording an exit; removing the container [RUNTIME_FAILED]\n", c->name);
  pid_t node = fork();
  if (node == 0) {
    execvp("node", (char *[]){"node", (char *)c->launcher, "rm", "-f", c->id, NULL});
    _exit(125);
  }
  if (node > 0) waitpid(node, NULL, 0);
  return 137;
}
