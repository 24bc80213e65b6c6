/* readfile: small files (proc, cgroup, the supervisor's records, a container's own) read or written whole */
#ifndef CODEX32_CLI_READFILE_H
#define CODEX32_CLI_READFILE_H
#include <sys/types.h>

/* path's bytes into out, NUL-terminated; the length, or -1 when unreadable (or, with whole, longer than out holds) */
ssize_t read_small(const char *path, char *out, size_t outsz, int whole);
/* write data whole to path (created with mode, truncated); 0 when written and closed cleanly */
int write_small(const char *path, const char *data, size_t len, mode_t mode);
#endif
