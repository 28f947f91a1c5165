#define _GNU_SOURCE  // recvmmsg, sendmmsg
#include "cgrpc_datagram.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct cgrpc_dgram_batch {
  int count;
  int slot_size;
  int appended;
  uint8_t *buffers;
  struct mmsghdr *messages;
  struct iovec *vectors;
  cgrpc_dgram_peer *peers;
};

// A numeric IPv4 or IPv6 address (with a scope, `fe80::1%eth0`) and a port.
static int parse_address(const char *host, int port, cgrpc_dgram_peer *out) {
  memset(out, 0, sizeof(*out));
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICHOST};
  struct addrinfo *found = NULL;
  if (getaddrinfo(host, NULL, &hints, &found) != 0 || found == NULL) return -EINVAL;
  int error = -EAFNOSUPPORT;
  if (found->ai_addrlen <= sizeof(out->address) &&
      (found->ai_family == AF_INET || found->ai_family == AF_INET6)) {
    memcpy(&out->address, found->ai_addr, found->ai_addrlen);
    out->length = found->ai_addrlen;
    if (found->ai_family == AF_INET) {
      out->address.v4.sin_port = htons((uint16_t)port);
    } else {
      out->address.v6.sin6_port = htons((uint16_t)port);
    }
    error = 0;
  }
  freeaddrinfo(found);
  return error;
}

static int open_socket(const char *host, int port, int bind_it, int receive_buffer) {
  cgrpc_dgram_peer address;
  int error = parse_address(host, port, &address);
  if (error != 0) return error;
  int fd = socket(address.address.any.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int one = 1;
  if (receive_buffer > 0) {
    // Best effort: a smaller buffer than asked (or the default) still works.
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof(receive_buffer));
  }
  if (bind_it) {
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&address.address, address.length) != 0) {
      error = -errno;
      close(fd);
      return error;
    }
  } else if (connect(fd, (struct sockaddr *)&address.address, address.length) != 0) {
    error = -errno;
    close(fd);
    return error;
  }
  return fd;
}

int cgrpc_dgram_bind(const char *host, int port, int receive_buffer) {
  return open_socket(host, port, 1, receive_buffer);
}

int cgrpc_dgram_connect(const char *host, int port) { return open_socket(host, port, 0, 0); }

int cgrpc_dgram_local(int fd, cgrpc_dgram_peer *out) {
  memset(out, 0, sizeof(*out));
  out->length = sizeof(out->address);
  return getsockname(fd, (struct sockaddr *)&out->address, &out->length) == 0 ? 0 : -errno;
}

int cgrpc_dgram_peer_format(const cgrpc_dgram_peer *peer, uint8_t *host, size_t host_size, int *port) {
  int family = peer->address.any.sa_family;
  const void *raw = NULL;
  if (family == AF_INET) {
    const struct sockaddr_in *v4 = (const struct sockaddr_in *)&peer->address;
    raw = &v4->sin_addr;
    *port = ntohs(v4->sin_port);
  } else if (family == AF_INET6) {
    const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&peer->address;
    raw = &v6->sin6_addr;
    *port = ntohs(v6->sin6_port);
  } else {
    return -EAFNOSUPPORT;
  }
  if (inet_ntop(family, raw, (char *)host, (socklen_t)host_size) == NULL) return -errno;
  return family;
}

int cgrpc_dgram_close(int fd) { return close(fd) == 0 ? 0 : -errno; }

int cgrpc_stream_bind(const char *host, int port) {
  cgrpc_dgram_peer address;
  int error = parse_address(host, port, &address);
  if (error != 0) return error;
  int fd = socket(address.address.any.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
      bind(fd, (struct sockaddr *)&address.address, address.length) != 0) {
    error = -errno;
    close(fd);
    return error;
  }
  return fd;
}

int cgrpc_stream_listen(int fd, int backlog) { return listen(fd, backlog) == 0 ? 0 : -errno; }

int cgrpc_fd_duplicate(int fd) {
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  return copy < 0 ? -errno : copy;
}

cgrpc_dgram_batch *cgrpc_dgram_batch_create(int count, int slot_size) {
  if (count <= 0 || slot_size <= 0) return NULL;
  cgrpc_dgram_batch *batch = calloc(1, sizeof(*batch));
  if (batch == NULL) return NULL;
  batch->count = count;
  batch->slot_size = slot_size;
  batch->buffers = malloc((size_t)count * (size_t)slot_size);
  batch->messages = calloc((size_t)count, sizeof(struct mmsghdr));
  batch->vectors = calloc((size_t)count, sizeof(struct iovec));
  batch->peers = calloc((size_t)count, sizeof(cgrpc_dgram_peer));
  if (batch->buffers == NULL || batch->messages == NULL || batch->vectors == NULL || batch->peers == NULL) {
    cgrpc_dgram_batch_destroy(batch);
    return NULL;
  }
  return batch;
}

