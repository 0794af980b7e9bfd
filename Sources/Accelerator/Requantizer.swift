import HDLKit

/// TFLite's int8 output stage for `pixels` accumulators of one output channel, bit-exact with
/// `FixedPoint.requantize` (tflite-micro `MultiplyByQuantizedMultiplier`, double rounding):
///
///     y = clamp(RoundingDivideByPOT(SRDHM((acc + bias) << max(shift, 0), M), max(-shift, 0)) + zp, min, max)
///
/// The lanes share one parameter set (the channel's bias, multiplier, shift, zero point and
/// activation bounds), so those are pipelined once per channel instead of once per lane: the
/// quantization unit puts PV pixels of one filter on one Requantizer.
///
/// Pipeline (one result per lane per cycle, never stalls; `latency` = 8 cycles from the input
/// cycle to the cycle the output shows it). Each parameter travels alongside the data up to the
/// stage that uses it, so a parameter change between two beats applies exactly to the second:
///   1 `sum_i`     = acc + bias, wrapping in int32 as the C code does (VWW's ±2^30 biases on
///                   near-limit accumulators wrap, and so must we).
///   2 `shifted_i` = sum << max(shift, 0), wrapping to int32 (C shifts in int32 too).
///   3 `prod_i`    = shifted × M, the full 64-bit product; `sat_i` flags INT32_MIN × INT32_MIN,
///                   the one case SaturatingRoundingDoublingHighMul saturates.
///   4 `prodp_i`   = a second product register so synthesis can use the DSP's M and P registers
///                   (a 32×32 product is four DSP48 slices in a cascade; ~4 DSPs per lane).
///   5 `high_i`    = (prod + 2^30) >> 31 (floor). gemmlowp adds a nudge of 2^30 or 1 - 2^30 and
///                   divides truncating towards zero; for every int64 product both reduce to this
///                   one floor (ab < 0: (ab + 1 - 2^30 + 2^31 - 1) >> 31 = (ab + 2^30) >> 31).
///   6 `biased_i`  = high + 2^(e-1) - [high < 0], e = max(-shift, 0) in 0...32: RoundingDivideByPOT's
///                   remainder/threshold test is "round half away from zero", which is this
///                   addition followed by an arithmetic shift (e = 0 adds nothing).
///   7 `scaled_i`  = (biased >> e) + zp, the zero point added wrapping in int32 like the C code.
///   8 `y_i`       = clamp to [min, max] (max wins when min > max, as in std::min(std::max(...))).
///
/// Shift is a 6-bit signed port (-32...31): QuantizeMultiplier only gives -31...30, and MEAN's
/// folded multiplier stays within -31 as well (see `PoolingUnit`). An optional `tag` of
/// `tagWidth` bits (channel index, last-beat flag, ...) travels with `valid`.
public struct Requantizer {
    public let pixels: Int
    public let dataWidth: Int
    public let accumulatorWidth: Int
    public let tagWidth: Int
    public let module: Module

    /// Cycles from a beat at the inputs to its result at the outputs.
    public static let latency = 8
    public var latency: Int { Self.latency }

    /// Width of the `shift` port.
    public static let shiftWidth = 6

    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    public init(config: AcceleratorConfig, pixels: Int, tagWidth: Int = 0) throws {
        try config.validate()
        guard (1...256).contains(pixels) else {
            throw Invalid(description: "Requantizer pixels \(pixels): must be 1 to 256")
        }
        guard (0...32).contains(tagWidth) else {
            throw Invalid(description: "Requantizer tagWidth \(tagWidth): must be 0 to 32")
        }
        self.pixels = pixels
        self.dataWidth = config.dataWidth
        self.accumulatorWidth = config.accumulatorWidth
        self.tagWidth = tagWidth
        let dw = config.dataWidth, aw = config.accumulatorWidth
        let name = "Requantizer_p\(pixels)_d\(dw)_a\(aw)" + (tagWidth > 0 ? "_t\(tagWidth)" : "")
        module = Module(name) { m in
            let valid = m.input("in_valid", .bool)
            let tag = tagWidth > 0 ? m.input("in_tag", .uint(tagWidth)) : nil
            let acc = (0 ..< pixels).map { m.input("acc_\($0)", .sint(aw)) }
            let bias = m.input("bias", .sint(aw))
            let multiplier = m.input("multiplier", .sint(32))
            let shift = m.input("shift", .sint(Requantizer.shiftWidth))
            let zeroPoint = m.input("zero_point", .sint(dw))
            let actMin = m.input("act_min", .sint(dw))
            let actMax = m.input("act_max", .sint(dw))

            let valids = RequantizerStages.delayLine(m, "valid", valid, stages: Requantizer.latency, reset: 0)
            m.output("out_valid", valids[Requantizer.latency])
            if let tag {
                let tags = RequantizerStages.delayLine(m, "tag", tag, stages: Requantizer.latency, reset: nil)
                m.output("out_tag", tags[Requantizer.latency])
            }

            // Parameters, each delayed to the stage that reads it (index k = value at stage k's input).
            let mults = RequantizerStages.delayLine(m, "mult", multiplier, stages: 2, reset: nil)
            let lefts = RequantizerStages.delayLine(m, "left", RequantizerStages.leftAmount(shift), stages: 1, reset: nil)
            let rights = RequantizerStages.delayLine(m, "right", RequantizerStages.rightAmount(shift), stages: 6, reset: nil)
            let zps = RequantizerStages.delayLine(m, "zp", zeroPoint, stages: 6, reset: nil)
            let mins = RequantizerStages.delayLine(m, "min", actMin, stages: 7, reset: nil)
            let maxs = RequantizerStages.delayLine(m, "max", actMax, stages: 7, reset: nil)

            for i in 0 ..< pixels {
                let sum = m.reg("sum_\(i)", next: (acc[i] &+ bias).resize(32))
                let shifted = m.reg("shifted_\(i)", next: (sum << lefts[1]).truncate(to: 32))
                let prod = m.reg("prod_\(i)", next: shifted * mults[2])
                let sat = m.reg("sat_\(i)", next: RequantizerStages.bothMin(shifted, mults[2]))
                let prodp = m.reg("prodp_\(i)", next: prod)
                let satp = m.reg("satp_\(i)", next: sat)
                let high = m.reg("high_\(i)", next: RequantizerStages.doublingHigh(prodp, saturate: satp))
                let biased = m.reg("biased_\(i)", next: RequantizerStages.roundingBias(high, exponent: rights[5]))
                let scaled = m.reg("scaled_\(i)", next: RequantizerStages.roundingShift(biased, exponent: rights[6]) &+ zps[6])
                m.output("y_\(i)", m.reg("y_\(i)_q", next: RequantizerStages.clamp(scaled, mins[7], maxs[7])))
            }
        }
    }
}

