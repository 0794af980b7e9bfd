/// Operator semantics: results are wide enough that no value is lost.
///   a + b, a - b : max(wa, wb) + 1 bits (unsigned - unsigned is signed: it can go negative)
///   a &+ b, a &- b: max(wa, wb) bits, wrapping
///   a * b        : wa + wb bits
///   a << n       : wa + n bits;  a >> n: wa - n bits (arithmetic for signed)
///   comparisons  : Bool, operands extended to the wider one
///   & | ^        : max(wa, wb) bits
/// An `Int` operand becomes a literal of the other operand's signedness and the smallest width
/// holding it.

extension Signal {
    static func lit(_ value: Int, like other: Signal) -> Signal {
        if !other.isSigned && value < 0 {
            return other.invalid("negative constant \(value) used with unsigned \(other.type)")
        }
        return .literal(value, HWType(width: bitsNeeded(value, signed: other.isSigned), signed: other.isSigned))
    }

    static func binary(_ op: BinaryOp, _ a: Signal, _ b: Signal, result: (HWType, HWType) -> HWType, working: (HWType, HWType) -> Int) -> Signal {
        if a.isSigned != b.isSigned {
            return a.invalid("operator \(op.rawValue) mixes \(a.type) and \(b.type); convert one with toSigned or asSigned")
        }
        let t = result(a.type, b.type)
        let w = working(a.type, b.type)
        return Signal(Node(.binary(op, a.node, b.node, extendTo: w), t, module(a, b)))
    }

    static func arithmetic(_ op: BinaryOp, _ a: Signal, _ b: Signal, wrapping: Bool) -> Signal {
        let w = max(a.width, b.width) + (wrapping ? 0 : 1)
        let signed = a.isSigned || (op == .sub && !wrapping)
        if op == .sub && !wrapping && !a.isSigned && !b.isSigned {
            // Unsigned difference: compute on zero-extended operands, read as signed.
            return binary(.sub, a, b, result: { _, _ in .sint(w) }, working: { _, _ in w })
        }
        return binary(op, a, b, result: { _, _ in HWType(width: w, signed: signed) }, working: { _, _ in w })
    }

    static func compare(_ op: BinaryOp, _ a: Signal, _ b: Signal) -> Signal {
        binary(op, a, b, result: { _, _ in .bool }, working: { max($0.width, $1.width) })
    }

    static func bitwise(_ op: BinaryOp, _ a: Signal, _ b: Signal) -> Signal {
        binary(op, a, b, result: { HWType(width: max($0.width, $1.width), signed: $0.isSigned) }, working: { max($0.width, $1.width) })
    }

    public static func + (a: Signal, b: Signal) -> Signal { arithmetic(.add, a, b, wrapping: false) }
    public static func + (a: Signal, b: Int) -> Signal { a + lit(b, like: a) }
    public static func - (a: Signal, b: Signal) -> Signal { arithmetic(.sub, a, b, wrapping: false) }
    public static func - (a: Signal, b: Int) -> Signal { a - lit(b, like: a) }
    public static func &+ (a: Signal, b: Signal) -> Signal { arithmetic(.add, a, b, wrapping: true) }
    public static func &+ (a: Signal, b: Int) -> Signal { a &+ lit(b, like: a) }
    public static func &- (a: Signal, b: Signal) -> Signal { arithmetic(.sub, a, b, wrapping: true) }
    public static func &- (a: Signal, b: Int) -> Signal { a &- lit(b, like: a) }

    public static func * (a: Signal, b: Signal) -> Signal {
        let w = a.width + b.width
        return binary(.mul, a, b, result: { x, _ in HWType(width: w, signed: x.isSigned) }, working: { _, _ in w })
    }
    public static func * (a: Signal, b: Int) -> Signal { a * lit(b, like: a) }

    /// Negation, one bit wider so that the most negative value survives.
    public static prefix func - (a: Signal) -> Signal {
        Signal.literal(0, HWType(width: 1, signed: a.isSigned)) - a
    }

