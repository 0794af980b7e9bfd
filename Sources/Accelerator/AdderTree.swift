import HDLKit

/// The basic unit of the configurable adder tree (seed 003, section 3.3, Fig. 5).
///
/// Two pipelined subtrees, A over `a_0 ..< a_S` and B over `b_0 ..< b_S`, share one final level:
///   split (2-way 9-in):  y0 = A + ea,  y1 = B + eb   (two 9-input sums when S = 8)
///   !split (1-way 2S-in): y0 = A + B                  (one 16-input sum when S = 8)
/// so the same adders serve depthwise/standard (9 taps per channel, two channels per unit) and
/// pointwise (16 channels per pixel). The multiplexer of Fig. 5 is the one in front of the final
/// adder. Every level is registered; `ea`/`eb` travel alongside the subtrees in delay registers.
/// In 1-way mode `y1` is meaningless and the caller ignores it.
///
/// `split` selects a function of the layer, not of the cycle: it is not delayed, so it must be held
/// while sums are in flight (the engine's mode input carries the same rule).
public struct AdderTreeUnit: Sendable {
    /// Inputs per subtree (S): the paper's unit has S = 8.
    public let halfInputs: Int
    /// Width of every input.
    public let inputWidth: Int

    public init(halfInputs: Int, inputWidth: Int) {
        self.halfInputs = max(1, halfInputs)
        self.inputWidth = inputWidth
    }

    /// Registered adder levels inside each subtree.
    public var levels: Int { ceilLog2(halfInputs) }
    /// Cycles from the inputs to `y0`/`y1`: the subtree levels plus the final adder.
    public var latency: Int { levels + 1 }
    /// Wide enough that no sum of `2S` (or `S + 1`) inputs can overflow.
    public var outputWidth: Int { inputWidth + levels + 1 }

    public var name: String { "AdderTreeUnit_s\(halfInputs)_w\(inputWidth)" }

    public func module() -> Module {
        let s = halfInputs, w = inputWidth, depth = levels
        return Module(name) { m in
            let split = m.input("split", .bool)
            let a = (0 ..< s).map { m.input("a_\($0)", .sint(w)) }
            let b = (0 ..< s).map { m.input("b_\($0)", .sint(w)) }
            let ea = m.input("ea", .sint(w)), eb = m.input("eb", .sint(w))

            // One subtree: pairs are added and registered; an odd one out is registered as is
            // (widened), so every level has one width and one latency.
            func subtree(_ tag: String, _ inputs: [Signal]) -> Signal {
                var level = inputs
                for l in 1 ... max(depth, 1) where depth > 0 {
                    let width = w + l
                    level = stride(from: 0, to: level.count, by: 2).map { i in
                        let next = i + 1 < level.count ? level[i] + level[i + 1] : level[i].extend(to: width)
                        return m.reg("sum_\(tag)_l\(l)_\(i / 2)", next: next)
                    }
                }
                return level[0]
            }
            let sumA = subtree("a", a), sumB = subtree("b", b)
            var eaD = ea, ebD = eb
            for l in 0 ..< depth {
                eaD = m.reg("ea_d\(l + 1)", next: eaD)
                ebD = m.reg("eb_d\(l + 1)", next: ebD)
            }
            let y0 = m.reg("y0_q", next: sumA + mux(split, eaD.extend(to: sumB.width), sumB))
            let y1 = m.reg("y1_q", next: sumB + ebD.extend(to: sumB.width))
            m.output("y0", y0)
            m.output("y1", y1)
        }
    }
}

/// The configurable adder tree of one filter lane (seed 003, Fig. 6), generalised from PC = 16.
///
/// It sums the PK × PC products `p_<k>_<c>` of one filter lane in the way the mode asks:
///   standard / fully connected: lane 0 = Σ_k Σ_c p        (units 0 ..< H in 2-way 9-in mode give
///                                                            the PC channel sums, unit H adds them)
///   pointwise:                  lane k = Σ_c p_<k>_<c>    (units 0 ..< PK, 1-way PC-in)
///   depthwise:                  lane c = Σ_k p_<k>_<c>    (units 0 ..< H, 2-way 9-in, channel 2u
///                                                            on y0 and 2u+1 on y1 of unit u)
/// with H = ceil(PC/2) pair units and max(PK, H + 1) units in all: 9 for the paper's PC = 16, where
/// unit 8 is pixel 8 in pointwise and the channel adder in standard convolution.
/// Each unit's subtrees have S = max(PK - 1, ceil(PC/2)) inputs, enough for both of its modes.
///
/// Latency: `latency(.standard)` = 2 × unit latency (two units in series), the other modes one
/// unit latency. The lane outputs are multiplexers after the last registers (no further stage).
/// The mode is a per-layer setting and must be held while sums are in flight.
public struct AdderTree: Sendable {
    public let taps: Int
    public let channels: Int
    public let productWidth: Int

    public init(taps: Int, channels: Int, productWidth: Int) {
        self.taps = taps
        self.channels = channels
        self.productWidth = productWidth
    }

    public init(_ config: AcceleratorConfig) {
        self.init(taps: config.pk, channels: config.pc, productWidth: config.dataWidth + 1 + config.weightWidth)
    }

