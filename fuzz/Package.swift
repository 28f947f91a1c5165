// swift-tools-version:6.1
import PackageDescription

// libFuzzer harness for DnsServiceBridge's FuzzTarget: built by `make fuzz` only, with
// -sanitize=fuzzer,address (libFuzzer supplies main), so it is a package of its own that plain builds never see.
let package = Package(
    name: "dnsgrpcd-fuzz",
    dependencies: [
        .package(name: "dnsgrpcd", path: ".."),
    ],
    targets: [
        .target(name: "FuzzDriver"),
        .executableTarget(
            name: "dnsgrpcd-fuzz",
            dependencies: ["FuzzDriver", .product(name: "DnsServiceBridge", package: "dnsgrpcd")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ]
)
