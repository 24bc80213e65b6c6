/* readfile: small files (proc, cgroup, the supervisor's records) read whole into a caller's buffer */
#ifndef CODEX32_CLI_READFILE_H
#define CODEX32_CLI_READFILE_H
#include <sys/types.h>

/* path's bytes into out, NUL-terminated; the length, or -1 when unreadable (or, with whole, longer than out holds) */
ssize_t read_small(const char *path, char *out, size_t outsz, int whole);
#endif
