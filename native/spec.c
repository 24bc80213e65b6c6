/* spec: the container's RUNDIR/spec, NUL-terminated "key=value" entries written by the engine */
#define _GNU_SOURCE
#include "spec.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static char *spec_buf;
char *entries[MAX_ENTRIES];
int n_entries;
const char *rundir;
int isolation;

void spec_parse(char *buf, size_t len) {
  n_entries = 0;
  for (size_t i = 0; i < len && n_entries < MAX_ENTRIES;) {
    entries[n_entries++] = buf + i;
    i += strlen(buf + i) + 1;
  }
}

static void load_spec(const char *dir) {
  char path[PATH_MAX];
  size_t len;
  snprintf(path, sizeof path, "%s/spec", dir);
  spec_buf = read_file(path, &len);
  if (!spec_buf) die("cannot read %s", path);
  spec_parse(spec_buf, len);
}

void load_container(const char *dir) {
  rundir = dir;
  load_spec(dir);
  isolation = (int)spec_num("isolation_level", 0);
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

char **env_vec(void) { return spec_all("env"); }
