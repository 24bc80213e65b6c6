/* recipe: the run recipe Node writes for the native run; it is trusted only while all it names is unchanged */
#define _GNU_SOURCE
#include "recipe.h"
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "re");
  if (!f) return NULL;
  struct buf b = {0};
  char chunk[8192];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) buf_add(&b, chunk, n);
  fclose(f);
  *len = b.len;
  return b.p;
}

const char *recipe_at(const struct recipe *r, int i, const char *key) {
  size_t kl = strlen(key);
  return !strncmp(r->e[i], key, kl) && r->e[i][kl] == '=' ? r->e[i] + kl + 1 : NULL;
}

const char *recipe_get(const struct recipe *r, const char *key) {
  for (int i = 0; i < r->n; i++) {
    const char *v = recipe_at(r, i, key);
    if (v) return v;
  }
  return NULL;
}

/* check=PATH\tSIZE\tMTIME_MS: the file is the one the recipe was derived from */
static int file_same(const char *v) {
  char path[PATH_MAX];
  long long size, mtime;
  const char *tab = strchr(v, '\t');
  if (!tab || (size_t)(tab - v) >= sizeof path || sscanf(tab + 1, "%lld\t%lld", &size, &mtime) != 2) return 0;
  memcpy(path, v, (size_t)(tab - v));
  path[tab - v] = 0;
  struct stat st;
  if (stat(path, &st)) return 0;
  long long ms = (long long)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
  return st.st_size == size && ms == mtime;
}

/* bootId() as Node reads it: CODEX32_BOOT_ID (a test seam), else the kernel's */
static int boot_same(const char *v) {
  const char *env = getenv("CODEX32_BOOT_ID");
  if (env) return !strcmp(env, v);
  char id[64] = "";
  FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
  if (!f) return 0;
  int ok = fgets(id, sizeof id, f) != NULL;
  fclose(f);
  id[strcspn(id, "\n")] = 0;
  return ok && !strcmp(id, v);
}

/* every entry that says what the recipe was derived from still holds */
static int still_true(const struct recipe *r, const char *launcher) {
  char bundle[PATH_MAX + 32], real[PATH_MAX];
  const char *slash = strrchr(launcher, '/');
  snprintf(bundle, sizeof bundle, "%.*s/../dist/codex32.cjs", slash ? (int)(slash - launcher) : 1, slash ? launcher : ".");
  if (!realpath(bundle, real)) return 0;
  int ours = 0;
  for (int i = 0; i < r->n; i++) {
    const char *v;
    if ((v = recipe_at(r, i, "check"))) {
      if (!file_same(v)) return 0;
      size_t n = strlen(real);
      if (!strncmp(v, real, n) && v[n] == '\t') ours = 1; /* derived from this checkout's engine */
    } else if ((v = recipe_at(r, i, "env"))) {
      const char *eq = strchr(v, '=');
      char name[128];
      if (!eq || (size_t)(eq - v) >= sizeof name) return 0;
      memcpy(name, v, (size_t)(eq - v));
      name[eq - v] = 0;
      const char *now = getenv(name);
      if (!now || strcmp(now, eq + 1)) return 0;
    } else if ((v = recipe_at(r, i, "noenv"))) {
      if (getenv(v)) return 0;
    } else if ((v = recipe_at(r, i, "boot"))) {
      if (!boot_same(v)) return 0;
    } else if ((v = recipe_at(r, i, "uid"))) {
      if (atoll(v) != (long long)getuid()) return 0;
    }
  }
  return ours;
}

int recipe_load(struct recipe *r, const char *storage, const char *file, const char *launcher) {
  char path[PATH_MAX];
  size_t len;
  snprintf(path, sizeof path, "%s/recipes/%s", storage, file);
  memset(r, 0, sizeof *r);
  r->buf = slurp(path, &len);
  if (!r->buf || !len || r->buf[len - 1]) return -1;
  for (size_t i = 0; i < len; i += strlen(r->buf + i) + 1) r->n++;
  r->e = calloc((size_t)r->n, sizeof *r->e);
  if (!r->e) return -1;
  int k = 0;
  for (size_t i = 0; i < len; i += strlen(r->buf + i) + 1) r->e[k++] = r->buf + i;
  const char *v = recipe_get(r, "recipe");
  if (!v || atoi(v) != CODEX32_RECIPE_VERSION || !still_true(r, launcher)) return -1;
  return 0;
}

void recipe_fill(struct buf *out, const char *tmpl, const char *const *pairs) {
  for (const char *p = tmpl; *p;) {
    const char *next = NULL;
    int which = -1;
    for (int k = 0; pairs[k]; k += 2) {
      const char *at = strstr(p, pairs[k]);
      if (at && (!next || at < next)) next = at, which = k;
    }
    if (!next) {
      buf_str(out, p);
      return;
    }
    buf_add(out, p, (size_t)(next - p));
    buf_str(out, pairs[which + 1]);
    p = next + strlen(pairs[which]);
  }
}
