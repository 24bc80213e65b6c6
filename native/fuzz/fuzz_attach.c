/*
 * fuzz target: the attach socket's frame reader (attach.c: read_client, on_frame, feed_input). The
 * input's first byte picks the terminal mode and how the rest is cut into socket writes; the rest is
 * what a client sends, through a real socket pair, with the container's input a real pipe. The
 * bytes reaching the pipe must be exactly the payloads of the input frames a reference reader finds
 * before the end-of-input frame, and a frame over 64 KiB must drop the client.
 * attach.c is included to reach its static reader without widening the supervisor's interface.
 */
#include "../attach.c"

#include <sys/ioctl.h>

#include "bytes.h"

static struct bytes want, got;

/* take what the container side of the pipe received, and let feed_input write the rest */
static void take(int rd) {
  char buf[65536];
  for (;;) {
    ssize_t n = read(rd, buf, sizeof buf);
    if (n > 0) add(&got, buf, (size_t)n);
    feed_input();
    if (n <= 0 && input_len == 0) return;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  int tty = data[0] & 1;
  size_t cut = (size_t)(data[0] >> 1) * 3 + 1; /* bytes per socket write */
  data++, size--;

  /* the reference reader: which payloads must reach the container, and whether the client is dropped */
  want.len = got.len = 0;
  int eof = 0, dropped = 0;
  size_t i = 0;
  while (size - i >= HEADER) {
    size_t len = (size_t)data[i + 1] << 24 | (size_t)data[i + 2] << 16 | (size_t)data[i + 3] << 8 | data[i + 4];
    if (len > MAX_FRAME) {
      dropped = 1;
      break;
    }
    if (size - i - HEADER < len) break;
    if (data[i] == 0 && !eof) add(&want, data + i + HEADER, len);
    if (data[i] == 1) eof = 1;
    i += HEADER + len;
  }

  int sv[2], in[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 || pipe2(in, O_CLOEXEC | O_NONBLOCK) < 0) abort();
  fcntl(sv[0], F_SETFL, O_NONBLOCK);
  struct client *c = &clients[0];
  for (int k = 0; k < MAX_CLIENTS; k++) clients[k].fd = -1;
  c->fd = sv[0];
  if (!(c->in = malloc(HEADER + MAX_FRAME))) abort();
  attach_set_run(in[1], tty);
  for (size_t off = 0; off < size && c->fd >= 0;) {
    size_t n = size - off < cut ? size - off : cut;
    if (write(sv[1], data + off, n) != (ssize_t)n) abort();
    off += n;
    int avail = 1;
    while (c->fd >= 0 && ioctl(sv[0], FIONREAD, &avail) == 0 && avail > 0) {
      read_client(c);
      take(in[0]);
    }
  }
  take(in[0]);
  if (dropped != (c->fd < 0)) abort();
  if (got.len != want.len || (want.len && memcmp(got.p, want.p, want.len) != 0)) abort();
  /* the end of input closes a pipe (not a terminal) once everything was written */
  int pipe_open = input_fd >= 0;
  if (eof && !tty && pipe_open) abort();
  if (!eof && !pipe_open) abort();
  if (c->fd >= 0) drop(c);
  close(sv[1]);
  close_input();
  close(in[0]);
  input_eof = 0;
  return 0;
}
