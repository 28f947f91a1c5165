/// Durations written the way Go's `time.ParseDuration` reads them, since CoreDNS Corefiles use that syntax:
/// a sign, then one or more decimal numbers each with a unit (`ns`, `us`, `µs`, `ms`, `s`, `m`, `h`), such as
/// `500ms`, `0.5s`, `1m30s` or `2h`; `0` alone needs no unit.
public enum GoDuration {
    private static let units: [(suffix: String, nanoseconds: Int64)] = [
        ("ns", 1), ("us", 1_000), ("\u{00B5}s", 1_000), ("\u{03BC}s", 1_000), ("ms", 1_000_000),
        ("s", 1_000_000_000), ("m", 60_000_000_000), ("h", 3_600_000_000_000),
    ]

    /// The duration `text` spells, or nil when it is not valid Go syntax or overflows 64-bit nanoseconds.
    public static func parse(_ text: String) -> Duration? {
        var rest = Substring(text)
        var negative = false
        if let sign = rest.first, sign == "-" || sign == "+" {
            negative = sign == "-"
            rest = rest.dropFirst()
        }
        if rest == "0" { return .zero }
        guard !rest.isEmpty else { return nil }

        var total: Int64 = 0
        while !rest.isEmpty {
            let whole = rest.prefix { $0.isASCII && $0.isNumber }
            rest = rest.dropFirst(whole.count)
            var fraction = Substring("")
            if rest.first == "." {
                rest = rest.dropFirst()
                fraction = rest.prefix { $0.isASCII && $0.isNumber }
                rest = rest.dropFirst(fraction.count)
            }
            guard !(whole.isEmpty && fraction.isEmpty) else { return nil }
            let unitText = rest.prefix { !($0.isASCII && $0.isNumber) && $0 != "." }
            rest = rest.dropFirst(unitText.count)
            guard let unit = units.first(where: { $0.suffix == unitText })?.nanoseconds else { return nil }

            var value: Int64 = 0
            for digit in whole {
                guard let digitValue = digit.wholeNumberValue else { return nil }
                let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
                let (added, overflow2) = shifted.addingReportingOverflow(Int64(digitValue))
                guard !overflow1, !overflow2 else { return nil }
                value = added
            }
            let (scaled, overflow) = value.multipliedReportingOverflow(by: unit)
            guard !overflow else { return nil }
            // Go adds the fraction as float64(f) * (unit / scale); digits past nanosecond precision do not matter.
            var fractionValue: Double = 0
            var scale: Double = 1
            for digit in fraction.prefix(18) {
                fractionValue = fractionValue * 10 + Double(digit.wholeNumberValue ?? 0)
                scale *= 10
            }
            let fractionNanoseconds = Int64(fractionValue * (Double(unit) / scale))
            let (component, overflow3) = scaled.addingReportingOverflow(fractionNanoseconds)
            let (sum, overflow4) = total.addingReportingOverflow(component)
            guard !overflow3, !overflow4 else { return nil }
            total = sum
        }
        return .nanoseconds(negative ? -total : total)
    }
}
