/* fuzz target: the spec reader (spec.c) and the tab splitter its values go through, on any bytes */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../spec.h"
#include "../util.h"

/* what spec_get must answer: the value of the first entry "key=...", computed here the slow way */
static const char *first_value(const char *key) {
  size_t kl = strlen(key);
  for (int i = 0; i < n_entries; i++)
    if (strlen(entries[i]) > kl && memcmp(entries[i], key, kl) == 0 && entries[i][kl] == '=') return entries[i] + kl + 1;
  return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* the file as read_file gives it: its bytes, then a NUL */
  char *buf = malloc(size + 1);
  if (!buf) return 0;
  memcpy(buf, data, size);
  buf[size] = 0;
  spec_parse(buf, size);
  if (n_entries < 0 || (size_t)n_entries > size + 1) abort(); /* no cap: at most one entry per byte */
  for (int i = 0; i < n_entries; i++)
    if (entries[i] < buf || entries[i] > buf + size || (i && entries[i] <= entries[i - 1])) abort();
  static const char *keys[] = {"isolation_level", "env", "mount", "cwd", "tty", "", "=", "e"};
  for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
    if (spec_get(keys[k]) != first_value(keys[k])) abort();
    (void)spec_num(keys[k], -1);
    char **all = spec_all(keys[k]);
    if (!all) abort();
    int n = 0;
    for (; all[n]; n++) {
      if (all[n] < buf || all[n] > buf + size) abort();
      char *copy = strdup(all[n]), *f[4];
      if (copy && split_tab(copy, f, 4) > 4) abort();
      free(copy);
    }
    if (n > n_entries || (n > 0) != (first_value(keys[k]) != NULL)) abort();
    free(all);
  }
  free(buf);
  return 0;
}