void cgrpc_dgram_batch_destroy(cgrpc_dgram_batch *batch) {
  if (batch == NULL) return;
  free(batch->buffers);
  free(batch->messages);
  free(batch->vectors);
  free(batch->peers);
  free(batch);
}

int cgrpc_dgram_receive(int fd, cgrpc_dgram_batch *batch) {
  for (int i = 0; i < batch->count; i++) {
    batch->vectors[i].iov_base = batch->buffers + (size_t)i * (size_t)batch->slot_size;
    batch->vectors[i].iov_len = (size_t)batch->slot_size;
    struct msghdr *header = &batch->messages[i].msg_hdr;
    memset(header, 0, sizeof(*header));
    header->msg_iov = &batch->vectors[i];
    header->msg_iovlen = 1;
    header->msg_name = &batch->peers[i].address;
    header->msg_namelen = sizeof(batch->peers[i].address);
  }
  int received = recvmmsg(fd, batch->messages, (unsigned int)batch->count, MSG_DONTWAIT, NULL);
  if (received < 0) return -errno;
  for (int i = 0; i < received; i++) batch->peers[i].length = batch->messages[i].msg_hdr.msg_namelen;
  return received;
}

size_t cgrpc_dgram_received(const cgrpc_dgram_batch *batch, int i, int *truncated, cgrpc_dgram_peer *peer) {
  *truncated = (batch->messages[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
  if (peer != NULL) *peer = batch->peers[i];
  return batch->messages[i].msg_len;
}

size_t cgrpc_dgram_copy_received(const cgrpc_dgram_batch *batch, int i, uint8_t *out, size_t capacity) {
  size_t length = batch->messages[i].msg_len;
  if (length > capacity) length = capacity;
  memcpy(out, batch->buffers + (size_t)i * (size_t)batch->slot_size, length);
  return length;
}

int cgrpc_dgram_append(cgrpc_dgram_batch *batch, const uint8_t *bytes, size_t length, const cgrpc_dgram_peer *peer) {
  if (length > (size_t)batch->slot_size) return -EMSGSIZE;
  if (batch->appended >= batch->count) return -ENOBUFS;
  int i = batch->appended++;
  uint8_t *slot = batch->buffers + (size_t)i * (size_t)batch->slot_size;
  memcpy(slot, bytes, length);
  batch->vectors[i].iov_base = slot;
  batch->vectors[i].iov_len = length;
  struct msghdr *header = &batch->messages[i].msg_hdr;
  memset(header, 0, sizeof(*header));
  header->msg_iov = &batch->vectors[i];
  header->msg_iovlen = 1;
  if (peer != NULL) {
    batch->peers[i] = *peer;
    header->msg_name = &batch->peers[i].address;
    header->msg_namelen = peer->length;
  }
  return 0;
}

int cgrpc_dgram_appended(const cgrpc_dgram_batch *batch) { return batch->appended; }

int cgrpc_dgram_flush(int fd, cgrpc_dgram_batch *batch) {
  int total = batch->appended, sent = 0;
  while (sent < total) {
    int now = sendmmsg(fd, batch->messages + sent, (unsigned int)(total - sent), MSG_DONTWAIT);
    if (now < 0) {
      if (errno == EINTR) continue;
      // The first datagram was refused (full buffer, or an error queued on a connected socket): it is dropped
      // and the rest still go.
      sent += 1;
      continue;
    }
    sent += now;
  }
  batch->appended = 0;
  return total;
}

int cgrpc_dgram_send(int fd, const uint8_t *bytes, size_t length, const cgrpc_dgram_peer *peer) {
  ssize_t sent = sendto(fd, bytes, length, MSG_DONTWAIT, peer ? (const struct sockaddr *)&peer->address : NULL,
                        peer ? peer->length : 0);
  return sent < 0 ? -errno : (int)sent;
}

int cgrpc_dgram_take_error(int fd) {
  int error = 0;
  socklen_t length = sizeof(error);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) return -errno;
  return error;
}

int cgrpc_wakeup_create(void) {
  int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  return fd < 0 ? -errno : fd;
}

int cgrpc_wakeup_signal(int fd) {
  uint64_t one = 1;
  return write(fd, &one, sizeof(one)) == (ssize_t)sizeof(one) ? 0 : -errno;
}

int cgrpc_wakeup_drain(int fd) {
  uint64_t count;
  return read(fd, &count, sizeof(count)) == (ssize_t)sizeof(count) ? 0 : -errno;
}

int cgrpc_dgram_poll(struct pollfd *fds, int count, int timeout_ms) {
  int ready = poll(fds, (nfds_t)count, timeout_ms);
  if (ready < 0) return errno == EINTR ? 0 : -errno;
  return ready;
}
