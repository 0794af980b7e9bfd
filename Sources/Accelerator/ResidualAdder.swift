import HDLKit
import Reference

/// The shortcut of a bottleneck block, fused behind the requantizer so the shortcut never leaves
/// the chip: TFLite's int8 ADD (`reference/integer_ops/add.h`), bit-exact with
/// `AddParameters.add`:
///
///     x_k = (v_k + offset_k) << 20,  s_k = RoundingDivideByPOT(SRDHM(x_k, M_k), -shift_k)
///     out = clamp(RoundingDivideByPOT(SRDHM(s_1 + s_2, M_o), -shift_o) + out_offset, min, max)
///
/// Input 1 is the requantized convolution output `y`, input 2 the shortcut `s` read from
/// on-chip RAM-S; the mapper passes TFLite's two inputs in whichever order the graph has them
/// (the formula treats them alike). Seed 003 (eq. 11) adds the shortcut to the unrounded
/// product; that is not what TFLite computes, so the convolution output is rounded to int8 first.
///
/// Why the input multiplies are narrow: `x_k` is (v + offset) · 2^20 with |v + offset| <= 2^dataWidth,
/// so SRDHM(x_k, M) = floor((x_k·M + 2^30) / 2^31) = floor(((v + offset)·M + 2^10) / 2^11), exactly;
/// the products are (dataWidth+2)×32 bits and INT32_MIN can never reach the high multiply. The
/// output multiply sees s_1 + s_2 in full int32, with the saturation case kept.
///
/// Pipeline (`latency` = 11, one result per lane per cycle): 1 offsets, 2 input products,
/// 3 input high words, 4 rounding bias, 5 input shifts and their int32 sum (wrapping, like the C
/// code), 6 output product, 7 product register for the DSP, 8 high word, 9 rounding bias, 10 shift
/// plus output offset, 11 clamp. A beat with `add` low leaves `y` unchanged (layers without a
/// shortcut), delayed by the same latency so the unit's latency does not depend on the mode.
/// The layer parameters travel with the data like the Requantizer's.
public struct ResidualAdder {
    public let lanes: Int
    public let dataWidth: Int
    public let tagWidth: Int
    public let module: Module

    public static let latency = 11
    public var latency: Int { Self.latency }

    /// TFLite's fixed left shift of both inputs.
    public static let leftShift = AddParameters.leftShift

