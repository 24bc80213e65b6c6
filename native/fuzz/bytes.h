/* a growing byte buffer the fuzz targets collect what they read back into */
#ifndef CODEX32_FUZZ_BYTES_H
#define CODEX32_FUZZ_BYTES_H

#include <stdlib.h>
#include <string.h>

struct bytes {
  char *p;
  size_t len, cap;
};

static inline void add(struct bytes *b, const void *p, size_t n) {
  if (n == 0) return; /* nothing to copy, and b->p may still be NULL */
  if (b->len + n > b->cap) {
    b->cap = (b->len + n) * 2;
    b->p = realloc(b->p, b->cap);
    if (!b->p) abort();
  }
  memcpy(b->p + b->len, p, n);
  b->len += n;
}

#endif
