/// The four sections of a DNS message, in wire order.
public enum DNSSection: Int, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case question
    case answer
    case authority
    case additional

    /// The section's name in lowercase, for use inside sentences.
    public var description: String {
        switch self {
        case .question: "question"
        case .answer: "answer"
        case .authority: "authority"
        case .additional: "additional"
        }
    }
}
