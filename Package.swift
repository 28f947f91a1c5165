// swift-tools-version:6.1
import PackageDescription

// gperftools' tcmalloc (Debian's libgoogle-perftools-dev) replaces glibc malloc in the executables: a packet's
// buffers, futures and gRPC core's per-call structures are many small short-lived blocks, where its per-thread
// caches are cheaper than glibc's arenas (bench/README.md: about 10% more queries on the same core).
let tcmalloc = LinkerSetting.linkedLibrary("tcmalloc_minimal")

let package = Package(
    name: "dnsgrpcd",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "DnsServiceBridge", targets: ["DnsServiceBridge"]),
        .executable(name: "dnsgrpcd", targets: ["dnsgrpcd"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        // The only C: gRPC core, protobuf-c and the generated DnsPacket code, behind a small shim.
        .target(
            name: "CGRPC",
            path: "Sources/CGRPC",
            cSettings: [.unsafeFlags(["-Wall"])]
        ),
        .target(
            name: "DnsServiceBridge",
            dependencies: [
                "CGRPC",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "dnsgrpcd",
            dependencies: [
                "DnsServiceBridge",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            linkerSettings: [tcmalloc]
        ),
        // The bare gRPC-core server that bench/ measures gRPC-in throughput against (no forwarding).
        .executableTarget(
            name: "grpc-ceiling",
            dependencies: ["DnsServiceBridge"],
            path: "bench/GRPCCeiling",
            // The same allocator as dnsgrpcd, so the ratio measures forwarding and not malloc.
            linkerSettings: [tcmalloc]
        ),
        .testTarget(
            name: "DnsServiceBridgeTests",
            dependencies: [
                "DnsServiceBridge",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
    ]
)
