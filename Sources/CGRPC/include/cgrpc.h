#ifndef CGRPC_H
#define CGRPC_H
// A small shim over gRPC core's C API. Each function builds one batch of grpc_op (a C union that Swift
// should not assemble by hand) or reads one result, so the Swift side only passes bytes, numbers and
// opaque handles. Every struct here has exactly one owner: the Swift object that created it.

#include <stddef.h>
#include <stdint.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/support/time.h>
#include "dns.pb-c.h"
#include "cgrpc_datagram.h"
#include "cgrpc_notify.h"
#include "cgrpc_stream.h"

/// A slice of bytes owned by C: free with cgrpc_bytes_free.
typedef struct {
  uint8_t *data;
  size_t length;
} cgrpc_bytes;

void cgrpc_bytes_free(cgrpc_bytes bytes);

// ---- library ----
void cgrpc_init(void);
void cgrpc_shutdown(void);
const char *cgrpc_version(void);

// ---- completion queue ----
grpc_completion_queue *cgrpc_completion_queue_create(void);
/// Blocks until the next event; `type` is grpc_completion_type.
grpc_event cgrpc_completion_queue_next(grpc_completion_queue *cq);
/// The next event if one is ready now, else an event of type GRPC_QUEUE_TIMEOUT; never blocks.
grpc_event cgrpc_completion_queue_poll(grpc_completion_queue *cq);
/// The next event, waiting at most `timeout_us` microseconds (then an event of type GRPC_QUEUE_TIMEOUT).
grpc_event cgrpc_completion_queue_next_within(grpc_completion_queue *cq, int64_t timeout_us);
/// Puts the calling thread under SCHED_BATCH: woken, it waits for the running thread's time slice instead of
/// preempting it. Returns 0 on success, -1 (errno set) otherwise.
int cgrpc_thread_yield_on_wakeup(void);

// ---- credentials ----
/// Server credentials. With no key/cert pair: plaintext. `client_ca` non-NULL requires and verifies client
/// certificates against it.
grpc_server_credentials *cgrpc_server_credentials_create(const char *key_pem, const char *cert_pem,
                                                         const char *client_ca_pem);
/// Channel credentials. `insecure` != 0: plaintext. Otherwise TLS verified with `root_pem` (NULL: the system
/// roots), presenting `key_pem`/`cert_pem` when both are given.
grpc_channel_credentials *cgrpc_channel_credentials_create(int insecure, const char *root_pem,
                                                           const char *key_pem, const char *cert_pem);

// ---- server ----
/// A server with the limits we need (message size) and its `count` completion queues registered.
grpc_server *cgrpc_server_create(grpc_completion_queue *const *queues, int count, int max_receive_message_length);
/// Registers a unary method whose request payload arrives with the call.
void *cgrpc_server_register_unary_method(grpc_server *server, const char *method);

typedef struct cgrpc_server_call cgrpc_server_call;

cgrpc_server_call *cgrpc_server_call_create(void);
void cgrpc_server_call_destroy(cgrpc_server_call *call);
/// Asks for the next call of a registered method; `tag` completes when one arrives (or on shutdown).
grpc_call_error cgrpc_server_call_request_registered(cgrpc_server_call *call, grpc_server *server,
                                                     void *method, grpc_completion_queue *cq, void *tag);
/// Asks for the next call of any method that was not registered.
grpc_call_error cgrpc_server_call_request_unregistered(cgrpc_server_call *call, grpc_server *server,
                                                       grpc_completion_queue *cq, void *tag);
/// The request message of an arrived call (NULL data when the client sent none). Owned by the call.
int cgrpc_server_call_has_payload(const cgrpc_server_call *call);
cgrpc_bytes cgrpc_server_call_copy_payload(const cgrpc_server_call *call);
/// The method of a call from cgrpc_server_call_request_unregistered, copied.
cgrpc_bytes cgrpc_server_call_copy_method(const cgrpc_server_call *call);
/// The client's address as gRPC core names it (`ipv4:127.0.0.1:5353`), copied; empty when unknown.
cgrpc_bytes cgrpc_server_call_copy_peer(const cgrpc_server_call *call);
/// The value of the request metadata entry `key` (lowercase), copied; NULL data when the client sent none.
cgrpc_bytes cgrpc_server_call_copy_metadata(const cgrpc_server_call *call, const char *key);
/// Queues `tag` on the call's completion queue at once (a batch of no operations), to run work on its thread.
grpc_call_error cgrpc_server_call_notify(cgrpc_server_call *call, void *tag);
/// Sends the reply: initial metadata, the message when `send_message` is not 0, and the status. `tag` completes
/// when that is done.
grpc_call_error cgrpc_server_call_reply(cgrpc_server_call *call, int send_message, const uint8_t *message,
                                        size_t length, grpc_status_code status, const char *details, void *tag);
