/* readfile: one read loop and one write loop for the small files the front end handles */
#include "readfile.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

ssize_t read_small(const char *path, char *out, size_t outsz, int whole) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || outsz == 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  size_t n = 0;
  ssize_t r = 0;
  while (n + 1 < outsz && (r = read(fd, out + n, outsz - 1 - n)) > 0) n += (size_t)r;
  close(fd);
  if (r < 0 || (whole && n + 1 >= outsz)) return -1;
  out[n] = 0;
  return (ssize_t)n;
}

int write_small(const char *path, const char *data, size_t len, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return -1;
  size_t off = 0;
  while (off < len) {
    ssize_t w = write(fd, data + off, len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    off += (size_t)w;
  }
  return close(fd) == 0 && off == len ? 0 : -1;
}
