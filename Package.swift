// swift-tools-version:6.0
import PackageDescription

/// Settings every Swift target shares: Swift 6 language mode with its strict concurrency checking.
let strictSwift: [SwiftSetting] = [
    .swiftLanguageMode(.v6)
]

let package = Package(
    name: "Chorus",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "chorus", targets: ["chorus"]),
        .library(name: "ChorusClient", targets: ["ChorusClient"]),
        .library(name: "ChorusCore", targets: ["ChorusCore"]),
    ],
    targets: [
        // libzmq, from Debian's libzmq3-dev. Only ChorusZMQ imports it.
        .systemLibrary(
            name: "CZeroMQ",
            pkgConfig: "libzmq",
            providers: [.apt(["libzmq3-dev"]), .brew(["zeromq"])]
        ),
        // SQLite, from Debian's libsqlite3-dev. Only ChorusStore imports it.
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"]), .brew(["sqlite"])]
        ),
        // libmicrohttpd, from Debian's libmicrohttpd-dev. Only ChorusHTTP imports it.
        .systemLibrary(
            name: "CMicroHTTPD",
            pkgConfig: "libmicrohttpd",
            providers: [.apt(["libmicrohttpd-dev"]), .brew(["libmicrohttpd"])]
        ),
        // The rules of Chorus with no I/O: wire encoding, merging, reductions, summaries.
        .target(
            name: "ChorusCore",
            swiftSettings: strictSwift
        ),
        // The Swift face of libzmq: contexts, sockets, messages, polling, errors.
        .target(
            name: "ChorusZMQ",
            dependencies: ["CZeroMQ"],
            swiftSettings: strictSwift
        ),
        // The Swift face of libmicrohttpd: a small HTTP server on its own thread.
        .target(
            name: "ChorusHTTP",
            dependencies: ["CMicroHTTPD"],
            swiftSettings: strictSwift
        ),
        // The SQLite store: a thin connection wrapper and Chorus's schema on top of it.
        .target(
            name: "ChorusStore",
            dependencies: ["CSQLite", "ChorusCore"],
            swiftSettings: strictSwift
        ),
        // The library a training process links to log its steps.
        .target(
            name: "ChorusClient",
            dependencies: ["ChorusCore", "ChorusZMQ"],
            swiftSettings: strictSwift
        ),
        // The collector: receives, merges, reduces and stores; exports what it stored.
        .target(
            name: "ChorusCollector",
            dependencies: ["ChorusCore", "ChorusZMQ", "ChorusStore", "ChorusHTTP"],
            swiftSettings: strictSwift
        ),
        // The `chorus` command.
        .executableTarget(
            name: "chorus",
            dependencies: [
                "ChorusCore", "ChorusZMQ", "ChorusStore", "ChorusClient", "ChorusCollector", "ChorusHTTP",
            ],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "ChorusCoreTests",
            dependencies: ["ChorusCore"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "ChorusZMQTests",
            dependencies: ["ChorusZMQ"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "ChorusHTTPTests",
            dependencies: ["ChorusHTTP"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "ChorusClientTests",
            dependencies: ["ChorusClient", "ChorusCore", "ChorusZMQ"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "ChorusStoreTests",
            dependencies: ["ChorusStore", "ChorusCore"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "ChorusCollectorTests",
            dependencies: ["ChorusCollector", "ChorusClient", "ChorusCore", "ChorusHTTP", "ChorusStore", "ChorusZMQ"],
            resources: [.copy("Cases")],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "ChorusEndToEndTests",
            dependencies: ["ChorusCore"],
            // Run by the fault tests with python3, not built.
            exclude: ["tcp_proxy.py"],
            swiftSettings: strictSwift
        ),
    ]
)