    public static func == (a: Signal, b: Signal) -> Signal { compare(.eq, a, b) }
    public static func == (a: Signal, b: Int) -> Signal { compare(.eq, a, lit(b, like: a)) }
    public static func != (a: Signal, b: Signal) -> Signal { compare(.ne, a, b) }
    public static func != (a: Signal, b: Int) -> Signal { compare(.ne, a, lit(b, like: a)) }
    public static func < (a: Signal, b: Signal) -> Signal { compare(.lt, a, b) }
    public static func < (a: Signal, b: Int) -> Signal { compare(.lt, a, lit(b, like: a)) }
    public static func <= (a: Signal, b: Signal) -> Signal { compare(.le, a, b) }
    public static func <= (a: Signal, b: Int) -> Signal { compare(.le, a, lit(b, like: a)) }
    public static func > (a: Signal, b: Signal) -> Signal { compare(.gt, a, b) }
    public static func > (a: Signal, b: Int) -> Signal { compare(.gt, a, lit(b, like: a)) }
    public static func >= (a: Signal, b: Signal) -> Signal { compare(.ge, a, b) }
    public static func >= (a: Signal, b: Int) -> Signal { compare(.ge, a, lit(b, like: a)) }

    public static func & (a: Signal, b: Signal) -> Signal { bitwise(.and, a, b) }
    public static func | (a: Signal, b: Signal) -> Signal { bitwise(.or, a, b) }
    public static func ^ (a: Signal, b: Signal) -> Signal { bitwise(.xor, a, b) }
    public static prefix func ~ (a: Signal) -> Signal { a.unary(.not, a.type) }

    /// Logical operators take and give Bool.
    public static func && (a: Signal, b: Signal) -> Signal {
        guard a.type == .bool, b.type == .bool else { return a.invalid("&& needs Bool operands, not \(a.type) and \(b.type)") }
        return a & b
    }
    public static func || (a: Signal, b: Signal) -> Signal {
        guard a.type == .bool, b.type == .bool else { return a.invalid("|| needs Bool operands, not \(a.type) and \(b.type)") }
        return a | b
    }
    public static prefix func ! (a: Signal) -> Signal {
        guard a.type == .bool else { return a.invalid("! needs a Bool operand, not \(a.type)") }
        return ~a
    }

    /// Constant left shift: appends `n` zero bits.
    public static func << (a: Signal, n: Int) -> Signal {
        guard n >= 0 else { return a.invalid("negative shift \(n)") }
        if n == 0 { return a }
        let shifted = cat(a, .uint(0, width: n))
        return a.isSigned ? shifted.asSigned : shifted
    }

    /// Constant right shift: drops the low `n` bits (rounding towards minus infinity for signed).
    public static func >> (a: Signal, n: Int) -> Signal {
        guard n >= 0 else { return a.invalid("negative shift \(n)") }
        if n == 0 { return a }
        guard n < a.width else { return a.invalid("shift right by \(n) leaves nothing of \(a.type)") }
        let kept = a.bits(a.width - 1, n)
        return a.isSigned ? kept.asSigned : kept
    }

    /// Dynamic left shift by an unsigned amount; wide enough for the largest shift.
    public static func << (a: Signal, amount: Signal) -> Signal {
        guard !amount.isSigned else { return a.invalid("shift amount must be unsigned, not \(amount.type)") }
        guard amount.width <= 8 else { return a.invalid("dynamic shift amount of \(amount.width) bits is too wide") }
        let w = a.width + (1 << amount.width) - 1
        return Signal(Node(.binary(.shl, a.node, amount.node, extendTo: w), HWType(width: w, signed: a.isSigned), module(a, amount)))
    }

    /// Dynamic right shift by an unsigned amount; arithmetic for signed values.
    public static func >> (a: Signal, amount: Signal) -> Signal {
        guard !amount.isSigned else { return a.invalid("shift amount must be unsigned, not \(amount.type)") }
        return Signal(Node(.binary(.shr, a.node, amount.node, extendTo: a.width), a.type, module(a, amount)))
    }
}
