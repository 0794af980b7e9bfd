import HDLKit

/// What the convolution engine computes in a layer (seed 003, section 3.2, Fig. 4). The encoding is
/// the value of the engine's `mode` port.
public enum ConvolutionMode: Int, CaseIterable, Sendable {
    /// PK taps × PC channels × PF filters: lane 0 of filter f = Σ_k Σ_c w·(x - zp).
    case standard = 0
    /// PV pixels on the tap lanes × PC channels × PF filters: lane v of filter f = Σ_c.
    case pointwise = 1
    /// PD groups on filter lanes 0 ..< PD × PK taps × PC channels: lane c of filter lane d = Σ_k.
    case depthwise = 2
    /// Standard convolution's sum with the PK × PC lanes holding consecutive input elements.
    case fullyConnected = 3

    public static let width = 2

    /// Standard and fully-connected sums pass through the channel adder (the second tree stage).
    public var usesChannelAdder: Bool { self == .standard || self == .fullyConnected }
}

/// The convolution engine: PK × PC × PF signed multipliers feeding one configurable adder tree per
/// filter lane (seed 003, sections 3.2-3.3), with hardware-assisted pruning (section 5).
///
/// Ports (sampled every cycle). `in_zp` and `threshold` act only on the multiplier inputs, so they
/// may change from one input cycle to the next; `mode` also steers the adder tree and must be held
/// until the sums in flight have left (the mapper switches it between layers, after `maxLatency`
/// idle cycles):
///   valid, mode (ConvolutionMode), in_zp (sint dw), threshold (uint ww), activity_clear
///   x_<d>_<k>_<c>  activation of group d < PD, tap (or pixel) k < PK, channel c < PC
///   w_<f>_<k>_<c>  weight of filter lane f < PF
///   valid_out, sum_<f>_<j> (sint accumulatorWidth), activity (uint 48)
///
/// Data placement per mode (the reshape unit and weight buffer provide it):
///   standard / fully connected: x_0 holds the window (or PK·PC input elements), shared by all
///     filter lanes; w_f the filter's weights. Result: sum_<f>_0.
///   pointwise: x_0_<v>_<c> is pixel v; w_<f>_<v>_<c> the weight of filter f, channel c (the same
///     for every v). Result: sum_<f>_<v> for v < PV.
///   depthwise: group d (filter lane d < PD) is a separate window of the same PC channels,
///     x_<d>_<k>_<c>; w_<d>_<k>_<c> the channel's taps, which the weight buffer repeats in every
///     lane d (the packed engine relies on it). Result: sum_<d>_<c>; lanes f ≥ PD are idle, so the
///     engine is used PD/PF instead of 1/PF.
/// Output lanes a mode does not define carry don't-care values.
///
/// Zero point: each activation is x - in_zp (dw + 1 bits) before multiplying, as TFLite's
/// `acc += w * (x - in_zp)`. A padding tap must therefore be x = in_zp (it then contributes 0): the
/// reshape unit fills padding with in_zp, not with 0. Weights have zero point 0. Bias is not added
/// here: the engine emits partial sums over one PK × PC slice; accumulation over channel slices and
/// the bias belong to the output buffer / quantization unit.
///
/// Every product fits dw + ww bits signed (|w| ≤ 2^(ww-1), |x - zp| ≤ 2^dw - 1), the product width.
/// Pipeline: product registers `prod_<f>_<k>_<c>` (1 cycle), then the adder tree; `latency(mode)`
/// is the number of cycles from an input cycle to its `valid_out` cycle. With `dspPacking`, filter
/// lanes 2i and 2i+1 share one `PackedMultiplierPair` per (k, c) (shared activation; in depthwise
/// mode shared weight), so PK·PC·ceil(PF/2) DSPs hold all products. Same latency either way.
public struct ConvolutionEngine: Sendable {
    public let config: AcceleratorConfig

    public init(_ config: AcceleratorConfig) throws {
        try config.validate()
        self.config = config
    }