    /// Units in 2-way mode for depthwise and standard convolution (two channels each).
    public var pairUnits: Int { (channels + 1) / 2 }
    /// All basic units (9 for the paper's configuration).
    public var unitCount: Int { max(taps, pairUnits + 1) }
    /// Output lanes: PK pixels (pointwise) or PC channels (depthwise), whichever is more.
    public var lanes: Int { max(taps, channels) }

    var firstUnit: AdderTreeUnit { AdderTreeUnit(halfInputs: max(taps - 1, pairUnits), inputWidth: productWidth) }
    /// The channel adder reads channel sums, which are wider than products.
    var channelUnit: AdderTreeUnit { AdderTreeUnit(halfInputs: firstUnit.halfInputs, inputWidth: firstUnit.outputWidth) }

    /// Width of every lane output: a full standard-convolution sum.
    public var outputWidth: Int { channelUnit.outputWidth }
    /// Register levels of the whole tree (the "adder-tree depth" of the summary).
    public var depth: Int { 2 * firstUnit.latency }

    public func latency(_ mode: ConvolutionMode) -> Int {
        mode.usesChannelAdder ? 2 * firstUnit.latency : firstUnit.latency
    }

    public var name: String { "AdderTree_k\(taps)_c\(channels)_w\(productWidth)" }

    public func module() -> Module {
        let pk = taps, pc = channels, h = pairUnits, s = firstUnit.halfInputs
        let first = firstUnit.module(), last = channelUnit.module()
        let outW = outputWidth
        return Module(name) { m in
            let mode = m.input("mode", .uint(ConvolutionMode.width))
            let p = (0 ..< pk).map { k in (0 ..< pc).map { c in m.input("p_\(k)_\(c)", .sint(productWidth)) } }
            let isPointwise = m.wire("is_pointwise", mode == ConvolutionMode.pointwise.rawValue)
            let isDepthwise = m.wire("is_depthwise", mode == ConvolutionMode.depthwise.rawValue)
            let isStandard = m.wire("is_standard", !isPointwise && !isDepthwise)

            func product(_ k: Int, _ c: Int) -> Signal { k < pk && c < pc ? p[k][c] : .sint(0, width: productWidth) }

            var units: [Instance] = []
            for u in 0 ..< unitCount {
                let isChannelAdder = u == h
                let unit = m.instance(isChannelAdder ? last : first, "unit_\(u)")
                units.append(unit)
                let w = isChannelAdder ? channelUnit.inputWidth : productWidth
                let pairRole = u < h, pointwiseRole = u < pk
                // Input i of subtree A (B): in pair mode, tap i of channel 2u (2u + 1); in pointwise mode,
                // channel i (S + i) of pixel u; for the channel adder, channel sum i (S + i).
                for i in 0 ..< s {
                    for (side, offset, pairChannel) in [("a", 0, 2 * u), ("b", s, 2 * u + 1)] {
                        var v: Signal = .sint(0, width: w)
                        if pointwiseRole { v = product(u, offset + i).extend(to: w) }
                        if pairRole {
                            let tap = i < pk - 1 ? product(i, pairChannel) : .sint(0, width: productWidth)
                            v = pointwiseRole ? mux(isPointwise, v, tap.extend(to: w)) : tap.extend(to: w)
                        }
                        unit.port("\(side)_\(i)").assign(v)
                    }
                }
                unit.ea.assign(pairRole ? product(pk - 1, 2 * u).extend(to: w) : .sint(0, width: w))
                unit.eb.assign(pairRole ? product(pk - 1, 2 * u + 1).extend(to: w) : .sint(0, width: w))
                unit.split.assign(pairRole ? !isPointwise : .false)
            }
            // Channel sums of the pair units feed the channel adder in standard convolution.
            func channelSum(_ c: Int) -> Signal { c % 2 == 0 ? units[c / 2].y0 : units[c / 2].y1 }
            let adder = units[h]
            for i in 0 ..< s {
                for (side, offset) in [("a", 0), ("b", s)] {
                    let c = offset + i
                    guard c < pc else { continue }
                    let port = adder.port("\(side)_\(i)")
                    // Re-assigning overrides the pointwise assignment when the mode is standard.
                    m.when(isStandard) { port.assign(channelSum(c)) }
                }
            }
            for j in 0 ..< lanes {
                var v: Signal = .sint(0, width: outW)
                if j < pk { v = units[j].y0.extend(to: outW) }
                if j < pc {
                    let dw = channelSum(j).extend(to: outW)
                    v = j < pk ? mux(isDepthwise, dw, v) : dw
                }
                if j == 0 { v = mux(isStandard, adder.y0.extend(to: outW), v) }
                m.output("lane_\(j)", v)
            }
            // y1 of units that never work in 2-way mode carries nothing.
            for u in h ..< unitCount { m.discard(units[u].y1) }
            if pc % 2 == 1 { m.discard(units[h - 1].y1) }
        }
    }
}

/// ceil(log2(n)) for n ≥ 1.
func ceilLog2(_ n: Int) -> Int {
    var l = 0
    while (1 << l) < n { l += 1 }
    return l
}
