/// SOFTMAX for int8 in and out (output scale 1/256, zero point -128), bit-exact with TFLite's
/// `reference_ops::Softmax` for quantized types: exp in gemmlowp fixed point (input differences in
/// Q5.26, sum in Q12.19) and a Newton-Raphson reciprocal. The accelerator leaves softmax to the
/// host; this is here so whole models can be checked.
public struct SoftmaxParameters: Sendable, Equatable {
    static let scaledDiffIntegerBits = 5
    static let accumulationIntegerBits = 12
    public var inputMultiplier: Int32
    public var inputLeftShift: Int
    public var diffMin: Int32

    /// As `PreprocessSoftmaxScaling` and `CalculateInputRadius` in TFLite.
    public init(beta: Double, inputScale: Double) {
        let maxReal = Double((Int64(1) << 31) - 1)
        let real = min(beta * inputScale * Double(1 << (31 - SoftmaxParameters.scaledDiffIntegerBits)), maxReal)
        let q = FixedPoint.quantizeMultiplier(real)
        inputMultiplier = q.multiplier
        inputLeftShift = max(q.shift, 0)
        let bits = SoftmaxParameters.scaledDiffIntegerBits
        let radius = Double((1 << bits) - 1) * Double(Int64(1) << (31 - bits)) / Double(Int64(1) << Int64(inputLeftShift))
        diffMin = -Int32(clamping: Int64(radius.rounded(.down)))
    }
}

public enum Softmax {
    /// Softmax over the last dimension (`depth` elements per row).
    public static func run(_ p: SoftmaxParameters, input: [Int8], depth: Int) throws -> [Int8] {
        guard depth >= 1, input.count % depth == 0 else {
            throw ReferenceError.invalidNetwork("SOFTMAX depth \(depth) does not divide \(input.count) elements")
        }
        var out = [Int8](repeating: -128, count: input.count)
        for row in 0 ..< input.count / depth {
            let x = input[row * depth ..< (row + 1) * depth]
            let maxIn = Int32(x.max() ?? -128)
            var sumOfExps: Int32 = 0  // Q12.19
            var exps = [Int32?](repeating: nil, count: depth)
            for (c, v) in x.enumerated() {
                let diff = Int32(v) - maxIn
                guard diff >= p.diffMin else { continue }
                let scaled = FixedPoint.multiplyByQuantizedMultiplierGreaterThanOne(diff, p.inputMultiplier, p.inputLeftShift)
                let e = GemmlowpFixedPoint.expOnNegativeValues(scaled, integerBits: SoftmaxParameters.scaledDiffIntegerBits)
                exps[c] = e
                sumOfExps &+= FixedPoint.roundingDivideByPOT(e, SoftmaxParameters.accumulationIntegerBits)
            }
            let (reciprocal, bitsOverUnit) = GemmlowpFixedPoint.reciprocal(sumOfExps, integerBits: SoftmaxParameters.accumulationIntegerBits)
            for c in 0 ..< depth {
                guard let e = exps[c] else { continue }
                let unsat = FixedPoint.roundingDivideByPOT(FixedPoint.saturatingRoundingDoublingHighMul(reciprocal, e), bitsOverUnit + 31 - 8)
                out[row * depth + c] = Int8(truncatingIfNeeded: min(max(unsat &- 128, -128), 127))
            }
        }
        return out
    }
}

/// The gemmlowp `fixedpoint.h` functions softmax needs, on raw int32 values. A value with
/// `integerBits` integer bits has 31 - integerBits fractional bits.
enum GemmlowpFixedPoint {
    static func mul(_ a: Int32, _ b: Int32) -> Int32 { FixedPoint.saturatingRoundingDoublingHighMul(a, b) }

    /// `SaturatingRoundingMultiplyByPOT<exponent>`.
    static func multiplyByPOT(_ x: Int32, _ exponent: Int) -> Int32 {
        if exponent == 0 { return x }
        if exponent < 0 { return FixedPoint.roundingDivideByPOT(x, -exponent) }
        let threshold = Int32((Int64(1) << (31 - exponent)) - 1)
        if x > threshold { return .max }
        if x < -threshold { return .min }
        return x &<< Int32(exponent)
    }

