/// A value of any width, as simulators exchange it: little-endian 64-bit words, masked to `width`.
public struct BitVector: Sendable, Hashable, CustomStringConvertible {
    public let width: Int
    public let words: [UInt64]

    public init(words: [UInt64], width: Int) {
        self.width = width
        var w = Array(words.prefix((width + 63) / 64))
        while w.count < (width + 63) / 64 { w.append(0) }
        if width % 64 != 0, !w.isEmpty { w[w.count - 1] &= (UInt64(1) << UInt64(width % 64)) - 1 }
        self.words = w
    }

    /// `value` in two's complement, sign-extended or truncated to `width` bits.
    public init(_ value: Int, width: Int) {
        let fill: UInt64 = value < 0 ? ~0 : 0
        var w = [UInt64](repeating: fill, count: (width + 63) / 64)
        if !w.isEmpty { w[0] = UInt64(bitPattern: Int64(value)) }
        self.init(words: w, width: width)
    }

    /// Parses hexadecimal digits (as `%x`/`%h` print them); nil for anything else, X and Z included.
    public init?(hex: String, width: Int) {
        var hex = hex
        guard let v = hex.withUTF8({ BitVector(hexDigits: $0, width: width) }) else { return nil }
        self = v
    }

    /// Parses hexadecimal digits given as ASCII bytes (the simulators' output, read without making
    /// a `String` per value).
    public init?(hexDigits bytes: UnsafeBufferPointer<UInt8>, width: Int) {
        var w = [UInt64](repeating: 0, count: max(1, (width + 63) / 64))
        var bit = 0
        for c in bytes.reversed() {
            let d: UInt64
            switch c {
            case 48...57: d = UInt64(c - 48)
            case 97...102: d = UInt64(c - 87)
            case 65...70: d = UInt64(c - 55)
            default: return nil
            }
            let word = bit / 64, off = bit % 64
            if word < w.count { w[word] |= d << UInt64(off) }
            if off > 60, word + 1 < w.count { w[word + 1] |= d >> UInt64(64 - off) }
            bit += 4
        }
        self.init(words: w, width: width)
    }

    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    public var hex: String {
        let count = max(1, (width + 3) / 4)
        return String(unsafeUninitializedCapacity: count) { out in
            for i in 0..<count {
                let bit = (count - 1 - i) * 4
                var d = (words[bit / 64] >> UInt64(bit % 64)) & 0xF
                if bit % 64 > 60, bit / 64 + 1 < words.count { d |= (words[bit / 64 + 1] << UInt64(64 - bit % 64)) & 0xF }
                out[i] = BitVector.digits[Int(d)]
            }
            return count
        }
    }

    /// The value read as unsigned (widths up to 64).
    public var unsigned: UInt64 { words.first ?? 0 }

    /// The value read as two's-complement signed (widths up to 64).
    public var signed: Int {
        let v = words.first ?? 0
        if width >= 64 { return Int(Int64(bitPattern: v)) }
        if (v >> UInt64(width - 1)) & 1 == 1 { return Int(Int64(bitPattern: v | ~((UInt64(1) << UInt64(width)) - 1))) }
        return Int(v)
    }

    /// Bit `i`.
    public subscript(i: Int) -> Bool { (words[i / 64] >> UInt64(i % 64)) & 1 == 1 }

    public var description: String { "\(width)'h\(hex)" }
}
