import ChorusZMQ
import Foundation
import Testing

@Suite struct ZMQContextTests {
    @Test func theLibraryVersionIsFourPointSomething() {
        let version = ZMQContext.version
        #expect(version.major == 4)
        #expect(ZMQContext.versionString == "\(version.major).\(version.minor).\(version.patch)")
    }

    @Test func droppingManySocketsAndThenTheirContextDoesNotHang() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }

        let failure = Shared<String?>(nil)
        let thread = TestThread {
            do {
                try Self.openAndDropSockets(count: 200, directory: directory.path)
            } catch {
                failure.set("\(error)")
            }
        }

        #expect(thread.join(within: 30), "terminating the context hung")
        #expect(failure.current == nil)
    }

    /// Creates a context whose last use comes early, then many sockets; returns with every
    /// socket and the context dropped, in whatever order the optimizer picks.
    private static func openAndDropSockets(count: Int, directory: String) throws {
        let context = try ZMQContext()
        let pull = try ZMQSocket(context, type: .pull)
        try pull.bind("ipc://\(directory)/many.sock")
        let endpoint = try pull.lastEndpoint
        for index in 0..<count {
            let push = try ZMQSocket(context, type: .push)
            try push.setLinger(milliseconds: 0)
            try push.connect(endpoint)
            _ = try push.send("message \(index)", wait: false)
        }
        // A socket outliving every other use of the context: the socket's reference must
        // keep the context from being terminated first.
        let last = try ZMQSocket(context, type: .pair)
        try last.setLinger(milliseconds: 0)
        try last.bind("tcp://127.0.0.1:*")
        _ = try last.lastEndpoint
    }

    @Test func aSocketKeepsItsContextAlive() throws {
        let endpoint = Shared("")
        let thread = TestThread {
            do {
                // The context's only reference is the socket's.
                let socket = try ZMQSocket(ZMQContext(), type: .pull)
                try socket.bind("tcp://127.0.0.1:*")
                endpoint.set(try socket.lastEndpoint)
                socket.close()
            } catch {
                endpoint.set("\(error)")
            }
        }

        #expect(thread.join(within: 30), "closing the socket or terminating the context hung")
        #expect(endpoint.current.hasPrefix("tcp://127.0.0.1:"))
    }

    @Test func shutdownWakesABlockedReceiveWithContextTerminated() throws {
        let context = try ZMQContext()
        let state = Shared("")

        let thread = TestThread {
            do {
                let pull = try ZMQSocket(context, type: .pull)
                try pull.bind("tcp://127.0.0.1:*")
                state.set("bound")
                _ = try pull.receiveBytes()
                state.set("received")
            } catch let error as ZMQError {
                state.set(error.isContextTerminated ? "terminated" : "\(error)")
            } catch {
                state.set("\(error)")
            }
        }
        #expect(state.wait(within: 10) { $0 == "bound" })
        usleep(50_000)
        context.shutdown()

        #expect(thread.join(within: 10))
        #expect(state.current == "terminated")
    }
}
