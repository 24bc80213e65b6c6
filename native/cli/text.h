/* text: a growable output buffer and the exact renderings the Node CLI uses (JSON strings, durations, dates) */
#ifndef CODEX32_CLI_TEXT_H
#define CODEX32_CLI_TEXT_H
#include <stddef.h>
#include <stdint.h>

struct buf {
  char *p;
  size_t len, cap;
};

void buf_add(struct buf *b, const char *s, size_t n);
void buf_str(struct buf *b, const char *s);
void buf_fmt(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s as JSON.stringify writes a string, quotes included */
void buf_json(struct buf *b, const char *s);
/* the length JavaScript gives s (UTF-16 code units) */
size_t js_length(const char *s);
/* JavaScript's s.padEnd(width) */
void buf_pad(struct buf *b, const char *s, size_t width);
/* the Node CLI's ellipsis(s, n) into out (at least 4*n bytes); -1 when it would split a surrogate pair */
int ellipsis(const char *s, size_t n, char *out, size_t outsz);
/* humanDuration(ms): "5 seconds", "3 minutes", "Less than a second" */
void human_duration(int64_t ms, char *out, size_t outsz);
/* new Date(ms).toISOString(); -1 outside years 0-9999 */
int iso_time(int64_t ms, char *out, size_t outsz);
int64_t wall_ms(void);
#endif
