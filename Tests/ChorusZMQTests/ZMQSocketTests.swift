import ChorusZMQ
import Foundation
import Testing

@Suite struct ZMQSocketTests {
    @Test func aPushSocketDeliversToAPullSocketOverLoopbackTCP() throws {
        let pair = try PushPullPair()
        #expect(pair.endpoint.hasPrefix("tcp://127.0.0.1:"))
        #expect(!pair.endpoint.hasSuffix(":*"))

        #expect(try pair.push.send("hello"))
        #expect(try pair.pull.receiveBytes() == Array("hello".utf8))
    }

    @Test func aPushSocketDeliversToAPullSocketOverIPC() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let endpoint = "ipc://\(directory.path)/collector.sock"

        do {
            let pair = try PushPullPair(bindingTo: endpoint)
            #expect(pair.endpoint == endpoint)
            #expect(try pair.push.send("over ipc"))
            #expect(try pair.pull.receiveBytes() == Array("over ipc".utf8))
        }
    }

    static let payloads: [[UInt8]] = [
        [],
        [0],
        [0, 1, 0, 255, 0],
        Array("{\"loss\": 0.31, \"name\": \"caf\u{E9} \u{2713} \u{65E5}\u{672C} \u{1F680}\"}".utf8),
        Array("nul\u{0}inside".utf8),
        (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 31) },
    ]

    @Test(arguments: payloads)
    func bytesArriveExactlyAsSent(payload: [UInt8]) throws {
        let pair = try PushPullPair()

        #expect(try pair.push.send(payload))
        let received = try pair.pull.receive { bytes, more in
            #expect(!more)
            return Array(bytes)
        }
        #expect(received == payload)
    }

    @Test func aStringIsSentAsItsUTF8BytesWithoutATerminatingNul() throws {
        let pair = try PushPullPair()

        #expect(try pair.push.send("gr\u{FC}\u{DF}e"))
        #expect(try pair.pull.receiveBytes() == [0x67, 0x72, 0xC3, 0xBC, 0xC3, 0x9F, 0x65])
    }

    @Test func aReceiveThatTimesOutReturnsNil() throws {
        let pair = try PushPullPair(receiveTimeoutMilliseconds: 50)

        let start = ContinuousClock.now
        #expect(try pair.pull.receiveBytes() == nil)
        #expect(ContinuousClock.now - start >= .milliseconds(40))
        #expect(try pair.pull.receive { _, _ in Issue.record("nothing was sent") } == nil)
    }

    @Test func aNonBlockingReceiveWithNothingQueuedReturnsNil() throws {
        let pair = try PushPullPair()

        #expect(try pair.pull.receiveBytes(wait: false) == nil)
        #expect(try pair.pull.receiveParts(wait: false) == nil)
    }

    @Test func aNonBlockingSendWithNoPeerReturnsFalse() throws {
        let context = try ZMQContext()
        let push = try ZMQSocket(context, type: .push)
        try push.setLinger(milliseconds: 0)

        #expect(try push.send("nobody listens", wait: false) == false)
    }

    @Test func aSendThatTimesOutReturnsFalse() throws {
        let context = try ZMQContext()
        let push = try ZMQSocket(context, type: .push)
        try push.setLinger(milliseconds: 0)
        try push.setSendTimeout(milliseconds: 30)

        #expect(try push.send([1, 2, 3]) == false)
    }

    @Test func theMoreFlagMarksEveryPartButTheLast() throws {
        let pair = try PushPullPair()
        #expect(try pair.push.send("a", more: true))
        #expect(try pair.push.send("b", more: true))
        #expect(try pair.push.send("c"))

        var parts: [(String, Bool)] = []
        for _ in 0..<3 {
            let part = try pair.pull.receive { bytes, more in (String(decoding: bytes, as: UTF8.self), more) }
            try parts.append(#require(part))
        }
        #expect(parts.map(\.0) == ["a", "b", "c"])
        #expect(parts.map(\.1) == [true, true, false])
        #expect(try pair.pull.hasMoreParts == false)
    }

    @Test func receivePartsReturnsEveryPartOfOneMessage() throws {
        let pair = try PushPullPair()
        #expect(try pair.push.send("head", more: true))
        #expect(try pair.push.send("tail"))
        #expect(try pair.push.send("next"))

        #expect(try pair.pull.receiveParts() == [Array("head".utf8), Array("tail".utf8)])
        #expect(try pair.pull.receiveParts() == [Array("next".utf8)])
    }

    @Test func receiveBytesDropsTheFurtherPartsOfAMultiPartMessage() throws {
        let pair = try PushPullPair()
        #expect(try pair.push.send("first", more: true))
        #expect(try pair.push.send("dropped", more: true))
        #expect(try pair.push.send("dropped too"))
        #expect(try pair.push.send("single"))

        #expect(try pair.pull.receiveBytes() == Array("first".utf8))
        #expect(try pair.pull.receiveBytes() == Array("single".utf8))
    }

    @Test func discardRemainingPartsCanBeCalledFromAReceiveBody() throws {
        let pair = try PushPullPair()
        #expect(try pair.push.send("1", more: true))
        #expect(try pair.push.send("2", more: true))
        #expect(try pair.push.send("3"))
        #expect(try pair.push.send("after"))

        let dropped = try pair.pull.receive { _, more in
            #expect(more)
            return try pair.pull.discardRemainingParts()
        }
        #expect(dropped == 2)
        #expect(try pair.pull.discardRemainingParts() == 0)
        #expect(try pair.pull.receiveBytes() == Array("after".utf8))
    }

    @Test func anErrorThrownByTheReceiveBodyPropagates() throws {
        struct BodyError: Error {}
        let pair = try PushPullPair()
        #expect(try pair.push.send("x"))

        #expect(throws: BodyError.self) {
            try pair.pull.receive { _, _ in throw BodyError() }
        }
    }

    @Test func pollReportsAWaitingMessageAndTimesOutWithoutOne() throws {
        let pair = try PushPullPair()

        #expect(try pair.pull.poll(timeoutMilliseconds: 0) == false)
        let start = ContinuousClock.now
        #expect(try pair.pull.poll(timeoutMilliseconds: 50) == false)
        #expect(ContinuousClock.now - start >= .milliseconds(40))

        #expect(try pair.push.send("ready"))
        #expect(try pair.pull.poll(timeoutMilliseconds: 5000))
        #expect(try pair.pull.receiveBytes(wait: false) == Array("ready".utf8))
    }

    @Test func bindingAnEndpointInUseThrowsAnErrorNamingTheCallAndTheEndpoint() throws {
        let context = try ZMQContext()
        let first = try ZMQSocket(context, type: .pull)
        try first.bind("tcp://127.0.0.1:*")
        let endpoint = try first.lastEndpoint
        let second = try ZMQSocket(context, type: .pull)

        let error = try #require(throws: ZMQError.self) { try second.bind(endpoint) }
        #expect(error.call == "zmq_bind")
        #expect(error.errno == EADDRINUSE)
        #expect(error.context == endpoint)
        #expect(error.description == "zmq_bind(\"\(endpoint)\") failed: Address already in use (errno \(EADDRINUSE))")
    }

    @Test(arguments: ["tcp://127.0.0.1", "nope://127.0.0.1:1", "tcp://127.0.0.1:notaport"])
    func connectingToAMalformedEndpointThrows(endpoint: String) throws {
        let context = try ZMQContext()
        let push = try ZMQSocket(context, type: .push)

        let error = try #require(throws: ZMQError.self) { try push.connect(endpoint) }
        #expect(error.call == "zmq_connect")
        #expect(error.description.contains(endpoint))
    }

    @Test func unbindAndDisconnectUndoBindAndConnect() throws {
        let pair = try PushPullPair()

        try pair.push.disconnect(pair.endpoint)
        try pair.pull.unbind(pair.endpoint)
        #expect(throws: ZMQError.self) { try pair.pull.unbind(pair.endpoint) }
    }

    @Test func aMessageOverTheMaximumSizeIsNotDelivered() throws {
        let context = try ZMQContext()
        let pull = try ZMQSocket(context, type: .pull)
        try pull.setMaxMessageSize(16)
        try pull.setReceiveTimeout(milliseconds: 200)
        try pull.bind("tcp://127.0.0.1:*")
        let push = try ZMQSocket(context, type: .push)
        try push.setLinger(milliseconds: 0)
        try push.connect(pull.lastEndpoint)

        #expect(try push.send([UInt8](repeating: 7, count: 17)))
        #expect(try pull.receiveBytes() == nil)
    }

    @Test func aSubscriberReceivesOnlyWhatMatchesItsPrefix() throws {
        let context = try ZMQContext()
        let publisher = try ZMQSocket(context, type: .pub)
        try publisher.setLinger(milliseconds: 0)
        try publisher.bind("tcp://127.0.0.1:*")
        let subscriber = try ZMQSocket(context, type: .sub)
        try subscriber.subscribe("run/")
        try subscriber.connect(publisher.lastEndpoint)

        // A subscription reaches the publisher some time after connecting: publish until
        // something arrives (the "slow joiner").
        var received: [UInt8]?
        for _ in 0..<200 where received == nil {
            #expect(try publisher.send("other/1"))
            #expect(try publisher.send("run/1"))
            if try subscriber.poll(timeoutMilliseconds: 20) {
                received = try subscriber.receiveBytes()
            }
        }
        #expect(received == Array("run/1".utf8))
    }

    @Test func subscribingOnASocketThatIsNotASubscriberThrows() throws {
        let context = try ZMQContext()
        let push = try ZMQSocket(context, type: .push)

        let error = try #require(throws: ZMQError.self) { try push.subscribe("x") }
        #expect(error.errno == EINVAL)
        #expect(error.description.hasPrefix("zmq_setsockopt(\"ZMQ_SUBSCRIBE\") failed"))
    }

    @Test func everyOptionSetterAcceptsATypicalValue() throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context, type: .sub)

        try socket.setLinger(milliseconds: 10_000)
        try socket.setSendHighWaterMark(100_000)
        try socket.setReceiveHighWaterMark(100_000)
        try socket.setMaxMessageSize(1 << 20)
        try socket.setReceiveTimeout(milliseconds: 100)
        try socket.setSendTimeout(milliseconds: 100)
        try socket.setImmediate(true)
        try socket.setIPv6(true)
        try socket.setReconnectInterval(milliseconds: 100)
        try socket.setMaxReconnectInterval(milliseconds: 5000)
        try socket.setHeartbeat(intervalMilliseconds: 2000, timeoutMilliseconds: 6000)
        try socket.setZapDomain("chorus")
        try socket.subscribe([])
        try socket.unsubscribe([])
        #expect(socket.type == .sub)
    }

    #if canImport(Glibc)
        @Test func aBlockingReceiveSurvivesSignals() throws {
            // SIGUSR2 with a handler that does nothing and without SA_RESTART, so each signal
            // interrupts the blocking receive with EINTR, which the socket must retry.
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { _ in }
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0
            #expect(sigaction(SIGUSR2, &action, nil) == 0)

            let context = try ZMQContext()
            let receiverThread = Shared<pthread_t?>(nil)
            let received = Shared<String?>(nil)
            let receiver = TestThread {
                // Threads inherit the signal mask of their creator, and the concurrency pool's
                // threads block signals.
                var signals = sigset_t()
                sigemptyset(&signals)
                sigaddset(&signals, SIGUSR2)
                pthread_sigmask(SIG_UNBLOCK, &signals, nil)
                do {
                    let pull = try ZMQSocket(context, type: .pull)
                    try pull.setReceiveTimeout(milliseconds: 10_000)
                    try pull.bind("ipc://@chorus-zmq-signals-\(getpid())")
                    receiverThread.set(pthread_self())
                    let bytes = try pull.receiveBytes()
                    received.set(bytes.map { String(decoding: $0, as: UTF8.self) } ?? "timed out")
                } catch {
                    received.set("\(error)")
                }
            }
            #expect(receiverThread.wait(within: 10) { $0 != nil })
            let target = try #require(receiverThread.current)
            usleep(50_000)
            for _ in 0..<10 {
                pthread_kill(target, SIGUSR2)
                usleep(10_000)
            }
            let push = try ZMQSocket(context, type: .push)
            try push.setLinger(milliseconds: 5000)
            try push.connect("ipc://@chorus-zmq-signals-\(getpid())")
            #expect(try push.send("after signals"))

            #expect(receiver.join(within: 20))
            #expect(received.current == "after signals")
        }
    #endif
}
