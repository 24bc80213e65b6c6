/* caps: identity, capabilities, rlimits and no_new_privs of a process entering the container */
#ifndef CODEX32_CAPS_H
#define CODEX32_CAPS_H
#include <stdint.h>

/* apply the spec's "rlimit" entries */
void apply_rlimits(void);
/* keep only the capabilities named in KEEP (a 64-bit mask) in every set, bounding included */
void restrict_caps(uint64_t keep);
/* final steps of any process entering the container: identity, caps, no_new_privs, exec */
void become_and_exec(char **argv, char **envp, const char *cwd, int errpipe) __attribute__((noreturn));

#endif
