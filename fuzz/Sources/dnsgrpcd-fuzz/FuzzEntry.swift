import Foundation
import FuzzDriver  // the process's main: libFuzzer's driver
@_spi(Fuzzing) import DnsServiceBridge

/// The target this process fuzzes: FUZZ_TARGET names it (`make fuzz` sets it for each).
private let target: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        fatalError("FUZZ_TARGET='\(name)' is not a target; expected one of \(names)")
    }
    return target
}()

/// libFuzzer's entry point: one input, as bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    target.run(input)
    return 0
}
