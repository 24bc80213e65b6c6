/* readfile: one read loop for the small files the front end looks at */
#include "readfile.h"
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
