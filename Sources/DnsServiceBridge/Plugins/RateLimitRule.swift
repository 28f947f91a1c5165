/// A rate and burst as the generic cell rate algorithm (GCRA, ATM's token bucket in one number) uses them: each
/// client has a due time, the moment its bucket would be full again; a query at `now` is let through when the due
/// time is at most `tolerance` ahead of `now`, and pushes it `interval` further. That is a bucket of `burst` tokens
/// refilled at `rate` a second, kept as one integer per client with no refill arithmetic per query.
struct RateLimitRule: Sendable, Hashable {
    /// Nanoseconds per query at the rate (at least 1).
    let interval: Int64
    /// How far ahead of now the due time may be: the burst beyond the first query, in nanoseconds.
    let tolerance: Int64

    /// `rate` queries a second, bursts of `burst`: clamped to what the parser allows (a rate from 0.001 to 1e6, a
    /// burst from 1 to 1e6), so that no due time can overflow (the tolerance is at most 1e18 ns).
    init(rate: Double, burst: Int) {
        let rate = rate.isFinite ? min(max(rate, 0.001), 1e9) : 0.001
        let interval = max(1, Int64((1e9 / rate).rounded()))
        self.interval = interval
        tolerance = interval * Int64(min(max(1, burst), 1_000_000) - 1)
    }

    /// The due time after a query at `now`, when it is let through; nil when it is over the rate. `due` is the
    /// client's due time so far (nil for a client not seen, whose bucket is full).
    func admit(due: Int64?, now: Int64) -> Int64? {
        let start = max(due ?? now, now)
        guard start - now <= tolerance else { return nil }
        return start + interval
    }
}
