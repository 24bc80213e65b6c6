/* net: joining the network namespace the engine prepared for a private network */
#ifndef CODEX32_NET_H
#define CODEX32_NET_H

/* enter the spec's netns_path, if any, so every run of the container is born inside it */
void net_join(void);
/* whether the container has a network namespace of its own (fresh or prepared) */
int net_own(void);

#endif
