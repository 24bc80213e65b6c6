/* jw: indentation by two, "key": value, empty containers as {} and [] — JSON.stringify's layout */
#include "jw.h"

static void indent(struct jw *w) {
  buf_str(w->out, "\n");
  for (int i = 0; i < w->depth; i++) buf_str(w->out, "  ");
}

/* the separator and key before a value */
static void lead(struct jw *w, const char *key) {
  if (w->depth > 0) {
    if (!w->empty[w->depth - 1]) buf_str(w->out, ",");
    w->empty[w->depth - 1] = 0;
    indent(w);
  }
  if (key) {
    buf_json(w->out, key);
    buf_str(w->out, ": ");
  }
}

void jw_open(struct jw *w, const char *key, char bracket) {
  lead(w, key);
  buf_add(w->out, &bracket, 1);
  w->empty[w->depth++] = 1;
}

void jw_close(struct jw *w, char bracket) {
  int was_empty = w->empty[--w->depth];
  if (!was_empty) indent(w);
  buf_add(w->out, &bracket, 1);
}

void jw_str(struct jw *w, const char *key, const char *s) {
  lead(w, key);
  buf_json(w->out, s);
}

void jw_int(struct jw *w, const char *key, int64_t v) {
  lead(w, key);
  buf_fmt(w->out, "%lld", (long long)v);
}

void jw_bool(struct jw *w, const char *key, int v) {
  lead(w, key);
  buf_str(w->out, v ? "true" : "false");
}

void jw_null(struct jw *w, const char *key) {
  lead(w, key);
  buf_str(w->out, "null");
}
