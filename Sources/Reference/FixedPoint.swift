/// The integer arithmetic of TFLite's int8 kernels (gemmlowp `fixedpoint.h`, TFLite
/// `kernels/internal/common.h` without TFLITE_SINGLE_ROUNDING). The reference kernels, the
/// accelerator's generators and the mapper all use these, so there is exactly one definition of
/// every rounding step. None of them traps: overflow cases follow what the C code does in practice.
public enum FixedPoint {
    /// Splits a real multiplier into a Q0.31 significand in [2^30, 2^31) and a power-of-two
    /// exponent, as TFLite's `QuantizeMultiplier` (frexp, round half away from zero). Multipliers
    /// below 2^-32 become (0, 0); above 2^30 saturate to (Int32.max, 30).
    public static func quantizeMultiplier(_ real: Double) -> (multiplier: Int32, shift: Int) {
        guard real != 0, real.isFinite else { return (0, 0) }
        // frexp: real = q * 2^e with |q| in [0.5, 1).
        let q = (real.sign == .minus ? -1.0 : 1.0) * real.significand / 2
        var shift = Int(real.exponent) + 1
        var qFixed = Int64((q * 2_147_483_648.0).rounded(.toNearestOrAwayFromZero))
        if qFixed == 1 << 31 {
            qFixed /= 2
            shift += 1
        }
        if shift < -31 { return (0, 0) }
        if shift > 30 { return (Int32.max, 30) }
        return (Int32(truncatingIfNeeded: qFixed), shift)
    }

    /// TFLite's `QuantizeMultiplierSmallerThanOneExp`: as `quantizeMultiplier`, for multipliers in
    /// (0, 1), so the exponent is never positive. Returns nil outside that range.
    public static func quantizeMultiplierSmallerThanOneExp(_ real: Double) -> (multiplier: Int32, shift: Int)? {
        guard real > 0, real < 1 else { return nil }
        let r = quantizeMultiplier(real)
        return r.shift <= 0 ? r : nil
    }

    /// gemmlowp `SaturatingRoundingDoublingHighMul`: the high 32 bits of 2ab, rounded half away
    /// from zero; the single overflow case (INT32_MIN²) saturates to INT32_MAX.
    @inline(__always)
    public static func saturatingRoundingDoublingHighMul(_ a: Int32, _ b: Int32) -> Int32 {
        if a == b && a == .min { return .max }
        let ab = Int64(a) * Int64(b)
        let nudge: Int64 = ab >= 0 ? (1 << 30) : (1 - (1 << 30))
        // Int64 division truncates toward zero, as C's does.
        return Int32(truncatingIfNeeded: (ab + nudge) / (1 << 31))
    }

    /// gemmlowp `RoundingDivideByPOT`: x / 2^exponent rounded half away from zero. Exponents
    /// 0...31 are the C function's domain; larger ones (up to 62) extend it, negative ones mean 0.
    @inline(__always)
    public static func roundingDivideByPOT(_ x: Int32, _ exponent: Int) -> Int32 {
        let e = Int64(min(max(exponent, 0), 62))
        let mask: Int64 = (1 << e) - 1
        let x64 = Int64(x)
        let remainder = x64 & mask
        let threshold = (mask >> 1) + (x < 0 ? 1 : 0)
        return Int32(truncatingIfNeeded: (x64 >> e) + (remainder > threshold ? 1 : 0))
    }

    /// TFLite's `MultiplyByQuantizedMultiplier`: x * multiplier * 2^shift with the left shift
    /// applied before the doubling high multiply and the right shift after (double rounding).
    @inline(__always)
    public static func multiplyByQuantizedMultiplier(_ x: Int32, _ multiplier: Int32, _ shift: Int) -> Int32 {
        let left = shift > 0 ? shift : 0
        let right = shift > 0 ? 0 : -shift
        // C multiplies in int32; when that overflows the hardware wraps, so wrap here too.
        let shifted = left < 63 ? Int32(truncatingIfNeeded: Int64(x) << Int64(left)) : 0
        return roundingDivideByPOT(saturatingRoundingDoublingHighMul(shifted, multiplier), right)
    }

    /// TFLite's `MultiplyByQuantizedMultiplierSmallerThanOneExp` (shift <= 0): no left shift.
    @inline(__always)
    public static func multiplyByQuantizedMultiplierSmallerThanOneExp(_ x: Int32, _ multiplier: Int32, _ shift: Int) -> Int32 {
        roundingDivideByPOT(saturatingRoundingDoublingHighMul(x, multiplier), -shift)
    }

