/// What a load-balancing policy reads from an upstream: its weight and its load right now.
protocol LoadBalanced: Sendable {
    /// Relative share for the weighted policy; 0 means failover only.
    var weight: Int { get }
    /// Queries being exchanged with it now (least_conn).
    var inFlight: Int { get }
}
