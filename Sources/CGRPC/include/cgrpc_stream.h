#ifndef CGRPC_STREAM_H
#define CGRPC_STREAM_H
// Server calls of streaming methods. A unary call arrives with its request read; a streaming call arrives with
// none, and each message in or out, and the status, is one batch of one operation that Swift starts and whose tag
// completes on the call's completion queue. gRPC core allows one batch of each kind in flight per call; the Swift
// owner (GRPCServerStream) keeps to that, so each buffer below has one slot.

#include <stddef.h>
#include <stdint.h>
#include <grpc/grpc.h>


/// Registers a method whose messages the server reads itself, one at a time (GRPC_SRM_PAYLOAD_NONE).
void *cgrpc_server_register_streaming_method(grpc_server *server, const char *method);

typedef struct cgrpc_stream_call cgrpc_stream_call;

/// A streaming call's storage, owned by one Swift object until cgrpc_stream_call_destroy.
cgrpc_stream_call *cgrpc_stream_call_create(void);
void cgrpc_stream_call_destroy(cgrpc_stream_call *call);
/// Asks for the next call of a method registered with cgrpc_server_register_streaming_method.
grpc_call_error cgrpc_stream_call_request(cgrpc_stream_call *call, grpc_server *server, void *method,
                                          grpc_completion_queue *cq, void *tag);
/// Sends the (empty) initial metadata.
grpc_call_error cgrpc_stream_call_send_initial_metadata(cgrpc_stream_call *call, void *tag);
/// Reads the next message; when `tag` completes, cgrpc_stream_call_has_message says whether one came (0: the
/// client half-closed, or the call ended).
grpc_call_error cgrpc_stream_call_recv_message(cgrpc_stream_call *call, void *tag);
int cgrpc_stream_call_has_message(const cgrpc_stream_call *call);
/// The size of the message read, without copying it.
size_t cgrpc_stream_call_message_length(const cgrpc_stream_call *call);
/// Copies the message read into `out` (at most `capacity` bytes) and frees it; returns the bytes copied.
size_t cgrpc_stream_call_take_message(cgrpc_stream_call *call, uint8_t *out, size_t capacity);
/// Sends one message (copied: the caller's buffer may go at once).
grpc_call_error cgrpc_stream_call_send_message(cgrpc_stream_call *call, const uint8_t *message, size_t length,
                                               void *tag);
/// Sends the status, which ends the call.
grpc_call_error cgrpc_stream_call_send_status(cgrpc_stream_call *call, grpc_status_code status,
                                              const char *details, void *tag);
/// Waits for the call's end (see cgrpc_server_call_watch_close); then cgrpc_stream_call_was_cancelled.
grpc_call_error cgrpc_stream_call_watch_close(cgrpc_stream_call *call, void *tag);
int cgrpc_stream_call_was_cancelled(const cgrpc_stream_call *call);
/// Cancels the call, from any thread: the client sees it CANCELLED, batches in flight complete with failure and
/// the watch_close tag reports it cancelled.
void cgrpc_stream_call_cancel(cgrpc_stream_call *call);

#endif