/// Waits for the call's end: `tag` completes once the status went out, or as soon as the client cancels, its
/// deadline passes or its connection goes; then cgrpc_server_call_was_cancelled says which.
grpc_call_error cgrpc_server_call_watch_close(cgrpc_server_call *call, void *tag);
/// Whether the call ended without its status reaching the client (valid after the watch_close tag completed).
int cgrpc_server_call_was_cancelled(const cgrpc_server_call *call);

// ---- channel and client calls ----
/// How a channel connects; every field has a plain default of 0/NULL.
typedef struct {
  /// The TLS name verified and sent as SNI instead of the target's host (NULL: the target's).
  const char *server_name_override;
  /// Bounds how long a restarted upstream stays unreached.
  int max_reconnect_backoff_ms;
  int max_receive_message_length;
  /// gRPC core's load-balancing policy over the target's addresses (NULL: its default, pick_first).
  const char *lb_policy;
  /// HTTP/2 keepalive pings every this long (0: none), each failing the connection after the timeout.
  int keepalive_time_ms;
  int keepalive_timeout_ms;
  /// Non-zero: the channel's connections are its own, not shared with other channels to the same address
  /// (gRPC core shares them by default, so a pool of channels would otherwise be one connection).
  int own_connections;
} cgrpc_channel_options;

/// A channel to `target` (`HOST:PORT`, `dns:[//AUTHORITY/]NAME:PORT`, `unix:PATH`).
grpc_channel *cgrpc_channel_create(const char *target, grpc_channel_credentials *credentials,
                                   const cgrpc_channel_options *options);
/// The channel's connectivity state (grpc_connectivity_state), optionally trying to connect.
int cgrpc_channel_state(grpc_channel *channel, int try_to_connect);

typedef struct cgrpc_client_call cgrpc_client_call;

/// A client call's storage, owned by the caller until cgrpc_client_call_destroy.
cgrpc_client_call *cgrpc_client_call_create(void);
/// Starts a unary call: sends `message`, half-closes, and receives the reply and status. `tag` completes when
/// the status is in. The call must exist before it starts, since the tag may complete on another thread at once.
/// `metadata_key` (NULL for none) and `metadata_value` go out as one request metadata entry.
grpc_call_error cgrpc_client_call_start(cgrpc_client_call *call, grpc_channel *channel, grpc_completion_queue *cq,
                                        const char *method, int64_t timeout_ms, const uint8_t *message,
                                        size_t length, const char *metadata_key, const char *metadata_value,
                                        void *tag);
void cgrpc_client_call_destroy(cgrpc_client_call *call);
grpc_status_code cgrpc_client_call_status(const cgrpc_client_call *call);
cgrpc_bytes cgrpc_client_call_copy_status_details(const cgrpc_client_call *call);
int cgrpc_client_call_has_response(const cgrpc_client_call *call);
cgrpc_bytes cgrpc_client_call_copy_response(const cgrpc_client_call *call);
void cgrpc_client_call_cancel(cgrpc_client_call *call);

// ---- DnsPacket (protobuf-c) ----
/// Serialises DnsPacket{msg}. Returns the bytes (free with cgrpc_bytes_free).
cgrpc_bytes cgrpc_dns_packet_pack(const uint8_t *msg, size_t length);
/// Parses a DnsPacket; returns 0 and the msg field copied into *msg, or -1 when the bytes are not a DnsPacket.
int cgrpc_dns_packet_unpack(const uint8_t *data, size_t length, cgrpc_bytes *msg);

#endif
