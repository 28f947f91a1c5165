/// The protocol one exchange with a plain-DNS upstream uses.
public enum ExchangeProtocol: String, Sendable, Hashable {
    case udp, tcp
}
