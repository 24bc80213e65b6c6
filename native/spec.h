/* spec: the container's RUNDIR/spec, NUL-terminated "key=value" entries written by the engine */
#ifndef CODEX32_SPEC_H
#define CODEX32_SPEC_H
#include <stddef.h>

enum { ISO_MINIMAL = 0, ISO_STANDARD = 1, ISO_STRICT = 2 };

extern char **entries; /* in spec order: the mount steps are carried out in this order (no cap on their number) */
extern int n_entries;
extern const char *rundir; /* the container's run directory */
extern int isolation;      /* ISO_MINIMAL, ISO_STANDARD or ISO_STRICT */

/* split a spec held in buf (len bytes, then a NUL) into entries, which point into buf */
void spec_parse(char *buf, size_t len);
/* read the spec of the container whose run directory is dir */
void load_container(const char *dir);
/* add one "key=value" entry after those read (exec's overrides); the entry is not copied */
void spec_add(char *entry);
const char *spec_get(const char *key);
long long spec_num(const char *key, long long dflt);
/* every value of a repeated key, as a NULL-terminated vector (free the vector, not the values) */
char **spec_all(const char *key);
/* the container's environment, "K=V" entries */
char **env_vec(void);

#endif
