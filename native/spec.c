/* spec: the container's RUNDIR/spec, NUL-terminated "key=value" entries written by the engine */
#define _GNU_SOURCE
#include "spec.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contract.h"
#include "util.h"

static char *spec_buf;
char **entries;
int n_entries;
static size_t cap_entries;
const char *rundir;
int isolation;

void spec_add(char *entry) {
  if ((size_t)n_entries == cap_entries) {
    size_t cap = cap_entries ? cap_entries * 2 : 256;
    if (cap > INT32_MAX) die_err(E2BIG, "the spec has more than %d entries", INT32_MAX);
    char **grown = realloc(entries, cap * sizeof *entries);
    if (!grown) die("spec: room for %zu entries", cap);
    entries = grown;
    cap_entries = cap;
  }
  entries[n_entries++] = entry;
}

/* every entry is kept, however many: a spec cut short would start the container without what follows
   (its masks, read-only paths, user mapping); buf holds len bytes and a NUL after them */
void spec_parse(char *buf, size_t len) {
  n_entries = 0;
  for (size_t i = 0; i < len;) {
    spec_add(buf + i);
    i += strlen(buf + i) + 1;
  }
}

static void load_spec(const char *dir) {
  char path[PATH_MAX];
  size_t len;
  snprintf(path, sizeof path, "%s/" RUN_SPEC, dir);
  spec_buf = read_file(path, &len);
  if (!spec_buf) die("cannot read %s", path);
  /* the file must end with its last entry's NUL: a spec written in part is refused, not half read */
  if (len > 0 && spec_buf[len - 1] != 0) die_err(EINVAL, "%s ends within an entry: refusing a truncated spec", path);
  spec_parse(spec_buf, len);
}

void load_container(const char *dir) {
  /* every file of the run directory is named as DIR/NAME in a PATH_MAX buffer: make sure each fits */
  if (strlen(dir) > PATH_MAX - 64) die_err(ENAMETOOLONG, "run directory %.64s... is longer than %d bytes", dir, PATH_MAX - 64);
  rundir = dir;
  load_spec(dir);
  /* keys may change meaning between versions: carry out no spec written for another one */
  char want[16];
  snprintf(want, sizeof want, "%d", CONTRACT_VERSION);
  const char *v = spec_get(SPEC_CONTRACT);
  if (!v || strcmp(v, want) != 0) {
    errno = 0;
    die("spec of contract version %s, this supervisor reads %s: run `make build`, then start the container again", v ? v : "(none)", want);
  }
  isolation = (int)spec_num(SPEC_ISOLATION_LEVEL, 0);
}

const char *spec_get(const char *key) {
  size_t kl = strlen(key);
  for (int i = 0; i < n_entries; i++)
    if (strncmp(entries[i], key, kl) == 0 && entries[i][kl] == '=') return entries[i] + kl + 1;
  return NULL;
}

long long spec_num(const char *key, long long dflt) {
  const char *v = spec_get(key);
  return v ? strtoll(v, NULL, 10) : dflt;
}

char **spec_all(const char *key) {
  size_t kl = strlen(key);
  char **v = calloc((size_t)n_entries + 1, sizeof(char *));
  int n = 0;
  for (int i = 0; i < n_entries; i++)
    if (strncmp(entries[i], key, kl) == 0 && entries[i][kl] == '=') v[n++] = entries[i] + kl + 1;
  return v;
}

char **env_vec(void) { return spec_all(SPEC_ENV); }
