/*
 * fuzz target: the archive side of the supervisor (archive.c). It parses no archive: tar-in streams
 * an archive the engine validated to busybox tar, tar-out asks busybox for one. What it builds from
 * outside input is tar-out's argument list, "*" expanded from a directory's names; that is fuzzed.
 * Input: a count byte, then NUL-separated strings: that many ENTRYs, then the directory's names.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../archive.h"

static int excluded(const char *nm) {
  static const char *skip[] = {".", "..", "proc", "sys", "dev", "tmp"};
  for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
    if (strcmp(nm, skip[i]) == 0) return 1;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  int m = data[0] % 32 + 1;
  char *text = malloc(size);
  char **strs = calloc(size + 2, sizeof(char *));
  if (!text || !strs) abort();
  memcpy(text, data + 1, size - 1);
  text[size - 1] = 0;
  int ns = 0;
  for (size_t i = 0; i < size - 1; i += strlen(text + i) + 1) strs[ns++] = text + i;
  if (ns < m) m = ns;
  char **ents = strs, **listing = strs + m; /* NULL-terminated by calloc */

  char **argv = tar_out_argv(ents, m, listing);
  /* the expected vector, built here independently: no name may be lost, nothing written past its end */
  int k = 4;
  if (!argv || strcmp(argv[0], "tar") || strcmp(argv[1], "-c") || strcmp(argv[2], "-f") || strcmp(argv[3], "-")) abort();
  for (int i = 0; i < m; i++) {
    if (strcmp(ents[i], "*") != 0) {
      if (argv[k++] != ents[i]) abort();
      continue;
    }
    for (char **l = listing; *l; l++)
      if (!excluded(*l) && argv[k++] != *l) abort();
  }
  if (argv[k] != NULL) abort();
  free(argv);
  free(strs);
  free(text);
  return 0;
}
