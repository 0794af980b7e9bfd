/// Verilog text for constants: sized, and in hex when negative so the bit pattern is explicit.
enum VerilogLiteral {
    static func text(_ value: Int, width: Int) -> String {
        if value >= 0 && (width >= 63 || value < (1 << width)) { return "\(width)'d\(value)" }
        return "\(width)'h\(hex(value, width: width))"
    }

    /// Two's-complement digits of `value` sign-extended (or truncated) to `width` bits.
    static func hex(_ value: Int, width: Int) -> String {
        var digits: [Character] = []
        let nibbles = (width + 3) / 4
        for i in 0..<nibbles {
            let shift = 4 * i
            var nibble = shift >= 64 ? (value < 0 ? 0xF : 0) : Int((UInt64(bitPattern: Int64(value)) >> UInt64(shift)) & 0xF)
            let bitsHere = min(4, width - shift)
            nibble &= (1 << bitsHere) - 1
            digits.append(Character(String(nibble, radix: 16)))
        }
        return String(digits.reversed())
    }

    /// The value of `value` truncated to `width` bits and read with the given signedness.
    static func wrap(_ value: Int, width: Int, signed: Bool) -> Int {
        guard width < 64 else { return value }
        let mask = (1 << width) - 1
        let low = value & mask
        if signed && (low >> (width - 1)) & 1 == 1 { return low - (1 << width) }
        return low
    }
}
