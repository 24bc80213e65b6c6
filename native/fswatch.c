/* fswatch: PM2's watch with its ignore globs, by inotify in the supervisor: no other process needs to
 * run for a change of a bot's code to restart it. A directory's subdirectories are watched too, those
 * created later included; the globs are matched by fnmatch(3) against the path relative to watch_base,
 * without FNM_PATHNAME, so `*` crosses `/` and the usual forms (`data/` then `**`) work as in PM2. */
#define _GNU_SOURCE
#include "fswatch.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "contract.h"
#include "logcopy.h"
#include "spec.h"

#define MAX_WATCHES 8192 /* directories; past it the rest is said once in shim.err */
#define EVENTS (IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF)

static int ifd = -1;
static char **ignores;
static const char *base;
static size_t base_len;
static char *wd_path[MAX_WATCHES + 1]; /* the watched path of each watch descriptor */
static int n_watches, warned_full;

/* path relative to watch_base when under it, else the path itself */
static const char *relative(const char *path) {
  if (base && strncmp(path, base, base_len) == 0 && (path[base_len] == '/' || path[base_len] == 0))
    return path[base_len] ? path + base_len + 1 : path + base_len;
  return path;
}

int fswatch_ignored(const char *rel) {
  for (char **g = ignores; g && *g; g++)
    if (fnmatch(*g, rel, 0) == 0) return 1;
  return 0;
}

/* is path (a directory when dir) left out? A directory is tested with a slash after it too, so that a
   glob for everything under it leaves the directory out whole */
static int left_out(const char *path, int dir) {
  if (copy_is_file(path)) return 1; /* the supervisor's own log copies */
  const char *rel = relative(path);
  if (!*rel) return 0;
  if (fswatch_ignored(rel)) return 1;
  if (!dir) return 0;
  char d[PATH_MAX];
  snprintf(d, sizeof d, "%s/", rel);
  return fswatch_ignored(d);
}

static void add_tree(const char *path) {
  if (n_watches >= MAX_WATCHES) {
    if (!warned_full++) fprintf(stderr, "codex32-shim: watch: more than %d directories, the rest is not watched\n", MAX_WATCHES);
    return;
  }
  int wd = inotify_add_watch(ifd, path, EVENTS);
  if (wd < 0) {
    /* gone meanwhile, or the per-user inotify limit: said, and the rest is still watched */
    if (errno != ENOENT) fprintf(stderr, "codex32-shim: watch %s: %s\n", path, strerror(errno));
    return;
  }
  if (wd > MAX_WATCHES || wd_path[wd]) return; /* already watched (a second path into the same tree) */
  wd_path[wd] = strdup(path);
  n_watches++;
  DIR *d = opendir(path);
  if (!d) return; /* a file: watched itself */
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    char sub[PATH_MAX];
    if (snprintf(sub, sizeof sub, "%s/%s", path, e->d_name) >= (int)sizeof sub) continue;
    struct stat st;
    if (e->d_type == DT_DIR || (e->d_type == DT_UNKNOWN && lstat(sub, &st) == 0 && S_ISDIR(st.st_mode)))
      if (!left_out(sub, 1)) add_tree(sub);
  }
  closedir(d);
}

int fswatch_init(void) {
  char **paths = spec_all(SPEC_WATCH_PATH);
  if (!paths[0]) {
    free(paths);
    return -1;
  }
  base = spec_get(SPEC_WATCH_BASE);
  base_len = base ? strlen(base) : 0;
  ignores = spec_all(SPEC_WATCH_IGNORE);
  ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (ifd < 0) {
    fprintf(stderr, "codex32-shim: watch: inotify_init1: %s; files are not watched\n", strerror(errno));
    free(paths);
    return -1;
  }
  for (char **p = paths; *p; p++) add_tree(*p);
  free(paths);
  return ifd;
}

int fswatch_read(char *what, unsigned long cap) {
  /* small: read again until none is left; a 64 KiB frame would be touched whole (stack-clash probes) and
     stay in the supervisor's memory for its whole life */
  char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
  int changed = 0;
  ssize_t n;
  while ((n = read(ifd, buf, sizeof buf)) > 0) {
    for (char *p = buf; p < buf + n;) {
      struct inotify_event *ev = (struct inotify_event *)p;
      p += sizeof *ev + ev->len;
      if (ev->wd <= 0 || ev->wd > MAX_WATCHES || !wd_path[ev->wd]) continue;
      if (ev->mask & IN_IGNORED) { /* the watch is gone (its directory removed) */
        free(wd_path[ev->wd]);
        wd_path[ev->wd] = NULL;
        n_watches--;
        continue;
      }
      char full[PATH_MAX];
      if (ev->len) snprintf(full, sizeof full, "%s/%s", wd_path[ev->wd], ev->name);
      else snprintf(full, sizeof full, "%s", wd_path[ev->wd]);
      int dir = (ev->mask & IN_ISDIR) != 0;
      if (left_out(full, dir)) continue;
      /* a directory made or moved in: its tree is watched from now on */
      if (dir && (ev->mask & (IN_CREATE | IN_MOVED_TO))) add_tree(full);
      /* a directory only opened and closed changes nothing; its entries' events say what changed */
      if (dir && (ev->mask & (IN_MODIFY | IN_CLOSE_WRITE))) continue;
      if (!changed) snprintf(what, cap, "%s", relative(full));
      changed = 1;
    }
  }
  if (n < 0 && errno != EAGAIN && errno != EINTR) fprintf(stderr, "codex32-shim: watch: read: %s\n", strerror(errno));
  return changed;
}
