#define _GNU_SOURCE  // SCHED_BATCH
#include "cgrpc.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <grpc/support/alloc.h>

void cgrpc_bytes_free(cgrpc_bytes bytes) { free(bytes.data); }

// Copies a slice into malloc'd memory; an empty slice still gets a (1-byte) allocation so data is never NULL.
static cgrpc_bytes copy_slice(grpc_slice slice) {
  cgrpc_bytes out;
  out.length = GRPC_SLICE_LENGTH(slice);
  out.data = malloc(out.length > 0 ? out.length : 1);
  if (out.data == NULL) {
    out.length = 0;
    return out;
  }
  if (out.length > 0) memcpy(out.data, GRPC_SLICE_START_PTR(slice), out.length);
  return out;
}

static cgrpc_bytes copy_byte_buffer(grpc_byte_buffer *buffer) {
  cgrpc_bytes out = {NULL, 0};
  if (buffer == NULL) return out;
  grpc_byte_buffer_reader reader;
  if (!grpc_byte_buffer_reader_init(&reader, buffer)) return out;
  grpc_slice all = grpc_byte_buffer_reader_readall(&reader);
  out = copy_slice(all);
  grpc_slice_unref(all);
  grpc_byte_buffer_reader_destroy(&reader);
  return out;
}

static grpc_byte_buffer *byte_buffer_from(const uint8_t *data, size_t length) {
  grpc_slice slice = length > 0 ? grpc_slice_from_copied_buffer((const char *)data, length) : grpc_empty_slice();
  grpc_byte_buffer *buffer = grpc_raw_byte_buffer_create(&slice, 1);
  grpc_slice_unref(slice);
  return buffer;
}

// ---- library ----
void cgrpc_init(void) { grpc_init(); }
void cgrpc_shutdown(void) { grpc_shutdown(); }
const char *cgrpc_version(void) { return grpc_version_string(); }

// ---- completion queue ----
grpc_completion_queue *cgrpc_completion_queue_create(void) {
  return grpc_completion_queue_create_for_next(NULL);
}

grpc_event cgrpc_completion_queue_next(grpc_completion_queue *cq) {
  return grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
}

grpc_event cgrpc_completion_queue_poll(grpc_completion_queue *cq) {
  return grpc_completion_queue_next(cq, gpr_inf_past(GPR_CLOCK_REALTIME), NULL);
}

grpc_event cgrpc_completion_queue_next_within(grpc_completion_queue *cq, int64_t timeout_us) {
  gpr_timespec deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_micros(timeout_us, GPR_TIMESPAN));
  return grpc_completion_queue_next(cq, deadline, NULL);
}

int cgrpc_thread_yield_on_wakeup(void) {
  struct sched_param param;
  memset(&param, 0, sizeof(param));
  return sched_setscheduler(0, SCHED_BATCH, &param);
}

// ---- credentials ----
grpc_server_credentials *cgrpc_server_credentials_create(const char *key_pem, const char *cert_pem,
                                                         const char *client_ca_pem) {
  if (key_pem == NULL || cert_pem == NULL) return grpc_insecure_server_credentials_create();
  grpc_ssl_pem_key_cert_pair pair = {key_pem, cert_pem};
  grpc_ssl_client_certificate_request_type request =
      client_ca_pem != NULL ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                            : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
  return grpc_ssl_server_credentials_create_ex(client_ca_pem, &pair, 1, request, NULL);
}

grpc_channel_credentials *cgrpc_channel_credentials_create(int insecure, const char *root_pem,
                                                           const char *key_pem, const char *cert_pem) {
  if (insecure) return grpc_insecure_credentials_create();
  if (key_pem != NULL && cert_pem != NULL) {
    grpc_ssl_pem_key_cert_pair pair = {key_pem, cert_pem};
    return grpc_ssl_credentials_create(root_pem, &pair, NULL, NULL);
  }
  return grpc_ssl_credentials_create(root_pem, NULL, NULL, NULL);
}

// ---- server ----
grpc_server *cgrpc_server_create(grpc_completion_queue *const *queues, int count, int max_receive_message_length) {
  grpc_arg args[3];
  args[0].type = GRPC_ARG_INTEGER;
  args[0].key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
  args[0].value.integer = max_receive_message_length;
  // A client that stalls in the TLS/HTTP2 handshake holds a connection for 120 s by default; DoT listeners
  // drop such clients after 10 s, and so does gRPC.
  args[1].type = GRPC_ARG_INTEGER;
  args[1].key = GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS;
  args[1].value.integer = 10000;
  // Upstreams' keepalive pings (ours with `keepalive`) are welcome every 5 s with no call open; gRPC core's
  // 5 minute default would end such a client's connection with GOAWAY too_many_pings.
  args[2].type = GRPC_ARG_INTEGER;
  args[2].key = GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS;
  args[2].value.integer = 5000;
  grpc_channel_args channel_args = {3, args};
  grpc_server *server = grpc_server_create(&channel_args, NULL);
  for (int i = 0; i < count; i++) grpc_server_register_completion_queue(server, queues[i], NULL);
  return server;
}

