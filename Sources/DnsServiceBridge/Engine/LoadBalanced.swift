/// What a load-balancing policy reads from an upstream: its weight and its load right now.
protocol LoadBalanced: Sendable {
    /// Relative share for the weighted policy; 0 means failover only.
    var weight: Int { get }
    /// Queries being exchanged with it now (least_conn).
    var inFlight: Int { get }
    /// A moving average of its response time in nanoseconds, 0 before it answered (least_outstanding).
    var latency: Int { get }
}
