import NIOHTTP1

/// What an operations endpoint answers: status, content type and body.
public struct OperationsHTTPResponse: Sendable {
    public var status: HTTPResponseStatus
    public var contentType: String
    public var body: [UInt8]

    public init(status: HTTPResponseStatus, contentType: String = "text/plain; charset=utf-8", body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    /// A plain-text answer.
    public static func text(_ status: HTTPResponseStatus, _ text: String) -> OperationsHTTPResponse {
        OperationsHTTPResponse(status: status, body: Array(text.utf8))
    }
}