    /// TFLite's `MultiplyByQuantizedMultiplierGreaterThanOne` (softmax input scaling).
    @inline(__always)
    public static func multiplyByQuantizedMultiplierGreaterThanOne(_ x: Int32, _ multiplier: Int32, _ leftShift: Int) -> Int32 {
        let shifted = leftShift < 63 ? Int32(truncatingIfNeeded: Int64(x) << Int64(max(leftShift, 0))) : 0
        return saturatingRoundingDoublingHighMul(shifted, multiplier)
    }

    /// The output stage of every conv/FC: scale the int32 accumulator, add the output zero point
    /// and clamp to the fused activation range.
    @inline(__always)
    public static func requantize(acc: Int32, multiplier: Int32, shift: Int, outputZeroPoint: Int32, min: Int32, max: Int32) -> Int8 {
        let v = multiplyByQuantizedMultiplier(acc, multiplier, shift) &+ outputZeroPoint
        return Int8(truncatingIfNeeded: Swift.min(Swift.max(v, min), max))
    }

    /// Per-channel requantization parameters of a conv/depthwise/FC layer:
    /// `QuantizeMultiplier(double(in_s) * double(w_s[c]) / double(out_s))` for each channel.
    public static func channelMultipliers(inputScale: Float, weightScales: [Float], outputScale: Float, channels: Int) -> [(multiplier: Int32, shift: Int)] {
        (0 ..< channels).map { c in
            let ws = weightScales.count > 1 ? weightScales[c] : (weightScales.first ?? 0)
            return quantizeMultiplier(Double(inputScale) * Double(ws) / Double(outputScale))
        }
    }
}

/// ADD's parameters as TFLite prepares them for int8 (`reference/integer_ops/add.h`): both
/// inputs are shifted left by 20 bits, scaled to a common scale 2*max(s1, s2), summed, and the sum
/// scaled to the output.
public struct AddParameters: Sendable, Equatable {
    public static let leftShift = 20
    public var input1Offset: Int32
    public var input2Offset: Int32
    public var input1Multiplier: Int32
    public var input1Shift: Int
    public var input2Multiplier: Int32
    public var input2Shift: Int
    public var outputMultiplier: Int32
    public var outputShift: Int
    public var outputOffset: Int32
    public var activationMin: Int32
    public var activationMax: Int32

    /// Throws when a multiplier falls outside (0, 1), which TFLite rejects as well.
    public init(input1Scale: Float, input1ZeroPoint: Int32, input2Scale: Float, input2ZeroPoint: Int32,
                outputScale: Float, outputZeroPoint: Int32, activationMin: Int32 = -128, activationMax: Int32 = 127) throws {
        let twiceMax = 2 * Double(Swift.max(input1Scale, input2Scale))
        let r1 = Double(input1Scale) / twiceMax
        let r2 = Double(input2Scale) / twiceMax
        let ro = twiceMax / (Double(1 << AddParameters.leftShift) * Double(outputScale))
        guard let m1 = FixedPoint.quantizeMultiplierSmallerThanOneExp(r1),
              let m2 = FixedPoint.quantizeMultiplierSmallerThanOneExp(r2),
              let mo = FixedPoint.quantizeMultiplierSmallerThanOneExp(ro) else {
            throw ReferenceError.unsupported("ADD scales \(input1Scale), \(input2Scale) -> \(outputScale) give a multiplier outside (0, 1)")
        }
        input1Offset = -input1ZeroPoint
        input2Offset = -input2ZeroPoint
        (input1Multiplier, input1Shift) = m1
        (input2Multiplier, input2Shift) = m2
        (outputMultiplier, outputShift) = mo
        outputOffset = outputZeroPoint
        self.activationMin = activationMin
        self.activationMax = activationMax
    }

    /// One element of the sum.
    @inline(__always)
    public func add(_ a: Int8, _ b: Int8) -> Int8 {
        let x1 = (input1Offset &+ Int32(a)) &<< Int32(AddParameters.leftShift)
        let x2 = (input2Offset &+ Int32(b)) &<< Int32(AddParameters.leftShift)
        let s1 = FixedPoint.multiplyByQuantizedMultiplierSmallerThanOneExp(x1, input1Multiplier, input1Shift)
        let s2 = FixedPoint.multiplyByQuantizedMultiplierSmallerThanOneExp(x2, input2Multiplier, input2Shift)
        let raw = FixedPoint.multiplyByQuantizedMultiplierSmallerThanOneExp(s1 &+ s2, outputMultiplier, outputShift) &+ outputOffset
        return Int8(truncatingIfNeeded: Swift.min(Swift.max(raw, activationMin), activationMax))
    }
}
