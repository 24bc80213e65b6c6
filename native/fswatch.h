/* fswatch: PM2's watch, by inotify: the watched trees, less the paths the ignore globs match */
#ifndef CODEX32_FSWATCH_H
#define CODEX32_FSWATCH_H

/* watch every watch_path entry (directories with their subdirectories); the inotify fd, or -1 when none */
int fswatch_init(void);
/* read the pending events; returns 1 when one of them is a change not ignored (what changed in *what) */
int fswatch_read(char *what, unsigned long cap);
/* 1 when rel (a path relative to watch_base) matches one of the ignore globs */
int fswatch_ignored(const char *rel);

#endif
