/* selfexe: the supervisor runs from a read-only view of its own binary (the CVE-2019-5736 class) */
#ifndef CODEX32_SELFEXE_H
#define CODEX32_SELFEXE_H

/*
 * Re-exec this program from a read-only bind mount of itself, detached from every mount table
 * (from a sealed memfd copy where mounting is not allowed), unless it already runs from one. Every
 * process that later carries this binary into a container (its init, exec, a "#!/proc/self/exe"
 * script) then holds a handle that cannot be opened for writing: EROFS, or a sealed copy.
 */
void protect_self(char **argv);

#endif
