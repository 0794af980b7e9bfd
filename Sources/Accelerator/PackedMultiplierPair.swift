import HDLKit

/// Two products that share one operand, computed by one wide multiply (DSP packing, the known int8
/// technique for 7-series DSP48E1): P = (o1·2^S + o2) · s, then o2·s is the low S bits read as
/// signed and o1·s is the high part plus the borrow that a negative low product took from it:
///   p2 = sext(P[S-1:0]),  p1 = (P >> S) + P[S-1]
/// This is exact whenever |o2·s| < 2^(S-1). In the engine one operand of every product is a weight
/// (at most 2^(ww-1) in magnitude) and the other an activation minus its zero point (at most
/// 2^dw - 1), so S = dw + ww suffices: 16 for int8, making the packed operand 25 bits (the
/// DSP48E1 pre-adder/A port) and the shared one 9 bits (B port).
///
/// Pruning is folded in: a disabled product has its packed operand zeroed, so its part is exactly 0,
/// and the register is loaded with 0 when both are disabled (DSP48 RSTM). `ce` is the clock enable
/// (the engine's valid). Latency 1: the register P; p1/p2 are combinational from it.
///
/// Measured with Yosys synth_xilinx: a 25×9 signed multiply written `a * b` maps to one DSP48E1,
/// but HDLKit currently emits signed products as an unsigned product of sign-extended operands
/// (`{{9{x[24]}}, x} * {{25{s[8]}}, s}`), which Yosys maps to three. The arithmetic is exact
/// either way; the one-DSP-per-pair figure needs the emitter to write `$signed(..) * $signed(..)`.
public struct PackedMultiplierPair: Sendable {
    /// Width of the shared operand and of the two packed operands (signed).
    public let sharedWidth: Int
    public let packedWidth: Int
    /// S: the offset of o1 in the packed operand, and the width of each product.
    public let shift: Int

    public init(sharedWidth: Int, packedWidth: Int, shift: Int) {
        self.sharedWidth = sharedWidth
        self.packedWidth = packedWidth
        self.shift = shift
    }

    /// The pair the engine uses: operands wide enough for either role (weight or activation).
    public init(_ config: AcceleratorConfig) {
        let operand = max(config.dataWidth + 1, config.weightWidth)
        self.init(sharedWidth: operand, packedWidth: operand, shift: config.dataWidth + config.weightWidth)
    }

    public static let latency = 1
    public var productWidth: Int { shift }
    /// Width of the pre-adder result o1·2^S + o2.
    public var preAdderWidth: Int { packedWidth + shift }

    public var name: String { "PackedMultiplierPair_s\(sharedWidth)_o\(packedWidth)_sh\(shift)" }

    /// The arithmetic of the hardware, bit for bit, for operands in range.
    public static func model(shared s: Int, _ o1: Int, _ o2: Int, shift: Int) -> (Int, Int) {
        let p = (o1 << shift + o2) * s
        let mask = (1 << shift) - 1
        let low = p & mask
        let p2 = low >= 1 << (shift - 1) ? low - (1 << shift) : low
        let p1 = (p >> shift) + (low >> (shift - 1))
        return (p1, p2)
    }

    public func module() -> Module {
        let sh = shift, pw = productWidth, aw = preAdderWidth
        return Module(name) { m in
            let ce = m.input("ce", .bool)
            let s = m.input("s", .sint(sharedWidth))
            let o1 = m.input("o1", .sint(packedWidth)), o2 = m.input("o2", .sint(packedWidth))
            let en1 = m.input("en1", .bool), en2 = m.input("en2", .bool)
            let hi = m.wire("hi", mux(en1, o1, .sint(0, width: packedWidth)))
            let lo = m.wire("lo", mux(en2, o2, .sint(0, width: packedWidth)))
            // o1·2^S + o2 fits aw bits for operands in the engine's ranges (|activation| ≤ 2^dw - 1).
            let packed = m.wire("pre_sum", (hi << sh) &+ lo.extend(to: aw))
            let p = m.reg("p", .sint(aw + sharedWidth), enable: ce)
            m.when(en1 || en2) { p.assign(packed * s) }.otherwise { p.assign(.sint(0, width: aw + sharedWidth)) }
            let low = p.bits(sh - 1, 0)
            m.output("p2", low.asSigned)
            // The top product needs pw bits; the bits of P above it only repeat its sign.
            let high = p.bits(sh + pw - 1, sh).asSigned
            let borrow = cat(.uint(0, width: pw - 1), p[sh - 1]).asSigned
            m.output("p1", high &+ borrow)
            m.discard(p)
        }
    }
}
