import NIOCore

/// Closes a TCP/DoT connection whose DNS message (2-byte length, then the message) does not arrive whole within
/// `timeout` of its first byte (RFC 7766 6.2.3's read timeout), whatever trickles in meanwhile: a client writing one
/// byte a second (slowloris) would otherwise hold its connection, and its place under the connection cap, for ever,
/// since every byte counts as activity for the idle timer. Sits after TLS, before the frame decoder; passes every
/// byte on unchanged. The clock stops while the connection's own handler holds reading back (its queries in flight,
/// or its replies unread): a message we do not read is not the client's delay.
final class FrameDeadlineHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let timeout: TimeAmount
    private let counters: ListenerCounters
    /// Bytes of the current frame's 2-byte length seen so far, and the length once both are.
    private var header: [UInt8] = []
    /// Bytes of the current frame's message still to come, once its length is known.
    private var remaining = 0
    /// Armed while a frame is incomplete and reading is not paused.
    private var deadline: Scheduled<Void>?
    private var paused = false
    private var context: ChannelHandlerContext?

    init(timeout: TimeAmount, counters: ListenerCounters) {
        self.timeout = timeout
        self.counters = counters
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        disarm()
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let chunk = unwrapInboundIn(data)
        track(chunk.readableBytesView)
        armIfInsideFrame()
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    /// Reading is held back by us: the clock stops.
    func pause() {
        paused = true
        disarm()
    }

    /// Reading goes on: a message still incomplete gets a whole `timeout` from now.
    func resume() {
        paused = false
        armIfInsideFrame()
    }

    private func armIfInsideFrame() {
        guard isInsideFrame, !paused else { return disarm() }
        guard deadline == nil, let context else { return }
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            deadline = nil
            counters.closedTCP.add(1, ordering: .relaxed)
            counters.slowFrames.add(1, ordering: .relaxed)
            context.close(promise: nil)
        }
    }

    private func disarm() {
        deadline?.cancel()
        deadline = nil
    }

    /// Whether the bytes so far end inside a frame (a length or a message begun and not finished).
    private var isInsideFrame: Bool { !header.isEmpty || remaining > 0 }

    /// Walks the frame boundaries in `bytes`: only the 2-byte lengths are read.
    private func track(_ bytes: ByteBufferView) {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            if remaining > 0 {
                let taken = min(remaining, bytes.endIndex - index)
                remaining -= taken
                index += taken
                if remaining == 0 { header.removeAll(keepingCapacity: true) }
                continue
            }
            header.append(bytes[index])
            index += 1
            if header.count == 2 {
                remaining = Int(header[0]) << 8 | Int(header[1])
                // A zero-length frame ends as it starts.
                if remaining == 0 { header.removeAll(keepingCapacity: true) }
            }
        }
    }
}
