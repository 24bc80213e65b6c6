/* pty: terminals for container processes, opened inside the container so its own devpts names them */
#ifndef CODEX32_PTY_H
#define CODEX32_PTY_H
#include <signal.h>
#include <sys/types.h>

/* open a new pty pair from this process's /dev/ptmx; both close-on-exec. 0, or -1 with errno */
int pty_open(int *master, int *slave);
/* in a fresh session: make slave the controlling terminal and stdin, stdout and stderr */
void pty_take(int slave);
/* set the window size of the terminal behind fd */
void pty_resize(int fd, unsigned rows, unsigned cols);
/* pass a descriptor over a unix socket (SCM_RIGHTS); 0 or -1 */
int fd_send(int sock, int fd);
/* receive one descriptor (close-on-exec); -1 when the peer closed without sending one */
int fd_recv(int sock);
/*
 * exec -t: copy our stdin to master and master to our stdout until the terminal closes, follow our
 * terminal's window size on SIGWINCH, forward SIGTERM, SIGINT and SIGHUP to child (SIGUSR2 as SIGKILL).
 * mask holds those signals and SIGCHLD, blocked. Returns child's wait status.
 */
int pty_relay(int master, pid_t child, const sigset_t *mask);
/* exec -S FILE, opened before entering the container: the window size ("ROWS COLS") read on SIGWINCH
 * when our stdio is not a terminal; -1 when not given */
extern int pty_size_fd;

#endif