    public var multipliers: Int { config.multipliers }
    /// DSP slices the products need: one per multiplier, or one per pair with packing.
    public var dsps: Int { config.pk * config.pc * (config.dspPacking ? (config.pf + 1) / 2 : config.pf) }
    public var productWidth: Int { config.dataWidth + config.weightWidth }
    public var tree: AdderTree { AdderTree(taps: config.pk, channels: config.pc, productWidth: productWidth) }
    /// Output lanes per filter lane: max(PK, PC).
    public var lanes: Int { tree.lanes }

    public func latency(_ mode: ConvolutionMode) -> Int { 1 + tree.latency(mode) }
    public var maxLatency: Int { ConvolutionMode.allCases.map(latency).max() ?? 1 }

    public var name: String {
        let c = config
        return "ConvolutionEngine_k\(c.pk)_c\(c.pc)_f\(c.pf)_d\(c.pd)_x\(c.dataWidth)_w\(c.weightWidth)_a\(c.accumulatorWidth)"
            + (c.dspPacking ? "_packed" : "")
    }

    public func module() -> Module {
        let c = config, pk = c.pk, pc = c.pc, pf = c.pf, pd = c.pd
        let dw = c.dataWidth, ww = c.weightWidth, pw = productWidth
        let treeModule = tree.module(), pairModule = PackedMultiplierPair(c).module()
        let pair = PackedMultiplierPair(c)
        return Module(name) { m in
            let valid = m.input("valid", .bool)
            let mode = m.input("mode", .uint(ConvolutionMode.width))
            let zp = m.input("in_zp", .sint(dw))
            let threshold = m.input("threshold", .uint(ww))
            let clear = m.input("activity_clear", .bool)
            let x = (0 ..< pd).map { d in (0 ..< pk).map { k in (0 ..< pc).map { ch in m.input("x_\(d)_\(k)_\(ch)", .sint(dw)) } } }
            let w = (0 ..< pf).map { f in (0 ..< pk).map { k in (0 ..< pc).map { ch in m.input("w_\(f)_\(k)_\(ch)", .sint(ww)) } } }

            let isDepthwise = m.wire("is_depthwise", mode == ConvolutionMode.depthwise.rawValue)
            // x - in_zp once per activation, shared by every multiplier that reads it.
            let diff = (0 ..< pd).map { d in (0 ..< pk).map { k in (0 ..< pc).map { ch in
                m.wire("xd_\(d)_\(k)_\(ch)", x[d][k][ch] - zp) } } }
            let nonzero = (0 ..< pd).map { d in (0 ..< pk).map { k in (0 ..< pc).map { ch in
                m.wire("nz_\(d)_\(k)_\(ch)", diff[d][k][ch] != 0) } } }
            // The activation and its nonzero flag seen by filter lane f: its own group in depthwise mode.
            func activation(_ f: Int, _ k: Int, _ ch: Int) -> (Signal, Signal) {
                guard f > 0 && f < pd else { return (diff[0][k][ch], nonzero[0][k][ch]) }
                return (mux(isDepthwise, diff[f][k][ch], diff[0][k][ch]), mux(isDepthwise, nonzero[f][k][ch], nonzero[0][k][ch]))
            }
            // Lanes beyond PD have no depthwise group: they are switched off in that mode.
            let laneOn = (0 ..< pf).map { f in f < pd ? valid : m.wire("lane_on_\(f)", valid && !isDepthwise) }
            let enable = (0 ..< pf).map { f in (0 ..< pk).map { k in (0 ..< pc).map { ch in
                m.wire("en_\(f)_\(k)_\(ch)", laneOn[f] && Pruning.significant(w[f][k][ch], threshold: threshold) && activation(f, k, ch).1)
            } } }

            // Products: |w·(x - zp)| ≤ 2^(ww-1)·(2^dw - 1) < 2^(pw-1), so truncating to pw bits loses nothing.
            var prod = [[[Signal]]](repeating: [], count: pf)
            if c.dspPacking {
                prod = (0 ..< pf).map { _ in (0 ..< pk).map { _ in [Signal]() } }
                for f in stride(from: 0, to: pf, by: 2) {
                    for k in 0 ..< pk {
                        for ch in 0 ..< pc {
                            guard f + 1 < pf else {
                                prod[f][k].append(plainProduct(m, f, k, ch, w[f][k][ch], activation(f, k, ch).0, enable[f][k][ch], valid, pw))
                                continue
                            }
                            let u = m.instance(pairModule, "pair_\(f / 2)_\(k)_\(ch)")
                            u.ce.assign(valid)
                            u.en1.assign(enable[f][k][ch])
                            u.en2.assign(enable[f + 1][k][ch])
                            let (a0, _) = activation(f, k, ch), (a1, _) = activation(f + 1, k, ch)
                            let ow = pair.packedWidth
                            if f + 1 < pd {
                                // Depthwise: both lanes read the same channel taps (repeated by the weight
                                // buffer), so the weight is the shared operand and the two windows are packed.
                                u.s.assign(mux(isDepthwise, w[f][k][ch].extend(to: ow), a0.extend(to: ow)))
                                u.o1.assign(mux(isDepthwise, a0.extend(to: ow), w[f][k][ch].extend(to: ow)))
                                u.o2.assign(mux(isDepthwise, a1.extend(to: ow), w[f + 1][k][ch].extend(to: ow)))
                            } else {
                                u.s.assign(a0.extend(to: ow))
                                u.o1.assign(w[f][k][ch].extend(to: ow))
                                u.o2.assign(w[f + 1][k][ch].extend(to: ow))
                                // Lane f + 1 has no depthwise group (f + 1 ≥ PD): idle in that mode, so lane
                                // f's activation is the right shared operand in every mode.
                                _ = a1
                            }
                            prod[f][k].append(m.wire("prod_\(f)_\(k)_\(ch)", u.p1))
                            prod[f + 1][k].append(m.wire("prod_\(f + 1)_\(k)_\(ch)", u.p2))
                        }
                    }
                }
            } else {
                prod = (0 ..< pf).map { f in (0 ..< pk).map { k in (0 ..< pc).map { ch in
                    plainProduct(m, f, k, ch, w[f][k][ch], activation(f, k, ch).0, enable[f][k][ch], valid, pw)
                } } }
            }

            let trees = (0 ..< pf).map { f -> Instance in
                let t = m.instance(treeModule, "tree_\(f)")
                t.mode.assign(mode)
                for k in 0 ..< pk { for ch in 0 ..< pc { t.port("p_\(k)_\(ch)").assign(prod[f][k][ch]) } }
                return t
            }
            for f in 0 ..< pf {
                for j in 0 ..< lanes { m.output("sum_\(f)_\(j)", trees[f].port("lane_\(j)").extend(to: c.accumulatorWidth)) }
            }

            // valid travels beside the data; the channel adder adds a second tree stage.
            var v: [Signal] = [valid]
            for i in 1 ... maxLatency { v.append(m.reg("valid_d\(i)", next: v[i - 1], reset: 0)) }
            let short = latency(.pointwise), long = latency(.standard)
            let usesChannelAdder = m.wire("uses_channel_adder", mode == ConvolutionMode.standard.rawValue || mode == ConvolutionMode.fullyConnected.rawValue)
            m.output("valid_out", mux(usesChannelAdder, v[long], v[short]))

            m.output("activity", Pruning.activityCounter(in: m, enables: enable.map { $0.flatMap { $0 } }, clear: clear))
        }
    }

    /// One multiplier with its product register: loaded with w·a when enabled, with 0 when pruned,
    /// and held when no input is valid (the clock enable).
    private func plainProduct(_ m: Module, _ f: Int, _ k: Int, _ ch: Int, _ w: Signal, _ a: Signal, _ en: Signal, _ valid: Signal, _ pw: Int) -> Signal {
        let p = m.reg("prod_\(f)_\(k)_\(ch)", .sint(pw), enable: valid)
        m.when(en) { p.assign((w * a).truncate(to: pw)) }.otherwise { p.assign(.sint(0, width: pw)) }
        return p
    }
}
