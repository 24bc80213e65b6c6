/* sandbox: the container's root (mounts, masks, pivot_root) and its loopback */
#ifndef CODEX32_SANDBOX_H
#define CODEX32_SANDBOX_H

/* build the container's root under NEWROOT from the ordered mount steps in the spec, then pivot */
void setup_rootfs(const char *newroot);
/* the root made beforehand by the supervisor (idmapped layers), moved onto NEWROOT by setup_rootfs; -1 when none */
extern int premade_root;
/* make the idmapped overlay root now if the spec asks for one (the supervisor, before its clone) */
void premake_root(void);
void loopback_up(void);

#endif