void *cgrpc_server_register_unary_method(grpc_server *server, const char *method) {
  return grpc_server_register_method(server, method, NULL, GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
}

struct cgrpc_server_call {
  grpc_call *call;
  gpr_timespec deadline;
  grpc_call_details details;  // only for unregistered calls
  grpc_metadata_array request_metadata;
  grpc_byte_buffer *request_payload;
  grpc_byte_buffer *response_payload;
  grpc_slice status_details;
  int has_status_details;
  int cancelled;
};

cgrpc_server_call *cgrpc_server_call_create(void) {
  cgrpc_server_call *call = calloc(1, sizeof(cgrpc_server_call));
  if (call == NULL) return NULL;
  grpc_call_details_init(&call->details);
  grpc_metadata_array_init(&call->request_metadata);
  return call;
}

void cgrpc_server_call_destroy(cgrpc_server_call *call) {
  if (call == NULL) return;
  if (call->call != NULL) grpc_call_unref(call->call);
  grpc_call_details_destroy(&call->details);
  grpc_metadata_array_destroy(&call->request_metadata);
  if (call->request_payload != NULL) grpc_byte_buffer_destroy(call->request_payload);
  if (call->response_payload != NULL) grpc_byte_buffer_destroy(call->response_payload);
  if (call->has_status_details) grpc_slice_unref(call->status_details);
  free(call);
}

grpc_call_error cgrpc_server_call_request_registered(cgrpc_server_call *call, grpc_server *server,
                                                     void *method, grpc_completion_queue *cq, void *tag) {
  return grpc_server_request_registered_call(server, method, &call->call, &call->deadline,
                                             &call->request_metadata, &call->request_payload, cq, cq, tag);
}

grpc_call_error cgrpc_server_call_request_unregistered(cgrpc_server_call *call, grpc_server *server,
                                                       grpc_completion_queue *cq, void *tag) {
  return grpc_server_request_call(server, &call->call, &call->details, &call->request_metadata, cq, cq, tag);
}

int cgrpc_server_call_has_payload(const cgrpc_server_call *call) { return call->request_payload != NULL; }

cgrpc_bytes cgrpc_server_call_copy_payload(const cgrpc_server_call *call) {
  return copy_byte_buffer(call->request_payload);
}

cgrpc_bytes cgrpc_server_call_copy_method(const cgrpc_server_call *call) {
  return copy_slice(call->details.method);
}

cgrpc_bytes cgrpc_server_call_copy_peer(const cgrpc_server_call *call) {
  cgrpc_bytes out = {NULL, 0};
  if (call->call == NULL) return out;
  char *peer = grpc_call_get_peer(call->call);
  if (peer == NULL) return out;
  size_t length = strlen(peer);
  out.data = malloc(length > 0 ? length : 1);
  if (out.data != NULL) {
    memcpy(out.data, peer, length);
    out.length = length;
  }
  gpr_free(peer);
  return out;
}

cgrpc_bytes cgrpc_server_call_copy_metadata(const cgrpc_server_call *call, const char *key) {
  cgrpc_bytes out = {NULL, 0};
  for (size_t i = 0; i < call->request_metadata.count; i++) {
    const grpc_metadata *entry = &call->request_metadata.metadata[i];
    if (grpc_slice_str_cmp(entry->key, key) == 0) return copy_slice(entry->value);
  }
  return out;
}

grpc_call_error cgrpc_server_call_notify(cgrpc_server_call *call, void *tag) {
  return grpc_call_start_batch(call->call, NULL, 0, tag, NULL);
}

grpc_call_error cgrpc_server_call_reply(cgrpc_server_call *call, int send_message, const uint8_t *message,
                                        size_t length, grpc_status_code status, const char *details, void *tag) {
  grpc_op ops[4];
  memset(ops, 0, sizeof(ops));
  size_t n = 0;
  ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
  ops[n].data.send_initial_metadata.count = 0;
  n++;
  if (send_message) {
    call->response_payload = byte_buffer_from(message, length);
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n].data.send_message.send_message = call->response_payload;
    n++;
  }
  if (call->has_status_details) grpc_slice_unref(call->status_details);
  call->status_details = grpc_slice_from_copied_string(details != NULL ? details : "");
  call->has_status_details = 1;
  ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
  ops[n].data.send_status_from_server.trailing_metadata_count = 0;
  ops[n].data.send_status_from_server.status = status;
  ops[n].data.send_status_from_server.status_details = details != NULL ? &call->status_details : NULL;
  n++;
  return grpc_call_start_batch(call->call, ops, n, tag, NULL);
}

