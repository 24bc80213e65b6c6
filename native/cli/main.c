/* codex32-cli: the native front end of the hot commands (ps, inspect, exec). bin/codex32 runs it as
   `codex32-cli LAUNCHER ARGS...`; whatever it does not handle exactly as the Node CLI would (another
   command or option, a row to reconcile, another schema, a damaged database) it hands to
   `node LAUNCHER ARGS...`. It never prints an error of its own: Node does. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "exec.h"
#include "fallback.h"
#include "inspect.h"
#include "ps.h"
#include "run.h"
#include "settings.h"
#include "stats.h"
#include "store.h"
#include "text.h"

/* ps's options, as commander takes them (-a, --all, -q, --quiet, --json, -aq); -1 for anything else */
static int ps_args(int argc, char **argv, struct ps_opts *o) {
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--all")) o->all = 1;
    else if (!strcmp(a, "--quiet")) o->quiet = 1;
    else if (!strcmp(a, "--json")) o->json = 1;
    else if (a[0] == '-' && a[1] && a[1] != '-' && strspn(a + 1, "aq") == strlen(a + 1)) {
      if (strchr(a, 'a')) o->all = 1;
      if (strchr(a, 'q')) o->quiet = 1;
    } else return -1;
  }
  return 0;
}

/* inspect takes one or more containers and no option here (-f/--format is Node's) */
static int refs_only(int argc, char **argv) {
  for (int i = 0; i < argc; i++)
    if (argv[i][0] == '-' || !argv[i][0]) return 0;
  return argc > 0;
}

/* a path as Node's path.join leaves it (no empty, . or .. segment), so paths built from it print the same */
static int normalized(const char *p) {
  const char *s = *p == '/' ? p + 1 : p;
  if (!*s) return 0;
  for (;;) {
    size_t n = strcspn(s, "/");
    if (!n || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) return 0;
    if (!s[n]) return 1;
    s += n + 1;
  }
}

static void write_out(const struct buf *b) {
  size_t off = 0;
  while (off < b->len) {
    ssize_t n = write(1, b->p + off, b->len - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) exit(errno == EPIPE ? 0 : 125); /* the reader went away: as Node, quietly */
    off += (size_t)n;
  }
}

int main(int argc, char **argv) {
  if (argc < 2) return 125;
  fallback_init(argv[1], argc - 2, argv + 2);
  const char *force = getenv("CODEX32_NATIVE");
  if (force && !strcmp(force, "0")) to_node();
  int i = 2;
  const char *storage = NULL;
  while (i < argc) {
    if (!strcmp(argv[i], "--storage") && i + 1 < argc) storage = argv[i + 1], i += 2;
    else if (!strncmp(argv[i], "--storage=", 10)) storage = argv[i] + 10, i++;
    else break;
  }
  if (i >= argc) to_node();
  const char *cmd = argv[i++];
  if (!strcmp(cmd, "run")) {
    /* run --rm / run -d of the host image, from Node's recipe; -1: nothing was done, Node runs it */
    const char *dir = storage_dir(storage);
    int code = dir && normalized(dir) ? run_main(dir, argv[1], argc - i, argv + i) : -1;
    if (code < 0) to_node();
    return code;
  }
  if (!strcmp(cmd, "stats")) return stats_command(storage, argc - i, argv + i);
  struct ps_opts o = {0};
  int inspect = !strcmp(cmd, "inspect"), exec = !strcmp(cmd, "exec");
  /* exec NAME CMD...: the command is everything after the name, as commander passes it through */
  if (exec ? argc - i < 2 || argv[i][0] == '-'
           : inspect ? !refs_only(argc - i, argv + i) : (strcmp(cmd, "ps") && strcmp(cmd, "ls") && strcmp(cmd, "list")) || ps_args(argc - i, argv + i, &o))
    to_node();
  const char *dir = storage_dir(storage);
  if (!dir || ((inspect || exec) && !normalized(dir))) to_node();
  sqlite3 *db = store_open(dir, exec);
  if (!db) to_node();
  if (exec) {
    int code = exec_run(db, dir, argv[1], argv[i], argv + i + 1, argc - i - 1);
    if (code < 0) to_node();
    return code;
  }
  struct buf out = {0};
  if (inspect ? inspect_render(db, dir, argv + i, argc - i, &out) : ps_render(db, dir, &o, &out)) to_node();
  sqlite3_close(db);
  signal(SIGPIPE, SIG_IGN);
  write_out(&out);
  return 0;
}