    /// exp(a) for a in [-1/4, 0), 0 integer bits in and out.
    static func expOnIntervalBetweenNegativeOneQuarterAnd0Excl(_ a: Int32) -> Int32 {
        let constantTerm: Int32 = 1_895_147_668  // exp(-1/8)
        let constant1Over3: Int32 = 715_827_883
        let x = a &+ (1 << 28)  // a + 1/8
        let x2 = mul(x, x)
        let x3 = mul(x2, x)
        let x4 = mul(x2, x2)
        let x4Over4 = multiplyByPOT(x4, -2)
        let poly = multiplyByPOT(mul(x4Over4 &+ x3, constant1Over3) &+ x2, -1)
        return constantTerm &+ mul(constantTerm, x &+ poly)
    }

    /// exp(a) for a <= 0 with `integerBits` integer bits; the result has 0 integer bits.
    static func expOnNegativeValues(_ a: Int32, integerBits: Int) -> Int32 {
        let fractionalBits = 31 - integerBits
        let oneQuarter: Int32 = 1 << Int32(fractionalBits - 2)
        let mask = oneQuarter &- 1
        let aModQuarterMinusOneQuarter = (a & mask) &- oneQuarter
        var result = expOnIntervalBetweenNegativeOneQuarterAnd0Excl(multiplyByPOT(aModQuarterMinusOneQuarter, integerBits))
        let remainder = aModQuarterMinusOneQuarter &- a
        let barrel: [(Int, Int32)] = [(-2, 1_672_461_947), (-1, 1_302_514_674), (0, 790_015_084), (1, 290_630_308),
                                      (2, 39_332_535), (3, 720_401), (4, 242)]
        for (exponent, multiplier) in barrel where integerBits > exponent {
            let bit = fractionalBits + exponent
            if remainder & (1 << Int32(bit)) != 0 { result = mul(result, multiplier) }
        }
        if integerBits > 5 {
            let clamp = -(Int32(1) << Int32(36 - integerBits))  // -32 in this format
            if a < clamp { result = 0 }
        }
        if a == 0 { result = .max }
        return result
    }

    /// 1 / (1 + a) for a in [0, 1), 0 integer bits in and out (Newton-Raphson, 3 steps).
    static func oneOverOnePlusXForXIn01(_ a: Int32) -> Int32 {
        let sum = Int64(a) + Int64(Int32.max)
        let halfDenominator = Int32(truncatingIfNeeded: (sum + (sum >= 0 ? 1 : -1)) / 2)  // RoundingHalfSum
        let constant48Over17: Int32 = 1_515_870_810
        let constantNeg32Over17: Int32 = -1_010_580_540
        var x = constant48Over17 &+ mul(halfDenominator, constantNeg32Over17)  // 2 integer bits
        let one2: Int32 = 1 << 29
        for _ in 0 ..< 3 {
            let halfDenominatorTimesX = mul(halfDenominator, x)
            let oneMinus = one2 &- halfDenominatorTimesX
            x = x &+ multiplyByPOT(mul(x, oneMinus), 2)
        }
        return multiplyByPOT(x, 1)
    }

    /// TFLite's `GetReciprocal`: 1/x scaled by a power of two, and that power.
    static func reciprocal(_ x: Int32, integerBits: Int) -> (Int32, Int) {
        let headroomPlusOne = UInt32(bitPattern: x).leadingZeroBitCount
        let bitsOverUnit = integerBits - headroomPlusOne
        let shiftedSumMinusOne = Int32(bitPattern: (UInt32(bitPattern: x) << UInt32(headroomPlusOne)) &- (UInt32(1) << 31))
        return (oneOverOnePlusXForXIn01(shiftedSumMinusOne), bitsOverUnit)
    }
}
