import NIOCore
import Testing
@testable import DnsServiceBridge

@Test func maxFailsFailedChecksMarkDown() {
    let health = UpstreamHealth(maxFails: 2, failTimeout: nil)
    #expect(!health.isDown)
    #expect(health.exchangeFailed(), "the first failure starts the health check loop")
    #expect(!health.exchangeFailed(), "a loop is already running")
    #expect(!health.isDown, "failed exchanges alone do not mark a forward upstream down")
    #expect(health.checked(healthy: false))
    #expect(!health.isDown, "one failed check of two")
    #expect(health.checked(healthy: false))
    #expect(health.isDown)
    #expect(health.checked(healthy: false), "checking goes on while it fails")
    #expect(health.isDown)
}

@Test func anyAnswerResetsHealth() {
    let health = UpstreamHealth(maxFails: 2, failTimeout: nil)
    _ = health.exchangeFailed()
    _ = health.checked(healthy: false)
    _ = health.checked(healthy: false)
    #expect(health.isDown)
    #expect(!health.checked(healthy: true), "a healthy check ends the loop")
    #expect(!health.isDown)
    #expect(health.failedChecks == 0)
    #expect(!health.isChecking)
    #expect(health.exchangeFailed(), "the next failure starts a new loop")
}

@Test func failuresMustBeConsecutive() {
    let health = UpstreamHealth(maxFails: 2, failTimeout: nil)
    _ = health.exchangeFailed()
    _ = health.checked(healthy: false)
    _ = health.checked(healthy: true)
    _ = health.exchangeFailed()
    _ = health.checked(healthy: false)
    #expect(!health.isDown, "a success in between starts the count again")
}

@Test func maxFailsZeroNeverDownNeverChecked() {
    let health = UpstreamHealth(maxFails: 0, failTimeout: nil)
    for _ in 0..<10 {
        #expect(!health.exchangeFailed(), "max_fails 0 never starts a health check")
        _ = health.checked(healthy: false)
    }
    #expect(!health.isDown)
}

@Test func failTimeoutCountsExchangesForThatLong() {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
    let health = UpstreamHealth(maxFails: 1, failTimeout: .seconds(2))
    _ = health.exchangeFailed(at: start)
    #expect(health.isDown(at: start + .milliseconds(1)))
    #expect(health.isDown(at: start + .milliseconds(1999)))
    #expect(!health.isDown(at: start + .seconds(2)), "the failure no longer counts after fail_timeout")
}

@Test func failTimeoutNeedsMaxFailsWithinTheWindow() {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
    let health = UpstreamHealth(maxFails: 2, failTimeout: .seconds(2))
    _ = health.exchangeFailed(at: start)
    #expect(!health.isDown(at: start + .seconds(1)))
    _ = health.exchangeFailed(at: start + .seconds(3))
    #expect(!health.isDown(at: start + .seconds(3)), "the first failure expired before the second")
    _ = health.exchangeFailed(at: start + .milliseconds(3500))
    #expect(health.isDown(at: start + .milliseconds(3600)))
    #expect(!health.isDown(at: start + .milliseconds(5100)))
}

@Test func failTimeoutFailuresClearedByAHealthyCheck() {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
    let health = UpstreamHealth(maxFails: 1, failTimeout: .seconds(2))
    _ = health.exchangeFailed(at: start)
    #expect(health.isDown(at: start))
    _ = health.checked(healthy: true)
    #expect(!health.isDown(at: start))
}
