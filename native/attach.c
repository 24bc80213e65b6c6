/*
 * attach: a unix socket in the run directory, as conmon's attach socket. Output of the container is
 * copied to every client as it is logged (log capture never stops); input from any client goes to
 * the container's stdin pipe or terminal. A slow client holds the container's output back for at
 * most STALL_MS, then is dropped, so one stuck terminal cannot stop the logs.
 */
#define _GNU_SOURCE
#include "attach.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "contract.h"
#include "log.h"
#include "pty.h"
#include "record.h"
#include "spec.h"
#include "util.h"

#define MAX_CLIENTS 4
#define HEADER 5
#define MAX_FRAME (64 * 1024)
#define MAX_PENDING (4 * 1024 * 1024)
#define STALL_MS 5000
#define LINGER_MS 2000

struct client {
  int fd;
  char *in; /* a partly received frame */
  size_t in_len;
  char *out; /* output the socket did not take yet */
  size_t out_len;
  int64_t stalled_since;
  int64_t closing_since; /* the run ended: we said end of file, and wait for the client to hang up */
};

static int listen_fd = -1;
static struct client clients[MAX_CLIENTS];
static int input_fd = -1, input_tty, input_eof;
static char *input_buf; /* input the container did not take yet */
static size_t input_len;
static char sock_path[64];
static int dir_fd = -1;

static void drop(struct client *c) {
  if (c->fd >= 0) close(c->fd);
  free(c->in);
  free(c->out);
  memset(c, 0, sizeof *c);
  c->fd = -1;
}

/* write what the client takes now; keep the rest. 0, or -1 when it must be dropped */
static int push(struct client *c, const char *data, size_t len) {
  if (c->out_len == 0) {
    ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno != EAGAIN && errno != EINTR) return -1;
    if (n > 0) data += n, len -= (size_t)n;
    if (len == 0) return 0;
  }
  if (c->out_len + len > MAX_PENDING) return -1;
  char *b = realloc(c->out, c->out_len + len);
  if (!b) return -1;
  memcpy(b + c->out_len, data, len);
  c->out = b;
  c->out_len += len;
  if (!c->stalled_since) c->stalled_since = now_ms();
  return 0;
}

static void flush(struct client *c) {
  ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n < 0 && errno != EAGAIN && errno != EINTR) return drop(c);
  if (n <= 0) return;
  memmove(c->out, c->out + n, c->out_len - (size_t)n);
  c->out_len -= (size_t)n;
  c->stalled_since = c->out_len ? now_ms() : 0;
}

/* the log's tap: every byte the container writes, to every client, framed */
static void tap(const struct stream *s, const char *data, size_t len) {
  char head[HEADER] = {s == &err_s ? 2 : 1, (char)(len >> 24), (char)(len >> 16), (char)(len >> 8), (char)len};
  for (int i = 0; i < MAX_CLIENTS; i++) {
    struct client *c = &clients[i];
    if (c->fd >= 0 && !c->closing_since && (push(c, head, HEADER) < 0 || push(c, data, len) < 0)) drop(c);
  }
}

static void accept_one(void) {
  int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0) return;
  for (int i = 0; i < MAX_CLIENTS; i++)
    if (clients[i].fd < 0 && (clients[i].in = malloc(HEADER + MAX_FRAME))) {
      clients[i].fd = fd;
      return;
    }
  close(fd); /* full: the client sees its connection closed */
}

void attach_init(void) {
  for (int i = 0; i < MAX_CLIENTS; i++) clients[i].fd = -1;
  if (!spec_num(SPEC_TTY, 0) && !spec_num(SPEC_STDIN_OPEN, 0)) return;
  /* a socket path holds 108 bytes: bind through a descriptor of the run directory */
  dir_fd = open(rundir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  snprintf(sock_path, sizeof sock_path, "/proc/self/fd/%d/" RUN_ATTACH_SOCK, dir_fd);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof a.sun_path, "%s", sock_path);
  unlink(sock_path);
  listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&a, sizeof a) < 0 || chmod(sock_path, 0600) < 0 ||
      listen(listen_fd, MAX_CLIENTS) < 0)
    die("attach socket in %s", rundir);
  log_tap = tap;
  if (!spec_num(SPEC_ATTACH_WAIT, 0) || sync_fd < 0) return;
  write_all(sync_fd, "attach\n", 7);
  struct pollfd p = {listen_fd, POLLIN, 0};
  if (poll(&p, 1, 10000) > 0) accept_one();
}

void attach_set_run(int fd, int tty) {
  input_fd = fd;
  input_tty = tty;
  input_eof = 0;
  input_len = 0;
  if (fd >= 0) fcntl(fd, F_SETFL, O_NONBLOCK);
}

static void close_input(void) {
  if (input_fd >= 0) close(input_fd);
  input_fd = -1;
  input_len = 0;
}

