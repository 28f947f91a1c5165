/// How queries reach an upstream: the same schemes, with the same default ports, as listeners.
public typealias UpstreamTransport = ListenScheme
