/* text: renderings that must match the Node CLI byte for byte (src/cli/format.ts) */
#include "text.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void buf_add(struct buf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) abort();
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = 0;
}

void buf_str(struct buf *b, const char *s) { buf_add(b, s, strlen(s)); }

void buf_fmt(struct buf *b, const char *fmt, ...) {
  char tmp[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  buf_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

void buf_json(struct buf *b, const char *s) {
  buf_add(b, "\"", 1);
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    switch (*c) {
    case '"': buf_add(b, "\\\"", 2); break;
    case '\\': buf_add(b, "\\\\", 2); break;
    case '\b': buf_add(b, "\\b", 2); break;
    case '\f': buf_add(b, "\\f", 2); break;
    case '\n': buf_add(b, "\\n", 2); break;
    case '\r': buf_add(b, "\\r", 2); break;
    case '\t': buf_add(b, "\\t", 2); break;
    default:
      if (*c < 0x20) buf_fmt(b, "\\u%04x", *c);
      else buf_add(b, (const char *)c, 1);
    }
  }
  buf_add(b, "\"", 1);
}

/* UTF-16 units of the code point whose UTF-8 lead byte is c (0 for a continuation byte) */
static size_t units(unsigned char c) {
  if ((c & 0xc0) == 0x80) return 0;
  return c >= 0xf0 ? 2 : 1;
}

size_t js_length(const char *s) {
  size_t n = 0;
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) n += units(*c);
  return n;
}

void buf_pad(struct buf *b, const char *s, size_t width) {
  buf_str(b, s);
  for (size_t n = js_length(s); n < width; n++) buf_add(b, " ", 1);
}

int ellipsis(const char *s, size_t n, char *out, size_t outsz) {
  size_t len = strlen(s);
  if (js_length(s) <= n) {
    if (len + 1 > outsz) return -1;
    memcpy(out, s, len + 1);
    return 0;
  }
  size_t used = 0, i = 0;
  while (s[i]) {
    size_t u = units((unsigned char)s[i]);
    if (used + u > n - 1) break;
    used += u;
    i++;
    while (s[i] && units((unsigned char)s[i]) == 0) i++;
  }
  if (used != n - 1 || i + 4 > outsz) return -1; /* JavaScript would cut a surrogate pair in two */
  memcpy(out, s, i);
  memcpy(out + i, "\xe2\x80\xa6", 4);
  return 0;
}

/* Math.round for the non-negative values used here */
static double js_round(double x) { return floor(x + 0.5); }

void human_duration(int64_t ms, char *out, size_t outsz) {
  double s = js_round((double)ms / 1000);
  if (s < 0) s = 0;
  if (s < 1) {
    snprintf(out, outsz, "Less than a second");
    return;
  }
  if (s < 60) {
    snprintf(out, outsz, "%.0f second%s", s, s == 1 ? "" : "s");
    return;
  }
  double m = js_round(s / 60);
  if (m < 60) {
    snprintf(out, outsz, "%.0f minute%s", m, m == 1 ? "" : "s");
    return;
  }
  double h = js_round(m / 60);
  if (h < 48) {
    snprintf(out, outsz, "%.0f hour%s", h, h == 1 ? "" : "s");
    return;
  }
  snprintf(out, outsz, "%.0f days", js_round(h / 24));
}

int iso_time(int64_t ms, char *out, size_t outsz) {
  if (ms < 0 || ms > 253402300799999LL) return -1;
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  if (!gmtime_r(&t, &tm)) return -1;
  snprintf(out, outsz, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
           tm.tm_sec, (int)(ms % 1000));
  return 0;
}

int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
