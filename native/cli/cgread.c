/* cgread: the cgroup files of src/runtime/cgroups.ts (cgroupCpuMs, cgroupMemory, cgroupRss, cgroupTaskCount),
   parsed only where the text is what the kernel writes: a figure Node would parse differently sends the
   command to Node instead of being guessed at */
#include "cgread.h"
#include "readfile.h"
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define SAFE 9007199254740992.0 /* 2^53: above it JavaScript's numbers stop being whole */

/* dir/name (or the path alone) read whole into out; the length, or -1 when unreadable or too long */
static ssize_t slurp(const char *dir, const char *name, char *out, size_t outsz) {
  char path[4400];
  if (snprintf(path, sizeof path, name ? "%s/%s" : "%s", dir, name) >= (int)sizeof path) return -1;
  return read_small(path, out, outsz, 1);
}

static int is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

/* the digits at s, then only what ends the figure (end): its value below 2^53, else -1 */
static int digits(const char *s, const char *end, double *out) {
  size_t n = strspn(s, "0123456789");
  if (!n || n > 16 || !strchr(end, s[n])) return -1;
  double v = 0;
  for (size_t i = 0; i < n; i++) v = v * 10 + (s[i] - '0');
  if (v >= SAFE) return -1;
  *out = v;
  return 0;
}

/* the file's text trimmed as String.prototype.trim does (ASCII: these files are the kernel's) */
static char *trimmed(char *s) {
  while (is_space(*s)) s++;
  size_t n = strlen(s);
  while (n && is_space(s[n - 1])) s[--n] = 0;
  return s;
}

/* a whole trimmed file as Number() reads it: digits only */
static int number_file(const char *dir, const char *name, double *out) {
  char text[128];
  if (slurp(dir, name, text, sizeof text) < 0) return -1;
  return digits(trimmed(text), "", out);
}

int cg_cpu_ms(const struct cg_files *f, double *ms) {
  char text[4096];
  if (!f->cpu_usage || slurp(f->cpu_usage, NULL, text, sizeof text) < 0) return -1;
  if (f->v2) {
    /* /usage_usec (\d+)/: the first "usage_usec " with a digit after it */
    for (char *p = text; (p = strstr(p, "usage_usec ")); p++) {
      p += strlen("usage_usec ");
      size_t n = strspn(p, "0123456789");
      if (!n) continue;
      char figure[20];
      double us;
      if (n > 16) return -1;
      memcpy(figure, p, n), figure[n] = 0; /* \d+ takes every digit, whatever follows */
      if (digits(figure, "", &us)) return -1;
      return *ms = us / 1000, 0;
    }
    return -1;
  }
  /* BigInt(ns) / 1_000_000n: whole milliseconds */
  char *s = trimmed(text);
  size_t n = strlen(s);
  if (!n || n > 19 || strspn(s, "0123456789") != n) return -1;
  unsigned long long ns = 0;
  for (size_t i = 0; i < n; i++) ns = ns * 10 + (unsigned)(s[i] - '0');
  *ms = (double)(ns / 1000000ULL);
  return 0;
}

int cg_memory(const struct cg_files *f, double *usage, double *limit) {
  char text[128];
  if (!f->memory_dir || number_file(f->memory_dir, f->v2 ? "memory.current" : "memory.usage_in_bytes", usage)) return -1;
  /* an unreadable or empty limit, "max", or one of 2^60 and more (v1's unlimited) is no limit */
  *limit = -1;
  if (slurp(f->memory_dir, f->v2 ? "memory.max" : "memory.limit_in_bytes", text, sizeof text) < 0) return 0;
  char *s = trimmed(text);
  if (!*s || !strcmp(s, "max")) return 0;
  size_t n = strlen(s);
  if (strspn(s, "0123456789") != n || (n > 1 && s[0] == '0')) return -1; /* the kernel writes no leading zero */
  /* 17 to 19 digits may still be under 2^60, a limit but no whole JavaScript number: Node's to print */
  if (n > 16) return n > 19 || (n == 19 && strcmp(s, "1152921504606846976") >= 0) ? 0 : -1;
  return digits(s, "", limit);
}

/* /^key (\d+)/m in memory.stat, 0 when absent */
static int stat_field(const char *stat, const char *key, double *out) {
  size_t k = strlen(key);
  for (const char *line = stat; *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : line + strlen(line)) {
    if (strncmp(line, key, k) || line[k] != ' ' || line[k + 1] < '0' || line[k + 1] > '9') continue;
    return digits(line + k + 1, "\n", out) ? -1 : 0;
  }
  *out = 0;
  return 0;
}

int cg_rss(const struct cg_files *f, double *rss) {
  char stat[16384];
  double a, b;
  if (!f->memory_dir || slurp(f->memory_dir, "memory.stat", stat, sizeof stat) < 0) return -1;
  if (stat_field(stat, f->v2 ? "anon" : "total_rss", &a) || stat_field(stat, f->v2 ? "file_mapped" : "total_mapped_file", &b)) return -1;
  if (a + b >= SAFE) return -1;
  *rss = a + b;
  return 0;
}

int cg_tasks(const struct cg_files *f, double *n) {
  return f->pids_dir ? number_file(f->pids_dir, "pids.current", n) : -1;
}
