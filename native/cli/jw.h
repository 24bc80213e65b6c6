/* jw: a JSON writer whose output is JSON.stringify(value, null, 2) */
#ifndef CODEX32_CLI_JW_H
#define CODEX32_CLI_JW_H
#include <stdint.h>
#include "text.h"

struct jw {
  struct buf *out;
  int depth;
  int empty[32]; /* per open container: nothing written into it yet */
};

/* key is NULL inside an array */
void jw_open(struct jw *w, const char *key, char bracket);
void jw_close(struct jw *w, char bracket);
void jw_str(struct jw *w, const char *key, const char *s);
void jw_int(struct jw *w, const char *key, int64_t v);
void jw_bool(struct jw *w, const char *key, int v);
void jw_null(struct jw *w, const char *key);
#endif
