/* container: one run of the container, from clone to exec, and its pid 1 */
#ifndef CODEX32_CONTAINER_H
#define CODEX32_CONTAINER_H

/* the supervisor's ends of one run's descriptors */
struct run_io {
  int out, err;  /* read ends of stdout and stderr (with a terminal, the init's; the command's is the pty) */
  int errpipe;   /* the launch-error pipe: closed on exec, a struct launch_error otherwise */
  int input;     /* write end of the command's stdin pipe (stdin_open without tty), else -1 */
  int pty_sock;  /* tty: the terminal's master arrives here (fd_recv), else -1 */
};

/* start one run of the container */
void start_run(struct run_io *io);

#endif
