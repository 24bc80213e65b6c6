/* follow: a foreground run's log relayed to stdout and stderr while its supervisor lives */
#ifndef CODEX32_CLI_FOLLOW_H
#define CODEX32_CLI_FOLLOW_H
#include <sys/types.h>

/* relay dir/container.log (CRI records) until the supervisor `shim` (our child) exits and the log is
   drained; on_signal(sig) is called for each SIGINT, SIGTERM or SIGHUP received meanwhile, and with SIGPIPE
   once stdout's reader has gone; 1 when it had */
int follow_log(const char *dir, pid_t shim, void (*on_signal)(int sig));
#endif
