/* userns: a rootless container's user mapping (newuidmap/newgidmap) and its network helper (pasta) */
#ifndef CODEX32_USERNS_H
#define CODEX32_USERNS_H
#include <sys/types.h>

/* true when the spec is a rootless one: the maps go through the setuid helpers */
int rootless(void);
/* write pid's uid and gid maps through newuidmap and newgidmap; dies naming the helper that failed */
void rootless_map(pid_t pid);
/* run the spec's network helper for pid's namespaces, if any; dies when it fails */
void net_helper_start(pid_t pid);
/* end the network helper of the run that ended (its pid from net_helper_pid) */
void net_helper_stop(void);

#endif
