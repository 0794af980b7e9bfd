/// A hardware value: a reference to a declared signal, a literal, or an expression over them.
///
/// Operators never lose bits: `+`, `-` and `*` widen their result so nothing can overflow, and
/// `&+`/`&-` are the explicit wrap-around forms. Narrowing happens only through `truncate`/`resize`.
/// Mixing signed and unsigned operands is an error; convert with `toSigned` or `asSigned` first.
public struct Signal {
    let node: Node

    init(_ node: Node) { self.node = node }

    public var type: HWType { node.type }
    public var width: Int { node.type.width }
    public var isSigned: Bool { node.type.isSigned }

    /// The declared name, for references to declared signals.
    public var name: String? {
        if case .ref(let d) = node.kind { return d.name }
        return nil
    }

    /// A literal of the given type. Out-of-range values are reported where the literal is used.
    public static func literal(_ value: Int, _ type: HWType) -> Signal {
        if type.width < 1 { return Signal(Node(.invalid("literal width must be at least 1"), type, nil)) }
        if type.width < 63 && (value < type.minValue || value > type.maxValue) {
            return Signal(Node(.invalid("literal \(value) does not fit \(type)"), type, nil))
        }
        return Signal(Node(.literal(value), type, nil))
    }

    public static func uint(_ value: Int, width: Int) -> Signal { literal(value, .uint(width)) }
    public static func sint(_ value: Int, width: Int) -> Signal { literal(value, .sint(width)) }
    public static var `true`: Signal { .literal(1, .bool) }
    public static var `false`: Signal { .literal(0, .bool) }

    // MARK: conversions

    /// Sign- or zero-extends to `width` bits; asking to shrink is an error (use `truncate`).
    public func extend(to width: Int) -> Signal {
        if width < self.width { return invalid("extend(to: \(width)) would shrink \(type); use truncate") }
        if width == self.width { return self }
        return Signal(Node(.convert(node), HWType(width: width, signed: isSigned), node.module))
    }

    /// Keeps the low `width` bits; the dropped high bits are intentionally discarded.
    public func truncate(to width: Int) -> Signal {
        if width > self.width { return invalid("truncate(to: \(width)) would widen \(type); use extend") }
        if width < 1 { return invalid("truncate(to: \(width)): width must be at least 1") }
        if width == self.width { return self }
        return Signal(Node(.convert(node), HWType(width: width, signed: isSigned), node.module))
    }

    /// Extends or truncates to exactly `width` bits.
    public func resize(_ width: Int) -> Signal { width >= self.width ? extend(to: width) : truncate(to: width) }

    /// The same bits read as two's-complement signed.
    public var asSigned: Signal {
        isSigned ? self : Signal(Node(.convert(node), .sint(width), node.module))
    }

    /// The same bits read as unsigned.
    public var asUnsigned: Signal {
        isSigned ? Signal(Node(.convert(node), .uint(width), node.module)) : self
    }

    /// The same value as a signed number (one bit wider for unsigned values).
    public var toSigned: Signal { isSigned ? self : extend(to: width + 1).asSigned }

    // MARK: selection

    /// Bit `index` (0 is the least significant).
    public subscript(index: Int) -> Signal { bits(index, index) }

    /// Bits `hi` down to `lo`, as an unsigned value of `hi - lo + 1` bits.
    public func bits(_ hi: Int, _ lo: Int) -> Signal {
        guard lo >= 0, hi >= lo, hi < width else {
            return invalid("bits(\(hi), \(lo)) is outside \(type)")
        }
        if lo == 0 && hi == width - 1 { return asUnsigned }
        return Signal(Node(.slice(node, hi: hi, lo: lo), .uint(hi - lo + 1), node.module))
    }

    public var msb: Signal { self[width - 1] }

    // MARK: reductions

    public var andReduce: Signal { unary(.andReduce, .bool) }
    public var orReduce: Signal { unary(.orReduce, .bool) }
    public var xorReduce: Signal { unary(.xorReduce, .bool) }

    // MARK: helpers used by the operators

    func invalid(_ message: String) -> Signal { Signal(Node(.invalid(message), type, node.module)) }

    func unary(_ op: UnaryOp, _ type: HWType) -> Signal { Signal(Node(.unary(op, node), type, node.module)) }

    static func module(_ a: Signal, _ b: Signal) -> Module? { a.node.module ?? b.node.module }
}

/// Concatenation, most significant first: `cat(hi, lo)`.
public func cat(_ parts: Signal...) -> Signal { cat(parts) }

public func cat(_ parts: [Signal]) -> Signal {
    guard let first = parts.first else { return Signal(Node(.invalid("cat of nothing"), .uint(1), nil)) }
    if parts.count == 1 { return first.asUnsigned }
    let module = parts.lazy.compactMap { $0.node.module }.first
    return Signal(Node(.concat(parts.map(\.node)), .uint(parts.reduce(0) { $0 + $1.width }), module))
}

/// `condition ? whenTrue : whenFalse`; the arms must agree in signedness and the narrower is extended.
public func mux(_ condition: Signal, _ whenTrue: Signal, _ whenFalse: Signal) -> Signal {
    guard condition.type == .bool else { return condition.invalid("mux condition must be Bool, not \(condition.type)") }
    guard whenTrue.isSigned == whenFalse.isSigned else {
        return whenTrue.invalid("mux arms differ in signedness: \(whenTrue.type) and \(whenFalse.type)")
    }
    let t = HWType(width: max(whenTrue.width, whenFalse.width), signed: whenTrue.isSigned)
    let module = condition.node.module ?? Signal.module(whenTrue, whenFalse)
    return Signal(Node(.mux(condition.node, whenTrue.extend(to: t.width).node, whenFalse.extend(to: t.width).node), t, module))
}

public func mux(_ condition: Signal, _ whenTrue: Signal, _ whenFalse: Int) -> Signal {
    mux(condition, whenTrue, Signal.literal(whenFalse, whenTrue.type))
}

/// Selects `choices[index]`; out-of-range indices give the last choice.
public func select(_ index: Signal, _ choices: [Signal]) -> Signal {
    guard !choices.isEmpty else { return index.invalid("select from no choices") }
    var result = choices[choices.count - 1]
    for i in stride(from: choices.count - 2, through: 0, by: -1) {
        result = mux(index == i, choices[i], result)
    }
    return result
}
