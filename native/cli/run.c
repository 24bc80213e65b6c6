/* run: `run --rm host CMD...` and `run -d host CMD...` created and started from Node's run recipe
   (src/engine/recipe.ts): the same row, files, cgroups, spec and events Node's create and start make */
#define _GNU_SOURCE
#include "run.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include "readfile.h"
#include "recipe.h"
#include "sql.h"
#include "store.h"

struct run_opts {
  int rm, detach;
  const char *name, *isolation, *network;
};

static int name_ok(const char *s) {
  size_t n = strlen(s);
  if (!n || n > 63 || !strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", s[0])) return 0;
  return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

/* a value that can be part of a recipe's file name: lower-case letters only */
static int word_ok(const char *s) { return s && *s && strspn(s, "abcdefghijklmnopqrstuvwxyz") == strlen(s) && strlen(s) < 16; }

/* the options before the image, as commander takes them; -1 for any other (Node's) */
static int parse(int argc, char **argv, struct run_opts *o, int *at) {
  int i = 0;
  for (; i < argc && argv[i][0] == '-'; i++) {
    const char *a = argv[i], **slot = NULL;
    if (!strcmp(a, "--rm")) o->rm = 1;
    else if (!strcmp(a, "-d") || !strcmp(a, "--detach")) o->detach = 1;
    else if (!strcmp(a, "--name")) slot = &o->name;
    else if (!strcmp(a, "--isolation")) slot = &o->isolation;
    else if (!strcmp(a, "--network")) slot = &o->network;
    else if (!strncmp(a, "--name=", 7)) o->name = a + 7;
    else if (!strncmp(a, "--isolation=", 12)) o->isolation = a + 12;
    else if (!strncmp(a, "--network=", 10)) o->network = a + 10;
    else return -1;
    if (slot) {
      if (++i >= argc) return -1;
      *slot = argv[i];
    }
  }
  if (o->rm && o->detach) return -1; /* -d --rm: Node's (the supervisor's exit command removes it) */
  if ((o->name && !name_ok(o->name)) || (o->isolation && !word_ok(o->isolation)) || (o->network && !word_ok(o->network))) return -1;
  if (argc - i < 2 || strcmp(argv[i], "host")) return -1;
  *at = i + 1;
  return 0;
}

/* valid UTF-8: what Node's argv decoding keeps byte for byte */
static int utf8_ok(const unsigned char *s) {
  while (*s) {
    int n = *s < 0x80 ? 0 : (*s & 0xe0) == 0xc0 && *s >= 0xc2 ? 1 : (*s & 0xf0) == 0xe0 ? 2 : (*s & 0xf8) == 0xf0 && *s <= 0xf4 ? 3 : -1;
    if (n < 0) return 0;
    for (int k = 1; k <= n; k++)
      if ((s[k] & 0xc0) != 0x80) return 0;
    if ((n == 2 && ((*s == 0xe0 && s[1] < 0xa0) || (*s == 0xed && s[1] >= 0xa0))) || (n == 3 && ((*s == 0xf0 && s[1] < 0x90) || (*s == 0xf4 && s[1] >= 0x90)))) return 0;
    s += n + 1;
  }
  return 1;
}

/* generateName(): adjective_noun_N from the recipe's word lists */
static void gen_name(const struct recipe *r, char *out, size_t outsz) {
  const char *lists[2] = {recipe_get(r, "adjectives"), recipe_get(r, "nouns")};
  char word[2][64] = {"brave", "otter"};
  unsigned int rnd[3];
  if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd) rnd[0] = rnd[1] = rnd[2] = (unsigned)getpid();
  for (int k = 0; k < 2; k++) {
    const char *l = lists[k];
    if (!l) continue;
    int n = 1;
    for (const char *c = l; *c; c++) n += *c == ',';
    int pick = (int)(rnd[k] % (unsigned)n);
    for (int j = 0; j < pick; j++) l = strchr(l, ',') + 1;
    size_t len = strcspn(l, ",");
    snprintf(word[k], sizeof word[k], "%.*s", (int)(len < 63 ? len : 63), l);
  }
  snprintf(out, outsz, "%s_%s_%u", word[0], word[1], rnd[2] % 10000);
}

/* the command as the JSON strings that stand for the recipe's one "@@ARGV@@" string in its config */
static void argv_json(struct buf *out, char **cmd, int n) {
  for (int i = 0; i < n; i++) buf_str(out, i ? "," : ""), buf_json(out, cmd[i]);
}


/* the container's directory as create leaves it: 0700, config.json (what repair rebuilds from), app, etc, root */
/* strict's mapped root reaches its files from outside the user namespace: every parent must be searchable
   by others, or Node refuses with what to do (prepareRun) */
static int parents_searchable(const char *dir) {
  char p[PATH_MAX];
  snprintf(p, sizeof p, "%s", dir);
  for (char *slash = strrchr(p, '/'); slash && slash != p; slash = strrchr(p, '/')) {
    *slash = 0;
    struct stat st;
    if (stat(p, &st) || !(st.st_mode & S_IXOTH)) return 0;
  }
  return 1;
}

static int make_dirs(const struct recipe *r, struct started *c, const char *config) {
  char p[PATH_MAX + 64];
  const char *group = recipe_get(r, "dir_group");
  if (recipe_get(r, "search_parents") && !parents_searchable(c->dir)) return -1;
  /* closeContainerDir: 0700, or 0710 with the one group that must pass through */
  mode_t mode = group ? 0710 : 0700;
  if (mkdir(c->dir, 0700) || (group && chown(c->dir, getuid(), (gid_t)atoi(group))) || chmod(c->dir, mode)) return -1;
  struct buf meta = {0};
  buf_str(&meta, "{\"id\":\""), buf_str(&meta, c->id), buf_str(&meta, "\",\"name\":"), buf_json(&meta, c->name);
  buf_fmt(&meta, ",\"createdAt\":%lld,\"config\":", c->created), buf_str(&meta, config), buf_str(&meta, "}");
  snprintf(p, sizeof p, "%s/config.json.tmp", c->dir);
  char final[PATH_MAX + 64];
  snprintf(final, sizeof final, "%s/config.json", c->dir);
  int bad = write_small(p, meta.p, meta.len, 0600) || rename(p, final);
  free(meta.p);
  for (int i = 0; !bad && i < r->n; i++) {
    const char *v = recipe_at(r, i, "mkdir");
    if (!v) continue;
    unsigned mode = 0755;
    const char *tab = strchr(v, '\t');
    if (tab) mode = (unsigned)atoi(tab + 1);
    snprintf(p, sizeof p, "%s/%.*s", c->dir, tab ? (int)(tab - v) : (int)strlen(v), v);
    bad = mkdir(p, mode) || chmod(p, mode);
  }
  for (int i = 0; !bad && i < r->n; i++) { /* strict's app belongs to its mapped root */
    const char *v = recipe_at(r, i, "chown"), *tab = v ? strchr(v, '\t') : NULL;
    if (!tab) continue;
    snprintf(p, sizeof p, "%s/%.*s", c->dir, (int)(tab - v), v);
    bad = chown(p, (uid_t)atoi(tab + 1), (gid_t)atoi(tab + 1));
  }
  struct buf host = {0};
  recipe_fill(&host, recipe_get(r, "hostname") ? recipe_get(r, "hostname") : RECIPE_NAME, c->pairs);
  buf_str(&host, "\n");
  snprintf(p, sizeof p, "%s/etc/hostname", c->dir);
  bad = bad || write_small(p, host.p, host.len, 0644);
  free(host.p);
  return bad ? -1 : 0;
}

static int make_cgroups(const struct recipe *r, struct started *c) {
  for (int i = 0; i < r->n; i++) {
    const char *v = recipe_at(r, i, "cgroup");
    if (!v) continue;
    struct buf d = {0};
    recipe_fill(&d, v, c->pairs);
    int bad = mkdir(d.p, 0755);
    free(d.p);
    if (bad) return -1; /* its parent is gone (a host change since the recipe): Node sets it up */
  }
  return 0;
}

static int write_spec(const struct recipe *r, struct started *c, char **cmd, int n) {
  struct buf s = {0};
  for (int i = 0; i < r->n; i++) {
    const char *v = recipe_at(r, i, "spec");
    if (!v) continue;
    if (!strcmp(v, "arg=" RECIPE_ARGV))
      for (int k = 0; k < n; k++) buf_str(&s, "arg="), buf_str(&s, cmd[k]), buf_add(&s, "", 1);
    else recipe_fill(&s, v, c->pairs), buf_add(&s, "", 1);
  }
  char p[PATH_MAX + 16];
  snprintf(p, sizeof p, "%s/spec", c->dir);
  int rc = write_small(p, s.p, s.len, 0600);
  free(s.p);
  return rc;
}

/* the row and its create event, in one transaction; the row starts as `starting`, owned by this process */
static int insert_row(sqlite3 *db, const struct recipe *r, struct started *c, const char *config, int *taken) {
  struct buf st = {0}, owner = {0}, attrs = {0};
  owner_ref(c, &owner);
  const char *tmpl = recipe_get(r, "starting_state");
  if (!tmpl || !strstr(tmpl, "\"" RECIPE_OWNER "\"")) return -1;
  const char *pairs[] = {"\"" RECIPE_OWNER "\"", owner.p, RECIPE_ID, c->id, RECIPE_NAME, c->name, NULL};
  recipe_fill(&st, tmpl, pairs);
  recipe_fill(&attrs, recipe_get(r, "create_attrs") ? recipe_get(r, "create_attrs") : "{}", c->pairs);
  int ok = !sql_begin(db);
  ok = ok && sql_run(db, taken, "INSERT INTO containers (id, name, status, created_at, config, state) VALUES (?, ?, 'starting', ?, ?, ?)", "ttitt", c->id, c->name, c->created, config, st.p) == 1;
  ok = ok && !sql_event(db, c->created, "create", c->id, c->name, attrs.p);
  free(st.p), free(owner.p), free(attrs.p);
  return sql_end(db, ok);
}

int run_main(const char *storage, const char *launcher, int argc, char **argv) {
  struct run_opts o = {0};
  int at;
  if (parse(argc, argv, &o, &at)) return -1;
  char **cmd = argv + at;
  int n = argc - at;
  for (int i = 0; i < n; i++)
    if (!utf8_ok((const unsigned char *)cmd[i])) return -1;
  char file[64];
  snprintf(file, sizeof file, "run-%s-%s", o.isolation ? o.isolation : "default", o.network ? o.network : "default");
  struct recipe r;
  if (recipe_load(&r, storage, file, launcher)) {
    setenv("CODEX32_RECIPE", file, 1); /* Node runs this one and writes the recipe for the next */
    return -1;
  }
  if (recipe_get(&r, "node")) return -1; /* Node resolved this option set to what only it carries out */
  struct statvfs fs;
  const char *min = recipe_get(&r, "min_free");
  if (!statvfs(storage, &fs) && min && (long long)(fs.f_bavail * fs.f_bsize) < atoll(min)) return -1; /* Node says the disk is full */
  sqlite3 *db = store_open(storage, 1);
  if (!db) return -1;
  sqlite3_exec(db, "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
  struct started c = {0};
  unsigned char raw[32];
  if (getrandom(raw, sizeof raw, 0) != sizeof raw || proc_start(getpid(), c.owner_start, sizeof c.owner_start)) return -1;
  for (int i = 0; i < 32; i++) snprintf(c.id + 2 * i, 3, "%02x", raw[i]);
  if (o.name) snprintf(c.name, sizeof c.name, "%s", o.name);
  else gen_name(&r, c.name, sizeof c.name);
  snprintf(c.dir, sizeof c.dir, "%s/containers/%s", storage, c.id);
  c.created = wall_ms();
  c.recipe = &r;
  const char *pairs[] = {RECIPE_ID, c.id, RECIPE_NAME, c.name, RECIPE_NET, c.net, RECIPE_ADDR, c.addr, NULL};
  memcpy(c.pairs, pairs, sizeof pairs);
  c.launcher = launcher;
  struct buf args = {0}, config = {0};
  argv_json(&args, cmd, n);
  const char *with_args[] = {"\"" RECIPE_ARGV "\"", args.p ? args.p : "", RECIPE_ID, c.id, RECIPE_NAME, c.name, NULL};
  recipe_fill(&config, recipe_get(&r, "config") ? recipe_get(&r, "config") : "", with_args);
  free(args.p);
  int taken = 0;
  if (!recipe_get(&r, "config") || make_dirs(&r, &c, config.p) || insert_row(db, &r, &c, config.p, &taken)) {
    /* nothing of it may stay (the row was never inserted): Node then does the whole run, and reports a
       taken name in its own words */
    undo_create(&c);
    return -1;
  }
  free(config.p);
  /* the row exists from here (as after Node's create and claim): a failure is reported as start reports
     it, and a CLI killed meanwhile leaves a `starting` row whose owner is gone, which reconcile returns
     to `created` and `rm -f` clears with the cgroups and network its state names */
  char why[1024] = "";
  if (make_cgroups(&r, &c)) snprintf(why, sizeof why, "Cannot start container %s: cannot create its cgroups: %s", c.name, strerror(errno));
  else if (net_up(&c, why, sizeof why)) {
  } else if (write_spec(&r, &c, cmd, n)) snprintf(why, sizeof why, "Cannot start container %s: cannot write its spec: %s", c.name, strerror(errno));
  if (*why) return start_failed(db, &c, o.rm, why);
  return run_started(db, &c, o.detach, o.rm);
}
