// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "hera",
    products: [
        .executable(name: "hera", targets: ["hera"]),
    ],
    targets: [
        // C libraries from Debian packages (libpq-dev, libssl-dev).
        .systemLibrary(name: "CLibPQ", path: "Sources/CLibPQ"),
        .systemLibrary(name: "CCrypto", path: "Sources/CCrypto"),
        .systemLibrary(name: "CSSL", path: "Sources/CSSL"),
        // The single-threaded launcher that sets up namespaces and mounts.
        .target(name: "CLauncher", path: "Sources/CLauncher"),

        // Layers. HTTP knows nothing of PostgreSQL; the sandbox code nothing of HTTP.
        .target(name: "HeraSupport", dependencies: ["CCrypto"]),
        .target(name: "HeraHTTP"),
        .target(name: "HeraDB", dependencies: ["CLibPQ", "HeraSupport"]),
        .target(name: "HeraSandbox", dependencies: ["HeraSupport"]),
        .target(name: "HeraWebhook", dependencies: ["CSSL", "HeraSupport"]),
        .target(name: "HeraGateway", dependencies: ["HeraHTTP", "HeraDB", "HeraSupport", "HeraWebhook"]),
        .target(name: "HeraNode", dependencies: ["HeraDB", "HeraSandbox", "HeraSupport"]),
        .target(name: "HeraAdmin", dependencies: ["HeraHTTP", "HeraDB", "HeraSupport", "HeraSandbox", "HeraGateway", "HeraNode"]),
        .executableTarget(
            name: "hera",
            dependencies: ["CLauncher", "HeraAdmin"]),

        .testTarget(name: "HeraSupportTests", dependencies: ["HeraSupport"]),
        .testTarget(name: "HeraHTTPTests", dependencies: ["HeraHTTP"]),
        .testTarget(name: "HeraSandboxTests", dependencies: ["HeraSandbox"]),
        .testTarget(name: "HeraWebhookTests", dependencies: ["HeraWebhook", "HeraHTTP", "HeraSupport"]),
        .testTarget(name: "HeraGatewayTests", dependencies: ["HeraGateway", "HeraHTTP"]),
        .testTarget(
            name: "HeraIntegrationTests",
            dependencies: ["HeraGateway", "HeraNode", "HeraAdmin", "HeraDB", "HeraSupport", "HeraSandbox"]),
    ],
    swiftLanguageModes: [.v6]
)
