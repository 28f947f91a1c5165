#include "cgrpc.h"

#include <stdlib.h>
#include <string.h>
#include <grpc/byte_buffer_reader.h>

void *cgrpc_server_register_streaming_method(grpc_server *server, const char *method) {
  return grpc_server_register_method(server, method, NULL, GRPC_SRM_PAYLOAD_NONE, 0);
}

struct cgrpc_stream_call {
  grpc_call *call;
  gpr_timespec deadline;
  grpc_metadata_array request_metadata;
  grpc_byte_buffer *received;  // the message of the last recv, until taken
  grpc_byte_buffer *sending;   // the message of the send in flight, kept until the next send or destroy
  grpc_slice status_details;
  int has_status_details;
  int cancelled;
};

cgrpc_stream_call *cgrpc_stream_call_create(void) {
  cgrpc_stream_call *call = calloc(1, sizeof(cgrpc_stream_call));
  if (call == NULL) return NULL;
  grpc_metadata_array_init(&call->request_metadata);
  return call;
}

void cgrpc_stream_call_destroy(cgrpc_stream_call *call) {
  if (call == NULL) return;
  if (call->call != NULL) grpc_call_unref(call->call);
  grpc_metadata_array_destroy(&call->request_metadata);
  if (call->received != NULL) grpc_byte_buffer_destroy(call->received);
  if (call->sending != NULL) grpc_byte_buffer_destroy(call->sending);
  if (call->has_status_details) grpc_slice_unref(call->status_details);
  free(call);
}

grpc_call_error cgrpc_stream_call_request(cgrpc_stream_call *call, grpc_server *server, void *method,
                                          grpc_completion_queue *cq, void *tag) {
  return grpc_server_request_registered_call(server, method, &call->call, &call->deadline,
                                             &call->request_metadata, NULL, cq, cq, tag);
}

static grpc_call_error start_one(cgrpc_stream_call *call, grpc_op *op, void *tag) {
  return grpc_call_start_batch(call->call, op, 1, tag, NULL);
}

grpc_call_error cgrpc_stream_call_send_initial_metadata(cgrpc_stream_call *call, void *tag) {
  grpc_op op;
  memset(&op, 0, sizeof(op));
  op.op = GRPC_OP_SEND_INITIAL_METADATA;
  return start_one(call, &op, tag);
}

grpc_call_error cgrpc_stream_call_recv_message(cgrpc_stream_call *call, void *tag) {
  if (call->received != NULL) {
    grpc_byte_buffer_destroy(call->received);
    call->received = NULL;
  }
  grpc_op op;
  memset(&op, 0, sizeof(op));
  op.op = GRPC_OP_RECV_MESSAGE;
  op.data.recv_message.recv_message = &call->received;
  return start_one(call, &op, tag);
}

int cgrpc_stream_call_has_message(const cgrpc_stream_call *call) { return call->received != NULL; }

size_t cgrpc_stream_call_message_length(const cgrpc_stream_call *call) {
  return call->received != NULL ? grpc_byte_buffer_length(call->received) : 0;
}

size_t cgrpc_stream_call_take_message(cgrpc_stream_call *call, uint8_t *out, size_t capacity) {
  if (call->received == NULL) return 0;
  size_t copied = 0;
  grpc_byte_buffer_reader reader;
  if (grpc_byte_buffer_reader_init(&reader, call->received)) {
    grpc_slice slice;
    while (grpc_byte_buffer_reader_next(&reader, &slice)) {
      size_t length = GRPC_SLICE_LENGTH(slice);
      if (length > capacity - copied) length = capacity - copied;
      if (length > 0) memcpy(out + copied, GRPC_SLICE_START_PTR(slice), length);
      copied += length;
      grpc_slice_unref(slice);
    }
    grpc_byte_buffer_reader_destroy(&reader);
  }
  grpc_byte_buffer_destroy(call->received);
  call->received = NULL;
  return copied;
}

grpc_call_error cgrpc_stream_call_send_message(cgrpc_stream_call *call, const uint8_t *message, size_t length,
                                               void *tag) {
  if (call->sending != NULL) grpc_byte_buffer_destroy(call->sending);
  grpc_slice slice = length > 0 ? grpc_slice_from_copied_buffer((const char *)message, length) : grpc_empty_slice();
  call->sending = grpc_raw_byte_buffer_create(&slice, 1);
  grpc_slice_unref(slice);
  grpc_op op;
  memset(&op, 0, sizeof(op));
  op.op = GRPC_OP_SEND_MESSAGE;
  op.data.send_message.send_message = call->sending;
  return start_one(call, &op, tag);
}

grpc_call_error cgrpc_stream_call_send_status(cgrpc_stream_call *call, grpc_status_code status,
                                              const char *details, void *tag) {
  if (call->has_status_details) grpc_slice_unref(call->status_details);
  call->status_details = grpc_slice_from_copied_string(details != NULL ? details : "");
  call->has_status_details = 1;
  grpc_op op;
  memset(&op, 0, sizeof(op));
  op.op = GRPC_OP_SEND_STATUS_FROM_SERVER;
  op.data.send_status_from_server.status = status;
  op.data.send_status_from_server.status_details = details != NULL ? &call->status_details : NULL;
  return start_one(call, &op, tag);
}

grpc_call_error cgrpc_stream_call_watch_close(cgrpc_stream_call *call, void *tag) {
  grpc_op op;
  memset(&op, 0, sizeof(op));
  op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
  op.data.recv_close_on_server.cancelled = &call->cancelled;
  return start_one(call, &op, tag);
}

int cgrpc_stream_call_was_cancelled(const cgrpc_stream_call *call) { return call->cancelled; }

void cgrpc_stream_call_cancel(cgrpc_stream_call *call) {
  if (call->call != NULL) grpc_call_cancel(call->call, NULL);
}
