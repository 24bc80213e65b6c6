/* fresh: a running row is left alone by Node only when its supervisor lives, its records are unchanged
   since the stored mark and its cgroup counts no OOM kill beyond those recorded */
#include "fresh.h"
#include "readfile.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static ssize_t slurp(const char *path, char *out, size_t outsz) { return read_small(path, out, outsz, 0); }

/* isAlive(): the pid still names the process started at `start`, and it is no zombie */
static int alive(int64_t pid, const char *start) {
  char path[64], stat[1024];
  if (pid <= 0 || !start) return 0;
  snprintf(path, sizeof path, "/proc/%lld/stat", (long long)pid);
  if (slurp(path, stat, sizeof stat) < 0) return 0;
  char *p = strrchr(stat, ')');
  if (!p || !p[1] || !p[2]) return 0;
  p += 2;
  char state = *p;
  for (int field = 0; field < 19; field++) {
    p = strchr(p, ' ');
    if (!p) return 0;
    p++;
  }
  size_t n = strcspn(p, " ");
  return state != 'Z' && state != 'X' && strlen(start) == n && !strncmp(p, start, n);
}

static int is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

static long long size_of(const char *dir, const char *f) {
  char p[4300];
  struct stat st;
  snprintf(p, sizeof p, "%s/%s", dir, f);
  return stat(p, &st) ? -1 : (long long)st.st_size;
}

/* recordMark(): "<state file trimmed>|<size of exits>|<size of events>" */
static int mark_of(const char *dir, char *out, size_t outsz) {
  char p[4300], state[512] = "";
  snprintf(p, sizeof p, "%s/state", dir);
  ssize_t n = slurp(p, state, sizeof state);
  if (n < 0) state[0] = 0;
  else if ((size_t)n >= sizeof state - 1) return -1; /* longer than any state line: let Node look */
  char *s = state;
  while (is_space(*s)) s++;
  size_t len = strlen(s);
  while (len && is_space(s[len - 1])) s[--len] = 0;
  for (char *c = s; *c; c++)
    if ((unsigned char)*c >= 0x80) return -1;
  snprintf(out, outsz, "%s|%lld|%lld", s, size_of(dir, "exits"), size_of(dir, "events"));
  return 0;
}

/* cgroupOomKills() beyond oomSeen */
static int new_oom_kills(const char *file, int64_t seen) {
  char text[4096];
  if (!file || slurp(file, text, sizeof text) < 0) return 0;
  for (char *line = text; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
    if (strncmp(line, "oom_kill ", 9)) continue;
    char *end;
    long long n = strtoll(line + 9, &end, 10);
    if (*end != '\n' && *end) continue;
    return n > seen;
  }
  return 0;
}

int row_fresh(const char *storage, const struct active_row *r) {
  char dir[4200], mark[700];
  if (strcmp(r->status, "running") && strcmp(r->status, "restarting")) return 0;
  if (new_oom_kills(r->oom_events, r->oom_seen)) return 0;
  if (!alive(r->shim_pid, r->shim_start)) return 0;
  snprintf(dir, sizeof dir, "%s/containers/%s", storage, r->id);
  if (mark_of(dir, mark, sizeof mark)) return 0;
  return r->mark && !strcmp(mark, r->mark);
}
