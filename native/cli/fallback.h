/* fallback: hand the command to the Node CLI, which prints whatever the native side does not handle */
#ifndef CODEX32_CLI_FALLBACK_H
#define CODEX32_CLI_FALLBACK_H

/* the JS launcher (bin/codex32) and the arguments after it, set once by main */
void fallback_init(const char *launcher, int argc, char **argv);
/* exec node on the launcher with the original arguments; never returns */
void to_node(void) __attribute__((noreturn));
#endif