/* write pending input; at its end, an end-of-input request closes the pipe */
static void feed_input(void) {
  if (input_fd >= 0 && input_len) {
    ssize_t n = write(input_fd, input_buf, input_len);
    if (n < 0 && errno != EAGAIN && errno != EINTR) return close_input();
    if (n > 0) memmove(input_buf, input_buf + n, input_len - (size_t)n), input_len -= (size_t)n;
  }
  if (input_len == 0 && input_eof && !input_tty) close_input();
}

/* one whole frame from a client */
static void on_frame(int type, const unsigned char *p, size_t len) {
  if (type == 0 && input_fd >= 0 && !input_eof && len) {
    char *b = realloc(input_buf, input_len + len);
    if (!b) return;
    memcpy(b + input_len, p, len);
    input_buf = b;
    input_len += len;
    feed_input();
  } else if (type == 1) {
    input_eof = 1;
    feed_input();
  } else if (type == 2 && len == 4 && input_tty && input_fd >= 0) {
    pty_resize(input_fd, (unsigned)(p[0] << 8 | p[1]), (unsigned)(p[2] << 8 | p[3]));
  }
}

static void read_client(struct client *c) {
  if (c->closing_since) { /* what it still sends is for a run that ended: discard until it hangs up */
    char sink[4096];
    ssize_t n = read(c->fd, sink, sizeof sink);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) drop(c);
    return;
  }
  ssize_t n = read(c->fd, c->in + c->in_len, HEADER + MAX_FRAME - c->in_len);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) return drop(c); /* detached */
  c->in_len += (size_t)n;
  while (c->in_len >= HEADER) {
    const unsigned char *h = (const unsigned char *)c->in;
    size_t len = (size_t)h[1] << 24 | (size_t)h[2] << 16 | (size_t)h[3] << 8 | h[4];
    if (len > MAX_FRAME) return drop(c);
    if (c->in_len < HEADER + len) break;
    on_frame(h[0], h + HEADER, len);
    memmove(c->in, c->in + HEADER + len, c->in_len - HEADER - len);
    c->in_len -= HEADER + len;
  }
}

int attach_pollfds(struct pollfd *p, int max) {
  if (listen_fd < 0 || max < MAX_CLIENTS + 2) return 0;
  int n = 0;
  p[n++] = (struct pollfd){listen_fd, POLLIN, 0};
  /* input waiting for the container: read no more from clients until it took it */
  p[n++] = (struct pollfd){input_len ? input_fd : -1, POLLOUT, 0};
  for (int i = 0; i < MAX_CLIENTS; i++) {
    struct client *c = &clients[i];
    if (c->fd >= 0 && c->out_len && now_ms() - c->stalled_since > STALL_MS) drop(c);
    if (c->fd >= 0 && c->closing_since && now_ms() - c->closing_since > LINGER_MS) drop(c);
    short ev = (short)((input_len && !c->closing_since ? 0 : POLLIN) | (c->out_len ? POLLOUT : 0));
    p[n++] = (struct pollfd){c->fd >= 0 ? c->fd : -1, ev, 0};
  }
  return n;
}

void attach_handle(const struct pollfd *p, int n) {
  if (n < MAX_CLIENTS + 2) return;
  if (p[0].revents) accept_one();
  if (p[1].revents) feed_input();
  for (int i = 0; i < MAX_CLIENTS; i++) {
    struct client *c = &clients[i];
    if (c->fd < 0 || p[2 + i].fd != c->fd || !p[2 + i].revents) continue;
    if (p[2 + i].revents & POLLOUT) flush(c);
    if (c->fd >= 0 && p[2 + i].revents & (POLLIN | POLLHUP | POLLERR)) read_client(c);
  }
}

int attach_backlogged(void) {
  for (int i = 0; i < MAX_CLIENTS; i++)
    if (clients[i].fd >= 0 && clients[i].out_len) return 1;
  return 0;
}

/*
 * Closing a socket whose peer is still sending would reset the connection and lose the output the
 * peer has not read yet: say end of file instead, and let the client hang up once it read everything.
 */
void attach_run_ended(void) {
  close_input();
  int64_t end = now_ms() + 2000;
  for (int i = 0; i < MAX_CLIENTS; i++) {
    struct client *c = &clients[i];
    if (c->fd < 0 || c->closing_since) continue;
    while (c->fd >= 0 && c->out_len && now_ms() < end) {
      struct pollfd p = {c->fd, POLLOUT, 0};
      if (poll(&p, 1, 100) > 0) flush(c);
    }
    if (c->fd < 0) continue;
    free(c->out);
    c->out = NULL;
    c->out_len = 0;
    shutdown(c->fd, SHUT_WR);
    c->closing_since = now_ms();
  }
}

void attach_shutdown(void) {
  if (listen_fd < 0) return;
  unlink(sock_path);
  /* the supervisor is about to exit: give the clients of the last run their moment to hang up */
  int64_t end = now_ms() + LINGER_MS;
  for (int i = 0; i < MAX_CLIENTS; i++)
    while (clients[i].fd >= 0 && now_ms() < end) {
      struct pollfd p = {clients[i].fd, POLLIN, 0};
      if (poll(&p, 1, 100) > 0) read_client(&clients[i]);
    }
}
