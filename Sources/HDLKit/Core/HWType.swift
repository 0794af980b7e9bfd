/// The type of a hardware value: a bit vector with an explicit width, unsigned or two's-complement
/// signed. `Bool` is an unsigned vector of width 1.
public struct HWType: Sendable, Hashable, CustomStringConvertible {
    public let width: Int
    public let isSigned: Bool

    public init(width: Int, signed: Bool) {
        self.width = width
        self.isSigned = signed
    }

    public static func uint(_ width: Int) -> HWType { HWType(width: width, signed: false) }
    public static func sint(_ width: Int) -> HWType { HWType(width: width, signed: true) }
    public static let bool = HWType(width: 1, signed: false)

    public var description: String { isSigned ? "sint(\(width))" : "uint(\(width))" }

    /// `u8`, `s17`: for module names derived from parameters.
    public var shortName: String { (isSigned ? "s" : "u") + "\(width)" }

    /// The range of integers the type represents (for widths up to 63 bits).
    public var minValue: Int { isSigned ? -(1 << (width - 1)) : 0 }
    public var maxValue: Int { isSigned ? (1 << (width - 1)) - 1 : (width >= 63 ? Int.max : (1 << width) - 1) }

    /// Whether every value of `other` is representable in `self` (the rule for implicit widening).
    public func holds(_ other: HWType) -> Bool {
        if isSigned == other.isSigned { return width >= other.width }
        if isSigned && !other.isSigned { return width > other.width }
        return false
    }
}

/// The number of bits needed to address `count` entries (at least 1).
public func addressWidth(_ count: Int) -> Int {
    var w = 1
    while (1 << w) < count { w += 1 }
    return w
}

/// The smallest width holding `value` as unsigned (`value >= 0`) or as signed.
public func bitsNeeded(_ value: Int, signed: Bool) -> Int {
    if signed {
        var w = 1
        while !(value >= -(1 << (w - 1)) && value <= (1 << (w - 1)) - 1) { w += 1 }
        return w
    }
    precondition(value >= 0)
    var w = 1
    while w < 63 && (value >> w) != 0 { w += 1 }
    return w
}