grpc_call_error cgrpc_server_call_watch_close(cgrpc_server_call *call, void *tag) {
  grpc_op op;
  memset(&op, 0, sizeof(op));
  op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
  op.data.recv_close_on_server.cancelled = &call->cancelled;
  return grpc_call_start_batch(call->call, &op, 1, tag, NULL);
}

int cgrpc_server_call_was_cancelled(const cgrpc_server_call *call) { return call->cancelled; }

// ---- channel and client calls ----
static void add_integer(grpc_arg *args, size_t *n, const char *key, int value) {
  args[*n].type = GRPC_ARG_INTEGER;
  args[*n].key = (char *)key;
  args[*n].value.integer = value;
  (*n)++;
}

static void add_string(grpc_arg *args, size_t *n, const char *key, const char *value) {
  args[*n].type = GRPC_ARG_STRING;
  args[*n].key = (char *)key;
  args[*n].value.string = (char *)value;
  (*n)++;
}

grpc_channel *cgrpc_channel_create(const char *target, grpc_channel_credentials *credentials,
                                   const cgrpc_channel_options *options) {
  grpc_arg args[14];
  size_t n = 0;
  int backoff = options->max_reconnect_backoff_ms;
  add_integer(args, &n, GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, backoff);
  add_integer(args, &n, GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, backoff < 1000 ? backoff : 1000);
  add_integer(args, &n, GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, backoff < 100 ? backoff : 100);
  add_integer(args, &n, GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, options->max_receive_message_length);
  // A DNS exchange has its own failover; gRPC's transparent retries would only hide failures from it.
  add_integer(args, &n, GRPC_ARG_ENABLE_RETRIES, 0);
  // A named target is resolved again when a connection to one of its addresses fails; 30 s between resolutions
  // (gRPC's default) would leave a replaced pod's address unreached that long.
  add_integer(args, &n, GRPC_ARG_DNS_MIN_TIME_BETWEEN_RESOLUTIONS_MS, 1000);
  if (options->server_name_override != NULL)
    add_string(args, &n, GRPC_SSL_TARGET_NAME_OVERRIDE_ARG, options->server_name_override);
  if (options->lb_policy != NULL) add_string(args, &n, GRPC_ARG_LB_POLICY_NAME, options->lb_policy);
  if (options->keepalive_time_ms > 0) {
    add_integer(args, &n, GRPC_ARG_KEEPALIVE_TIME_MS, options->keepalive_time_ms);
    add_integer(args, &n, GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                options->keepalive_timeout_ms > 0 ? options->keepalive_timeout_ms : 20000);
    // An idle upstream connection is kept alive too, and pings are not held back for lack of data.
    add_integer(args, &n, GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    add_integer(args, &n, GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  }
  if (options->own_connections) add_integer(args, &n, GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  grpc_channel_args channel_args = {n, args};
  return grpc_channel_create(target, credentials, &channel_args);
}

int cgrpc_channel_state(grpc_channel *channel, int try_to_connect) {
  return (int)grpc_channel_check_connectivity_state(channel, try_to_connect);
}

struct cgrpc_client_call {
  grpc_call *call;
  grpc_byte_buffer *request_payload;
  grpc_byte_buffer *response_payload;
  grpc_metadata_array initial_metadata;
  grpc_metadata_array trailing_metadata;
  grpc_status_code status;
  grpc_slice status_details;
};

cgrpc_client_call *cgrpc_client_call_create(void) {
  cgrpc_client_call *call = calloc(1, sizeof(cgrpc_client_call));
  if (call == NULL) return NULL;
  grpc_metadata_array_init(&call->initial_metadata);
  grpc_metadata_array_init(&call->trailing_metadata);
  call->status_details = grpc_empty_slice();
  return call;
}

grpc_call_error cgrpc_client_call_start(cgrpc_client_call *call, grpc_channel *channel, grpc_completion_queue *cq,
                                        const char *method, int64_t timeout_ms, const uint8_t *message,
                                        size_t length, const char *metadata_key, const char *metadata_value,
                                        void *tag) {
  gpr_timespec deadline =
      gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
  // create_call takes its own reference to the method, so a copy we release right after is enough.
  grpc_slice method_slice = grpc_slice_from_copied_string(method);
  call->call = grpc_channel_create_call(channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq, method_slice, NULL,
                                        deadline, NULL);
  grpc_slice_unref(method_slice);
  if (call->call == NULL) return GRPC_CALL_ERROR;
  call->request_payload = byte_buffer_from(message, length);

  grpc_op ops[6];
  memset(ops, 0, sizeof(ops));
  // The entry's slices are copied into the call when the batch starts, so they are released right after.
  grpc_metadata entry;
  memset(&entry, 0, sizeof(entry));
  ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
  ops[0].data.send_initial_metadata.count = 0;
  if (metadata_key != NULL && metadata_value != NULL) {
    entry.key = grpc_slice_from_copied_string(metadata_key);
    entry.value = grpc_slice_from_copied_string(metadata_value);
    ops[0].data.send_initial_metadata.count = 1;
    ops[0].data.send_initial_metadata.metadata = &entry;
  }
  ops[1].op = GRPC_OP_SEND_MESSAGE;
  ops[1].data.send_message.send_message = call->request_payload;
  ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
  ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
  ops[3].data.recv_initial_metadata.recv_initial_metadata = &call->initial_metadata;
  ops[4].op = GRPC_OP_RECV_MESSAGE;
  ops[4].data.recv_message.recv_message = &call->response_payload;
  ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
  ops[5].data.recv_status_on_client.trailing_metadata = &call->trailing_metadata;
  ops[5].data.recv_status_on_client.status = &call->status;
  ops[5].data.recv_status_on_client.status_details = &call->status_details;
  grpc_call_error error = grpc_call_start_batch(call->call, ops, 6, tag, NULL);
  if (ops[0].data.send_initial_metadata.count == 1) {
    grpc_slice_unref(entry.key);
    grpc_slice_unref(entry.value);
  }
  return error;
}

void cgrpc_client_call_destroy(cgrpc_client_call *call) {
  if (call == NULL) return;
  if (call->call != NULL) grpc_call_unref(call->call);
  if (call->request_payload != NULL) grpc_byte_buffer_destroy(call->request_payload);
  if (call->response_payload != NULL) grpc_byte_buffer_destroy(call->response_payload);
  grpc_metadata_array_destroy(&call->initial_metadata);
  grpc_metadata_array_destroy(&call->trailing_metadata);
  grpc_slice_unref(call->status_details);
  free(call);
}

grpc_status_code cgrpc_client_call_status(const cgrpc_client_call *call) { return call->status; }

cgrpc_bytes cgrpc_client_call_copy_status_details(const cgrpc_client_call *call) {
  return copy_slice(call->status_details);
}

int cgrpc_client_call_has_response(const cgrpc_client_call *call) { return call->response_payload != NULL; }

cgrpc_bytes cgrpc_client_call_copy_response(const cgrpc_client_call *call) {
  return copy_byte_buffer(call->response_payload);
}

void cgrpc_client_call_cancel(cgrpc_client_call *call) { grpc_call_cancel(call->call, NULL); }

// ---- DnsPacket ----
cgrpc_bytes cgrpc_dns_packet_pack(const uint8_t *msg, size_t length) {
  Coredns__Dns__DnsPacket packet = COREDNS__DNS__DNS_PACKET__INIT;
  packet.msg.data = (uint8_t *)msg;
  packet.msg.len = length;
  cgrpc_bytes out;
  out.length = coredns__dns__dns_packet__get_packed_size(&packet);
  out.data = malloc(out.length > 0 ? out.length : 1);
  if (out.data == NULL) {
    out.length = 0;
    return out;
  }
  coredns__dns__dns_packet__pack(&packet, out.data);
  return out;
}

int cgrpc_dns_packet_unpack(const uint8_t *data, size_t length, cgrpc_bytes *msg) {
  Coredns__Dns__DnsPacket *packet = coredns__dns__dns_packet__unpack(NULL, length, data);
  if (packet == NULL) return -1;
  msg->length = packet->msg.len;
  msg->data = malloc(msg->length > 0 ? msg->length : 1);
  if (msg->data == NULL) {
    coredns__dns__dns_packet__free_unpacked(packet, NULL);
    msg->length = 0;
    return -1;
  }
  if (msg->length > 0) memcpy(msg->data, packet->msg.data, msg->length);
  coredns__dns__dns_packet__free_unpacked(packet, NULL);
  return 0;
}
