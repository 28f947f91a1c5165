#ifndef CGRPC_DATAGRAM_H
#define CGRPC_DATAGRAM_H
// Batched UDP for the datagram relay: recvmmsg/sendmmsg over buffers this file owns, so the Swift side passes
// bytes and numbers only; and the listening sockets a reload hands on (a duplicate descriptor per owner). Every
// function returns -errno on failure. A batch is used by one thread at a time.

#include <stddef.h>
#include <stdint.h>
#include <poll.h>
#include <netinet/in.h>
#include <sys/socket.h>

/// A datagram's peer: an IPv4 or IPv6 socket address by value (28 bytes, not sockaddr_storage's 128: every query
/// in flight keeps its client's).
typedef struct {
  union {
    struct sockaddr any;
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;
  } address;
  socklen_t length;
} cgrpc_dgram_peer;

/// A non-blocking UDP socket bound to host:port (numeric host; port 0 for any), with SO_REUSEADDR and
/// SO_REUSEPORT so that sibling sockets share the port, and a receive buffer of `receive_buffer` bytes when that is
/// not 0 (the kernel caps it at net.core.rmem_max). Returns the descriptor.
int cgrpc_dgram_bind(const char *host, int port, int receive_buffer);
/// A non-blocking UDP socket connected to host:port (numeric host) from a kernel-chosen port.
int cgrpc_dgram_connect(const char *host, int port);
/// The socket's local address.
int cgrpc_dgram_local(int fd, cgrpc_dgram_peer *out);
/// Formats a peer as a numeric host and its port; host needs 46 bytes (INET6_ADDRSTRLEN). Returns the address
/// family.
int cgrpc_dgram_peer_format(const cgrpc_dgram_peer *peer, uint8_t *host, size_t host_size, int *port);
int cgrpc_dgram_close(int fd);

/// A non-blocking TCP socket bound to host:port (numeric host; port 0 for any) with SO_REUSEADDR, not listening yet,
/// for a listener that a reload hands on (NIO adopts a duplicate of it). Returns the descriptor or -errno.
int cgrpc_stream_bind(const char *host, int port);
/// Starts listening on a socket from cgrpc_stream_bind; connections are completed by the kernel from then on.
int cgrpc_stream_listen(int fd, int backlog);
/// A duplicate of `fd` (close-on-exec), to hand the same socket to a second owner. Returns it or -errno.
int cgrpc_fd_duplicate(int fd);

typedef struct cgrpc_dgram_batch cgrpc_dgram_batch;

/// `count` slots of `slot_size` bytes, for receiving or for sending.
cgrpc_dgram_batch *cgrpc_dgram_batch_create(int count, int slot_size);
void cgrpc_dgram_batch_destroy(cgrpc_dgram_batch *batch);

/// Reads up to the batch's count of datagrams that are ready now (never blocks). Returns how many.
int cgrpc_dgram_receive(int fd, cgrpc_dgram_batch *batch);
/// The i-th datagram read: its length, whether it was cut to the slot size, and its sender.
size_t cgrpc_dgram_received(const cgrpc_dgram_batch *batch, int i, int *truncated, cgrpc_dgram_peer *peer);
/// Copies the i-th datagram read into `out` (room for `capacity` bytes); returns the bytes copied.
size_t cgrpc_dgram_copy_received(const cgrpc_dgram_batch *batch, int i, uint8_t *out, size_t capacity);

/// Copies a datagram into the next free slot, to `peer` (NULL on a connected socket). Returns 0, or -ENOBUFS
/// when every slot is taken and -EMSGSIZE when it does not fit a slot.
int cgrpc_dgram_append(cgrpc_dgram_batch *batch, const uint8_t *bytes, size_t length, const cgrpc_dgram_peer *peer);
/// Datagrams appended and not yet sent.
int cgrpc_dgram_appended(const cgrpc_dgram_batch *batch);
/// Sends every appended datagram (sendmmsg, again after a partial send) and empties the batch. Returns how many
/// the kernel took; a datagram it refuses is dropped as a lost packet would be.
int cgrpc_dgram_flush(int fd, cgrpc_dgram_batch *batch);

/// One datagram now (sendto), for a reply made off the relay's thread. Returns the bytes sent.
int cgrpc_dgram_send(int fd, const uint8_t *bytes, size_t length, const cgrpc_dgram_peer *peer);
/// Pending error of the socket (SO_ERROR), e.g. ECONNREFUSED after an ICMP port unreachable; clears it.
int cgrpc_dgram_take_error(int fd);

/// A non-blocking eventfd that wakes a wait on descriptors from another thread (the relay doorbell's re-arming).
int cgrpc_wakeup_create(void);
/// Makes the eventfd readable (it stays so until drained).
int cgrpc_wakeup_signal(int fd);
/// Makes it unreadable again.
int cgrpc_wakeup_drain(int fd);

/// poll(2) on the caller's array: how many are ready (0 when interrupted), or -errno.
int cgrpc_dgram_poll(struct pollfd *fds, int count, int timeout_ms);

#endif