/// The pieces of TFLite's fixed-point arithmetic as combinational logic, shared by the
/// Requantizer, the residual adder and the pooling unit's MEAN path.
enum RequantizerStages {
    /// `stages + 1` signals: the input and its registered copies `<name>_s1 ... <name>_s<stages>`.
    static func delayLine(_ m: Module, _ name: String, _ x: Signal, stages: Int, reset: Int?) -> [Signal] {
        var out = [x]
        for k in 0 ..< stages {
            out.append(m.reg("\(name)_s\(k + 1)", next: out[k], reset: reset))
        }
        return out
    }

    /// max(shift, 0) as an unsigned 5-bit left-shift amount.
    static func leftAmount(_ shift: Signal) -> Signal {
        mux(shift > 0, shift.bits(4, 0), Signal.uint(0, width: 5))
    }

    /// max(-shift, 0) as an unsigned 6-bit right-shift exponent (0...32).
    static func rightAmount(_ shift: Signal) -> Signal {
        mux(shift < 0, (-shift).bits(5, 0), Signal.uint(0, width: 6))
    }

    /// a == b == INT32_MIN: the only product SaturatingRoundingDoublingHighMul saturates.
    static func bothMin(_ a: Signal, _ b: Signal) -> Signal {
        let min32 = Signal.sint(-(1 << 31), width: 32)
        return (a == min32) && (b == min32)
    }

    /// SaturatingRoundingDoublingHighMul from the 64-bit product: floor((ab + 2^30) / 2^31).
    static func doublingHigh(_ product: Signal, saturate: Signal) -> Signal {
        let rounded = (product.resize(64) &+ Signal.sint(1 << 30, width: 32)) >> 31
        return mux(saturate, Signal.sint(Int(Int32.max), width: 32), rounded.truncate(to: 32))
    }

    /// The addend that makes an arithmetic right shift by `exponent` round half away from zero:
    /// x + 2^(e-1) - [x < 0] for e >= 1, x for e = 0. Result: sint(34), no overflow for e <= 32.
    static func roundingBias(_ x: Signal, exponent e: Signal) -> Signal {
        let half = ((Signal.uint(1, width: 1) << e) >> 1).truncate(to: 33)
        let negative = (x < 0) && (e != 0)
        let correction = mux(negative, Signal.sint(1, width: 2), Signal.sint(0, width: 2))
        return ((x.resize(32) + half.toSigned) - correction).truncate(to: 34)
    }

    /// The arithmetic shift that completes RoundingDivideByPOT; the quotient fits int32.
    static func roundingShift(_ biased: Signal, exponent e: Signal) -> Signal {
        (biased >> e).truncate(to: 32)
    }

    /// std::min(std::max(v, lo), hi), then narrowed to the output width (the clamp guarantees fit
    /// whenever lo and hi do).
    static func clamp(_ v: Signal, _ lo: Signal, _ hi: Signal) -> Signal {
        let raised = mux(v < lo.resize(v.width), lo.resize(v.width), v)
        let lowered = mux(raised > hi.resize(v.width), hi.resize(v.width), raised)
        return lowered.truncate(to: hi.width)
    }
}
