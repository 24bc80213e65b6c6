/* exec: find the running container, record the `exec` event as Node does, then run the supervisor's exec
   helper with /dev/null for stdin and this process's stdout and stderr, and return its exit code */
#define _GNU_SOURCE
#include "exec.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "jq.h"
#include "lookup.h"
#include "text.h"

/* shimPath(): $CODEX32_SHIM, else build/codex32-shim beside the launcher's checkout */
static int shim_path(const char *launcher, char *out, size_t outsz) {
  const char *env = getenv("CODEX32_SHIM");
  if (env) {
    if (!*env) return -1;
    snprintf(out, outsz, "%s", env);
  } else {
    const char *slash = strrchr(launcher, '/');
    char rel[PATH_MAX + 64];
    snprintf(rel, sizeof rel, "%.*s/../build/codex32-shim", slash ? (int)(slash - launcher) : 1, slash ? launcher : ".");
    /* absolute, as Node's path.resolve gives it */
    if (outsz < PATH_MAX || !realpath(rel, out)) return -1;
  }
  return access(out, X_OK);
}

/* recordEvent(store, 'exec', row, { command }) in its own IMMEDIATE transaction */
static int record(sqlite3 *db, const struct row *r, char **cmd, int n) {
  struct buf joined = {0}, attrs = {0};
  for (int i = 0; i < n; i++) buf_str(&joined, i ? " " : ""), buf_str(&joined, cmd[i]);
  buf_str(&attrs, "{\"command\":");
  buf_json(&attrs, joined.p ? joined.p : "");
  buf_str(&attrs, "}");
  sqlite3_stmt *st = NULL;
  int ok = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK &&
           sqlite3_prepare_v2(db, "INSERT INTO events (time, type, container_id, name, attrs) VALUES (?, 'exec', ?, ?, ?)", -1, &st, NULL) == SQLITE_OK;
  if (ok) {
    sqlite3_bind_int64(st, 1, wall_ms());
    sqlite3_bind_text(st, 2, r->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, r->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, attrs.p, -1, SQLITE_STATIC);
    ok = sqlite3_step(st) == SQLITE_DONE;
  }
  sqlite3_finalize(st);
  ok = ok && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK;
  if (!ok) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  free(joined.p), free(attrs.p);
  return ok ? 0 : -1;
}

/* Node's exit code for a helper killed by a signal: 128 + the signal for the ones it names, else 137 */
static int signal_code(int sig) {
  return 128 + (sig == 1 || sig == 2 || sig == 9 || sig == 12 || sig == 15 ? sig : 9);
}

static int run_helper(const char *shim, const char *dir, char **cmd, int n) {
  char **argv = calloc((size_t)n + 5, sizeof *argv);
  if (!argv) return 125;
  argv[0] = (char *)shim, argv[1] = "exec", argv[2] = (char *)dir, argv[3] = "--";
  for (int i = 0; i < n; i++) argv[i + 4] = cmd[i];
  unsetenv("NODE_EXTRA_CA_CERTS"); /* the environment the Node CLI would hand it */
  pid_t pid = fork();
  if (pid < 0) return fprintf(stderr, "codex32: Cannot run the exec helper: %s [RUNTIME_FAILED]\n", strerror(errno)), 125;
  if (pid == 0) {
    int null = open("/dev/null", O_RDONLY);
    if (null < 0 || dup2(null, 0) < 0) _exit(125);
    closefrom(3);
    execv(shim, argv);
    fprintf(stderr, "codex32: Cannot run the exec helper: %s [RUNTIME_FAILED]\n", strerror(errno));
    _exit(125);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return 125;
  free(argv);
  return WIFEXITED(status) ? WEXITSTATUS(status) : signal_code(WTERMSIG(status));
}

int exec_run(sqlite3 *db, const char *storage, const char *launcher, const char *ref, char **cmd, int n) {
  char shim[PATH_MAX + 64], dir[PATH_MAX + 128];
  struct jq q;
  struct row r = {0};
  if (n < 1 || shim_path(launcher, shim, sizeof shim) || jq_init(&q, db)) return -1;
  int ready = !row_find(db, ref, &r) && row_settled(&q, storage, &r) && !q.bad && !strcmp(r.status, "running");
  jq_done(&q);
  if (!ready || record(db, &r, cmd, n)) {
    row_free(&r);
    return -1;
  }
  snprintf(dir, sizeof dir, "%s/containers/%s", storage, r.id);
  row_free(&r);
  sqlite3_close(db);
  return run_helper(shim, dir, cmd, n);
}
