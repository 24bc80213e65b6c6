/* attach: the container's attach socket, RUNDIR/attach.sock, for run -i/-t and codex32 attach */
#ifndef CODEX32_ATTACH_H
#define CODEX32_ATTACH_H
#include <poll.h>
#include <stddef.h>

/*
 * Frames both ways are [type u8][length u32 big-endian][payload]. From a client: 0 input, 1 end of
 * input, 2 window size (rows u16, cols u16). To clients: 1 stdout, 2 stderr. A client's connection
 * closes when the run it watched ends.
 */

/* listen when the spec asks for a terminal or open stdin; with attach_wait, say "attach" on fd 3 and
 * wait (at most 10 s) for the first client, so nothing the command prints is missed */
void attach_init(void);
/* the current run's input: the stdin pipe or a dup of the terminal's master (-1: none); tty: is a terminal */
void attach_set_run(int input_fd, int tty);
/* add the attach descriptors to a poll set; returns how many were added */
int attach_pollfds(struct pollfd *p, int max);
/* handle poll results for the n descriptors attach_pollfds added */
void attach_handle(const struct pollfd *p, int n);
/* 1 while a client still has output to take: stop reading the container until it does */
int attach_backlogged(void);
/* the run ended: deliver what is pending (briefly), close its clients and its input */
void attach_run_ended(void);
/* remove the socket when the supervisor ends */
void attach_shutdown(void);

#endif