    public init(config: AcceleratorConfig, lanes: Int, tagWidth: Int = 0) throws {
        try config.validate()
        guard (1...4096).contains(lanes) else {
            throw Requantizer.Invalid(description: "ResidualAdder lanes \(lanes): must be 1 to 4096")
        }
        guard (0...32).contains(tagWidth) else {
            throw Requantizer.Invalid(description: "ResidualAdder tagWidth \(tagWidth): must be 0 to 32")
        }
        self.lanes = lanes
        self.dataWidth = config.dataWidth
        self.tagWidth = tagWidth
        let dw = config.dataWidth
        let name = "ResidualAdder_l\(lanes)_d\(dw)" + (tagWidth > 0 ? "_t\(tagWidth)" : "")
        let sw = Requantizer.shiftWidth
        let lowBits = 31 - ResidualAdder.leftShift  // 11: the bits of 2^20·(v+offset)·M below the high word
        module = Module(name) { m in
            let valid = m.input("in_valid", .bool)
            let add = m.input("add", .bool)
            let tag = tagWidth > 0 ? m.input("in_tag", .uint(tagWidth)) : nil
            let y = (0 ..< lanes).map { m.input("y_\($0)", .sint(dw)) }
            let s = (0 ..< lanes).map { m.input("s_\($0)", .sint(dw)) }
            let yOffset = m.input("y_offset", .sint(dw + 1))
            let yMultiplier = m.input("y_multiplier", .sint(32))
            let yShift = m.input("y_shift", .sint(sw))
            let sOffset = m.input("s_offset", .sint(dw + 1))
            let sMultiplier = m.input("s_multiplier", .sint(32))
            let sShift = m.input("s_shift", .sint(sw))
            let outMultiplier = m.input("out_multiplier", .sint(32))
            let outShift = m.input("out_shift", .sint(sw))
            let outOffset = m.input("out_offset", .sint(dw))
            let actMin = m.input("act_min", .sint(dw))
            let actMax = m.input("act_max", .sint(dw))

            let L = ResidualAdder.latency
            let valids = RequantizerStages.delayLine(m, "valid", valid, stages: L, reset: 0)
            m.output("out_valid", valids[L])
            if let tag {
                m.output("out_tag", RequantizerStages.delayLine(m, "tag", tag, stages: L, reset: nil)[L])
            }
            let adds = RequantizerStages.delayLine(m, "add", add, stages: L - 1, reset: nil)
            let yMults = RequantizerStages.delayLine(m, "ymult", yMultiplier, stages: 1, reset: nil)
            let sMults = RequantizerStages.delayLine(m, "smult", sMultiplier, stages: 1, reset: nil)
            let yRights = RequantizerStages.delayLine(m, "yright", RequantizerStages.rightAmount(yShift), stages: 4, reset: nil)
            let sRights = RequantizerStages.delayLine(m, "sright", RequantizerStages.rightAmount(sShift), stages: 4, reset: nil)
            let oMults = RequantizerStages.delayLine(m, "omult", outMultiplier, stages: 5, reset: nil)
            let oRights = RequantizerStages.delayLine(m, "oright", RequantizerStages.rightAmount(outShift), stages: 9, reset: nil)
            let oOffsets = RequantizerStages.delayLine(m, "ooff", outOffset, stages: 9, reset: nil)
            let mins = RequantizerStages.delayLine(m, "min", actMin, stages: 10, reset: nil)
            let maxs = RequantizerStages.delayLine(m, "max", actMax, stages: 10, reset: nil)

            for i in 0 ..< lanes {
                let yPass = RequantizerStages.delayLine(m, "ypass_\(i)", y[i], stages: L - 1, reset: nil)
                // Input 1 and input 2: offset, narrow product, high word, rounding, shift.
                func scaledInput(_ tag: String, _ v: Signal, _ offset: Signal, _ mult: Signal, _ rights: [Signal]) -> Signal {
                    let d = m.reg("\(tag)d_\(i)", next: v + offset)
                    let p = m.reg("\(tag)prod_\(i)", next: d * mult)
                    let h = m.reg("\(tag)high_\(i)", next: ((p + (1 << (lowBits - 1))) >> lowBits).resize(32))
                    let b = m.reg("\(tag)biased_\(i)", next: RequantizerStages.roundingBias(h, exponent: rights[3]))
                    return RequantizerStages.roundingShift(b, exponent: rights[4])
                }
                let sy = scaledInput("y", y[i], yOffset, yMults[1], yRights)
                let ss = scaledInput("s", s[i], sOffset, sMults[1], sRights)
                let sum = m.reg("rsum_\(i)", next: sy &+ ss)
                let prod = m.reg("oprod_\(i)", next: sum * oMults[5])
                let sat = m.reg("osat_\(i)", next: RequantizerStages.bothMin(sum, oMults[5]))
                let prodp = m.reg("oprodp_\(i)", next: prod)
                let satp = m.reg("osatp_\(i)", next: sat)
                let high = m.reg("ohigh_\(i)", next: RequantizerStages.doublingHigh(prodp, saturate: satp))
                let biased = m.reg("obiased_\(i)", next: RequantizerStages.roundingBias(high, exponent: oRights[8]))
                let scaled = m.reg("oscaled_\(i)", next: RequantizerStages.roundingShift(biased, exponent: oRights[9]) &+ oOffsets[9])
                let result = mux(adds[10], RequantizerStages.clamp(scaled, mins[10], maxs[10]), yPass[L - 1])
                m.output("out_\(i)", m.reg("out_\(i)_q", next: result))
            }
        }
    }
}
