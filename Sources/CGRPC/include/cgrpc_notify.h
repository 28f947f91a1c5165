#ifndef CGRPC_NOTIFY_H
#define CGRPC_NOTIFY_H
// systemd's readiness protocol (sd_notify(3)) without libsystemd: one datagram to $NOTIFY_SOCKET.

/// Sends `message` ("READY=1", "RELOADING=1\nMONOTONIC_USEC=...", "STOPPING=1") as one datagram to the unix socket
/// `socket_path`; a path starting with '@' names an abstract socket, as systemd writes it. Returns 0 or -errno.
int cgrpc_sd_notify(const char *socket_path, const char *message);

/// CLOCK_MONOTONIC in microseconds, the clock of the MONOTONIC_USEC field that must come with RELOADING=1.
unsigned long long cgrpc_monotonic_usec(void);

#endif
