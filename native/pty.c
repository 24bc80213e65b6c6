/*
 * pty: a terminal for the container's command (run -t) or an exec'd one (exec -t). The pair is opened
 * inside the container, from its own devpts, so `tty` names /dev/pts/N there; the master goes back
 * to the supervisor over a unix socket, as runc's console socket does for conmon.
 */
#define _GNU_SOURCE
#include "pty.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "util.h"

int pty_open(int *master, int *slave) {
  int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0) return -1;
  int unlock = 0;
  if (ioctl(m, TIOCSPTLCK, &unlock) < 0) goto fail;
  /* TIOCGPTPEER opens the peer of this very master: no path lookup a container could redirect */
  int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (s < 0) goto fail;
  *master = m;
  *slave = s;
  return 0;
fail:
  close(m);
  return -1;
}

void pty_take(int slave) {
  if (ioctl(slave, TIOCSCTTY, 0) < 0) die("make the terminal controlling");
  for (int fd = 0; fd < 3; fd++)
    if (dup2(slave, fd) < 0) die("dup terminal");
  if (slave > 2) close(slave);
}

void pty_resize(int fd, unsigned rows, unsigned cols) {
  struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
  ioctl(fd, TIOCSWINSZ, &ws);
}

int fd_send(int sock, int fd) {
  char byte = 'f', ctl[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {&byte, 1};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
  memset(ctl, 0, sizeof ctl);
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof(int));
  return sendmsg(sock, &msg, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

int fd_recv(int sock) {
  char byte, ctl[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {&byte, 1};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
  ssize_t n;
  while ((n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
  }
  struct cmsghdr *c = n == 1 ? CMSG_FIRSTHDR(&msg) : NULL;
  if (!c || c->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof(int));
  return fd;
}

/* write all of buf to fd, waiting when fd is non-blocking and full (a caller's terminal may be) */
static int write_waiting(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EAGAIN) {
      struct pollfd p = {fd, POLLOUT, 0};
      poll(&p, 1, 1000);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

/* copy what is readable on from to to; 0 at end of input (or an error), 1 otherwise */
static int copy(int from, int to) {
  char buf[16384];
  ssize_t n = read(from, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 1;
  if (n <= 0) return 0;
  return write_waiting(to, buf, (size_t)n) == 0;
}

int pty_size_fd = -1;

static void follow_size(int master) {
  struct winsize ws;
  if (ioctl(0, TIOCGWINSZ, &ws) == 0 || ioctl(1, TIOCGWINSZ, &ws) == 0) {
    ioctl(master, TIOCSWINSZ, &ws);
    return;
  }
  /* piped stdio (an API client's stream): the caller writes the size to a file, then signals us */
  char buf[32];
  ssize_t n = pty_size_fd >= 0 ? pread(pty_size_fd, buf, sizeof buf - 1, 0) : -1;
  unsigned rows, cols;
  if (n <= 0) return;
  buf[n] = 0;
  if (sscanf(buf, "%u %u", &rows, &cols) == 2 && rows && cols) pty_resize(master, rows, cols);
}

int pty_relay(int master, pid_t child, const sigset_t *mask) {
  sigset_t m = *mask;
  sigaddset(&m, SIGWINCH);
  sigprocmask(SIG_BLOCK, &m, NULL);
  int sfd = signalfd(-1, &m, SFD_CLOEXEC | SFD_NONBLOCK);
  follow_size(master);
  int in_open = 1, status = 0, exited = 0;
  for (;;) {
    struct pollfd p[3] = {{master, POLLIN, 0}, {sfd, POLLIN, 0}, {in_open ? 0 : -1, POLLIN, 0}};
    /* after the command exits, read the terminal dry: EIO once its last writer is gone */
    if (poll(p, 3, exited ? 100 : -1) <= 0 && exited) break;
    if (p[0].revents && !copy(master, 1)) break;
    /* signals before input: a resize the caller made before typing applies before what it typed */
    struct signalfd_siginfo si;
    while (p[1].revents && read(sfd, &si, sizeof si) == sizeof si) {
      if (si.ssi_signo == SIGWINCH) follow_size(master);
      else if (si.ssi_signo == SIGUSR2) kill(-child, SIGKILL); /* the caller's timeout ran out: its whole group */
      else if (si.ssi_signo != SIGCHLD) kill(-child, (int)si.ssi_signo);
      else if (!exited && waitpid(child, &status, WNOHANG) == child) exited = 1;
    }
    if (p[2].revents && !copy(0, master)) in_open = 0;
  }
  if (!exited) waitpid(child, &status, 0);
  close(sfd);
  return status;
}
