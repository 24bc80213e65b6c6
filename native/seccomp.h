/* seccomp.h: the container's seccomp filters: compiled once with libseccomp, installed before exec. */
#ifndef CODEX32_SECCOMP_H
#define CODEX32_SECCOMP_H
#include <stddef.h>

/*
 * Compile one filter described by LINES (NULL-terminated) to BPF and write it to outfd:
 *   filter ACTION ERRNO                       the default action
 *   arch NAME                                 an architecture (libseccomp's name, e.g. x86)
 *   rule ACTION ERRNO SYSCALL [ARG OP A B]... ACTION for SYSCALL when every comparison holds
 *   flag NAME                                 ignored here: the engine passes flags at install
 * A syscall this libseccomp does not know is skipped, as docker does. 0, or -1 with the reason in err.
 */
int seccomp_compile(char **lines, int outfd, char *err, size_t errlen);

/* Read the compiled filters named by the spec's seccomp= entries ("FLAGS PATH"), in order. */
int seccomp_prepare(char **entries, char *err, size_t errlen);

/* Install the prepared filters in this process (no_new_privs already set). 0, or -1 with err. */
int seccomp_install(char *err, size_t errlen);

/* seccomp-compile OUT: compile the filter whose lines are on stdin into OUT (created, never replaced) */
int seccomp_compile_main(char **args, int n);

#endif
