#include "cgrpc_notify.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int cgrpc_sd_notify(const char *socket_path, const char *message) {
  struct sockaddr_un address;
  memset(&address, 0, sizeof(address));
  address.sun_family = AF_UNIX;
  size_t length = strlen(socket_path);
  if (length < 2 || length >= sizeof(address.sun_path)) return -EINVAL;
  if (socket_path[0] != '/' && socket_path[0] != '@') return -EINVAL;
  memcpy(address.sun_path, socket_path, length);
  // An abstract socket's name starts with a NUL byte and its length is exact (no terminating NUL counted).
  if (socket_path[0] == '@') address.sun_path[0] = '\0';
  socklen_t address_length = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + length);
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  ssize_t sent = sendto(fd, message, strlen(message), MSG_NOSIGNAL, (struct sockaddr *)&address, address_length);
  int result = sent < 0 ? -errno : 0;
  close(fd);
  return result;
}

unsigned long long cgrpc_monotonic_usec(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (unsigned long long)now.tv_sec * 1000000ULL + (unsigned long long)now.tv_nsec / 1000ULL;
}
