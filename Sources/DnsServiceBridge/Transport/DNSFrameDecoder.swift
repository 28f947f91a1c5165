import NIOCore

/// Splits a DNS-over-TCP/TLS byte stream into messages (RFC 1035 4.2.2: a 2-byte length before each).
struct DNSFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = Self.nextFrame(from: &buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }

    /// The next whole message in `buffer`, taken off it with its length; nil (nothing taken) until it is all there.
    static func nextFrame(from buffer: inout ByteBuffer) -> ByteBuffer? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self),
              buffer.readableBytes >= 2 + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: 2)
        return buffer.readSlice(length: Int(length))
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws
        -> DecodingState {
        // A partial message at EOF is dropped: the peer closed mid-message.
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}

extension ByteBufferAllocator {
    /// A DNS message with its 2-byte length prefix, ready for a TCP or TLS stream.
    func framedDNSMessage(_ bytes: [UInt8]) -> ByteBuffer {
        var buffer = buffer(capacity: bytes.count + 2)
        buffer.writeInteger(UInt16(truncatingIfNeeded: bytes.count))
        buffer.writeBytes(bytes)
        return buffer
    }
}
