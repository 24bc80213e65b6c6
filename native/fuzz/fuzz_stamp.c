/* fuzz target: the date prefix of the log copies (logcopy.c's copy_stamp) on any format: never past its
   buffer, and where the format holds no conversion but %L and %%, exactly what a slow reference makes */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../logcopy.h"

/* the expected text of a format whose only conversions are %L and %%, or -1 when it has another */
static int reference(const char *fmt, long long ms, char *out, size_t cap) {
  size_t n = 0;
  for (const char *p = fmt; *p; p++) {
    if (n + 4 >= cap) return -1;
    if (*p != '%') out[n++] = *p;
    else if (p[1] == '%') out[n++] = '%', p++;
    else if (p[1] == 'L') n += (size_t)snprintf(out + n, cap - n, "%03lld", ms % 1000), p++;
    else return -1;
  }
  out[n] = 0;
  return (int)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 5) return 0;
  uint32_t sec;
  memcpy(&sec, data, 4);
  long long ms = (long long)sec * 1000 + data[4] * 3 % 1000; /* any second up to 2106 */
  char *fmt = malloc(size - 4);
  if (!fmt) return 0;
  memcpy(fmt, data + 5, size - 5);
  fmt[size - 5] = 0;
  char out[300], want[300];
  memset(out, 'x', sizeof out);
  size_t n = copy_stamp(fmt, ms, out, 256);
  if (n >= 256 || (n && strlen(out) != n)) abort();
  for (size_t i = 256; i < sizeof out; i++)
    if (out[i] != 'x') abort(); /* nothing written past the capacity given */
  /* short formats only: the rewritten format is capped at about 500 bytes, the output at 256 */
  if (strlen(fmt) < 120) {
    int w = reference(fmt, ms, want, sizeof want);
    if (w >= 0 && w < 250 && (n != (size_t)w || memcmp(out, want, n) != 0)) abort();
  }
  free(fmt);
  return 0;
}
