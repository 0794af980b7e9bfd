import HDLKit

/// The quantization unit of seed 003 (section 4, Fig. 10): turns the convolution engine's int32
/// accumulators into int8 activations, bit-exact with TFLite, at the engine's full rate of
/// `pixels` × `filters` results per cycle (PV × PF by default), with the bottleneck shortcut
/// fused behind it.
///
/// Datapath: one `Requantizer` per filter lane (its `pixels` lanes share that output channel's
/// parameters), then one `ResidualAdder` over all lanes. Fig. 10 folds the shortcut into the
/// unrounded product (eq. 11); TFLite rounds the convolution to int8 first and then runs ADD's own
/// arithmetic, so that is what happens here. Beats with `residual` low pass the requantized value
/// through unchanged; the latency is `latency` = Requantizer.latency + ResidualAdder.latency = 19
/// cycles either way, so `valid` and `tag` are delay-matched without knowing the mode. The
/// shortcut `shortcut_<p>_<f>` is presented in the same beat as `acc_<p>_<f>` and delayed inside.
/// Generated with `residual: false` there is no shortcut at all and the latency is 8.
///
/// Ports: in_valid, in_slice_last, [residual], [in_tag], acc_<p>_<f> (sint32),
/// [shortcut_<p>_<f>] (sint dw), zero_point, the FIFO load ports below, [res_* ADD parameters];
/// out_valid, [out_tag], y_<p>_<f> (sint dw, 0 while not valid), param_overflow.
/// Cost in Yosys synth_xilinx (xc7) per lane: Requantizer ~530 LUT + 4 DSP48E1, ResidualAdder
/// ~820 LUT + 8 DSP48E1 (two narrow input products of 2 DSPs, one 32-bit output product of 4).
///
/// The three FIFOs of Fig. 10 hold the per-channel parameters of one layer:
///   FIFO1 `bias`  (int32: q_b_f of eq. 6, i.e. TFLite's bias),
///   FIFO2 `bound` (activation bounds act_min/act_max in the output domain: TFLite fuses RELU and
///                  RELU6 as a clamp after requantization, which is what 6/(S_d·S_w) becomes when
///                  applied where TFLite applies it),
///   FIFO3 `mult`  (the fixed-point multiplier M and its shift).
/// Loading: pulse `param_clear`, then push the layer's channels in order 0, 1, 2, ... (each FIFO
/// has its own push strobe, so the three can be streamed from three sources or one); every FIFO
/// gets one entry per channel (bias 0 for a layer without a bias tensor). Channel c
/// lands in bank c % filters at slice c / filters: every FIFO is `filters` banks wide so a beat
/// reads all its filter lanes' parameters at once. Leave one idle cycle between the last push and
/// the first beat (the banks are synchronous-read).
/// Consuming: the head slice applies to every beat until a beat with `in_slice_last` high; the
/// head then moves to the next slice and wraps to slice 0 after the last one loaded (the bias
/// FIFO's fill decides how many that is). The entries are not destroyed by reading, so a mapper
/// that sweeps the channel slices once per pixel row (depthwise) and one that finishes a
/// slice's pixels before the next (pointwise) load the FIFOs once per layer all the same.
/// Lanes and the engine (`ConvolutionEngine`'s `sum_<f>_<j>`, once accumulated over channel
/// slices): pointwise/standard results sum_<f>_<v> go to acc_<v>_<f> (filter f is the channel);
/// depthwise results sum_<d>_<c> go to acc_<d>_<c> (window d is the pixel, channel c the filter
/// lane), so a depthwise slice is PC channels; when PC < filters the mapper pushes filters - PC
/// dummy entries after each slice's PC so that slices stay aligned with the banks.
/// `param_overflow` goes high (until the next clear) if any FIFO is pushed past `maxChannels`.
/// With `pixelSlices` S > 1 each FIFO is held S times and `pixel_slices` high gives pixel lane
/// p < S the parameters of slice head + p instead of the head's: a depthwise beat of S channel
/// slices (window group s on pixel lane s) then requantizes every slice with its own channels.
/// Pixel lanes p < S get a Requantizer of their own; the multipliers are the same in number.
///
/// Layer-wide values (`zero_point`, the `res_*` ADD parameters) are ports that travel with the
/// beats inside the Requantizer/ResidualAdder, so they may change between layers without a gap.
public struct QuantizationUnit {
    public let pixels: Int
    public let filters: Int
    public let maxChannels: Int
    public let tagWidth: Int
    public let dataWidth: Int
    /// Whether the fused shortcut (ResidualAdder) is built.
    public let residual: Bool
    /// Pixel lanes that can read their own parameter slice (`pixel_slices`).
    public let pixelSlices: Int
    /// Entries each FIFO takes per cycle (`pushWidth` P > 1: `<fifo>_push_count` and data ports
    /// `_<k>`, k < P, instead of `<fifo>_push` and one data port).
    public let pushWidth: Int
    public let module: Module

    public var lanes: Int { pixels * filters }
    /// Parameter slices each FIFO bank holds.
    public var depth: Int { (maxChannels + filters - 1) / filters }
    /// Cycles from a beat to its result: Requantizer.latency (+ ResidualAdder.latency with the shortcut).
    public var latency: Int { Requantizer.latency + (residual ? ResidualAdder.latency : 0) }

    /// The unit for every result shape of the engine: max(PV, PD) pixels × max(PF, PC) filters
    /// (PV × PF for the paper's configuration).
    public init(config: AcceleratorConfig, maxChannels: Int = 1024, tagWidth: Int = 0, residual: Bool = true) throws {
        try self.init(config: config, pixels: max(config.pv, config.pd), filters: max(config.pf, config.pc),
                      maxChannels: maxChannels, tagWidth: tagWidth, residual: residual)
    }

    /// `residual: false` leaves out the shortcut (its ports, the ADD datapath and its 11 cycles)
    /// for networks without ADD, such as MobileNet v1 or VWW: about 820 LUTs and 8 DSP48E1 fewer
    /// per lane in Yosys.
    public init(config: AcceleratorConfig, pixels: Int, filters: Int, maxChannels: Int = 1024, tagWidth: Int = 0,
                residual: Bool = true, pixelSlices: Int = 1, pushWidth: Int = 1) throws {
        try config.validate()
        guard (1...256).contains(pixels) else {
            throw Requantizer.Invalid(description: "QuantizationUnit pixels \(pixels): must be 1 to 256")
        }
        guard (1...256).contains(filters) else {
            throw Requantizer.Invalid(description: "QuantizationUnit filters \(filters): must be 1 to 256")
        }
        guard (1...65536).contains(maxChannels), maxChannels >= filters else {
            throw Requantizer.Invalid(description: "QuantizationUnit maxChannels \(maxChannels): must be \(filters) (filters) to 65536")
        }
        guard (0...31).contains(tagWidth) else {
            throw Requantizer.Invalid(description: "QuantizationUnit tagWidth \(tagWidth): must be 0 to 31")
        }
        guard (1...pixels).contains(pixelSlices) else {
            throw Requantizer.Invalid(description: "QuantizationUnit pixelSlices \(pixelSlices): must be 1 to \(pixels) (pixels)")
        }
        guard (1...filters).contains(pushWidth) else {
            throw Requantizer.Invalid(description: "QuantizationUnit pushWidth \(pushWidth): must be 1 to \(filters) (filters)")
        }
        self.pixels = pixels
        self.pixelSlices = pixelSlices
        self.pushWidth = pushWidth
        self.filters = filters
        self.maxChannels = maxChannels
        self.tagWidth = tagWidth
        self.dataWidth = config.dataWidth
        self.residual = residual
        let dw = config.dataWidth, aw = config.accumulatorWidth, sw = Requantizer.shiftWidth
        let depth = max((maxChannels + filters - 1) / filters, 2)
        // With the shortcut, each requantizer carries the residual flag (and the caller's tag) as its tag.
        let rqTagWidth = tagWidth + (residual ? 1 : 0)
        let requantizer = try Requantizer(config: config, pixels: pixels, tagWidth: rqTagWidth)
        // With pixel slices: one single-pixel Requantizer per sliced lane, one for the rest.
        let single = pixelSlices > 1 ? try Requantizer(config: config, pixels: 1, tagWidth: rqTagWidth) : nil
        let rest = pixelSlices > 1 && pixels > pixelSlices
            ? try Requantizer(config: config, pixels: pixels - pixelSlices, tagWidth: rqTagWidth) : nil
        let adder = residual ? try ResidualAdder(config: config, lanes: pixels * filters, tagWidth: tagWidth) : nil
        let name = "QuantizationUnit_p\(pixels)_f\(filters)_c\(maxChannels)_d\(dw)" + (tagWidth > 0 ? "_t\(tagWidth)" : "")
            + (residual ? "" : "_nores") + (pixelSlices > 1 ? "_s\(pixelSlices)" : "") + (pushWidth > 1 ? "_w\(pushWidth)" : "")
        module = Module(name) { m in
            let valid = m.input("in_valid", .bool)
            let sliceLast = m.input("in_slice_last", .bool)
            let residualFlag = residual ? m.input("residual", .bool) : nil
            let tag = tagWidth > 0 ? m.input("in_tag", .uint(tagWidth)) : nil
            var acc: [[Signal]] = [], shortcut: [[Signal]] = []
            for p in 0 ..< pixels {
                acc.append((0 ..< filters).map { f in m.input("acc_\(p)_\(f)", .sint(aw)) })
            }
            for p in 0 ..< pixels where residual {
                shortcut.append((0 ..< filters).map { f in m.input("shortcut_\(p)_\(f)", .sint(dw)) })
            }
            let zeroPoint = m.input("zero_point", .sint(dw))

            // MARK: the three parameter FIFOs
            let clear = m.input("param_clear", .bool)
            // Each FIFO's push: a strobe and one entry, or with pushWidth P a count and P entries.
            let wide = pushWidth > 1, countType = HWType.uint(addressWidth(pushWidth + 1))
            func push(_ fifo: String) -> Signal { wide ? m.input("\(fifo)_push_count", countType) : m.input("\(fifo)_push", .bool) }
            func data(_ name: String, _ type: HWType) -> [Signal] {
                wide ? (0 ..< pushWidth).map { m.input("\(name)_\($0)", type) } : [m.input(name, type)]
            }
            let biasPush = push("bias"), biasData = data("bias_data", .sint(aw))
            let boundPush = push("bound"), boundMin = data("bound_min", .sint(dw)), boundMax = data("bound_max", .sint(dw))
            let multPush = push("mult"), multMultiplier = data("mult_multiplier", .sint(32)), multShift = data("mult_shift", .sint(sw))

            let bankBits = addressWidth(filters), slotBits = addressWidth(depth), fillBits = addressWidth(depth + 1)
            let overflow = m.reg("param_overflow_q", .bool, reset: 0)
            m.output("param_overflow", overflow)
            m.when(clear) { overflow.assign(.false) }

            /// A FIFO's write side: bank and slot of the next push; returns per bank its write enable,
            /// slot address and which of the cycle's entries it takes, and the number of slices
            /// started so far.
            func writeSide(_ fifo: String, _ push: Signal) -> (enables: [Signal], slots: [Signal], picks: [Signal], fill: Signal) {
                let bank = m.reg("\(fifo)_wbank", .uint(bankBits), reset: 0)
                let slot = m.reg("\(fifo)_wslot", .uint(fillBits), reset: 0)
                if wide {
                    // Entries k < count go to banks bank + k (mod filters), those past the last bank
                    // into the next slot; a write to slot `depth` is an overflow and is dropped.
                    let sum = m.wire("\(fifo)_wsum", bank.extend(to: bankBits + 1) + push.resize(bankBits + 1))
                    let wraps = m.wire("\(fifo)_wwraps", sum >= filters)
                    let pushes = m.wire("\(fifo)_pushes", push != 0)
                    var enables = [Signal](), slots = [Signal](), picks = [Signal](), overflowing = [Signal]()
                    for f in 0 ..< filters {
                        // Unsigned and wrapping: f − bank where bank ≤ f, f + filters − bank where not (the
                        // last bank index the register can hold is never behind the bank).
                        let ahead = Signal.uint(f, width: bankBits + 1) &- bank.extend(to: bankBits + 1)
                        let pick: Signal, target: Signal
                        if f >= (1 << bankBits) - 1 {
                            pick = m.wire("\(fifo)_wpick_\(f)", ahead)
                            target = m.wire("\(fifo)_wslot_\(f)", slot)
                        } else {
                            let after = m.wire("\(fifo)_wafter_\(f)", bank <= f)
                            pick = m.wire("\(fifo)_wpick_\(f)", mux(after, ahead,
                                                                    (Signal.uint(f + filters, width: bankBits + 2) &- bank.extend(to: bankBits + 2)).truncate(to: bankBits + 1)))
                            target = m.wire("\(fifo)_wslot_\(f)", mux(after, slot, (slot + 1).truncate(to: fillBits)))
                        }
                        let takes = m.wire("\(fifo)_wtakes_\(f)", pick < push.resize(bankBits + 1))
                        let full = m.wire("\(fifo)_wfull_\(f)", target == depth)
                        overflowing.append(takes && full)
                        enables.append(m.wire("\(fifo)_we_\(f)", takes && !full && !clear))
                        slots.append(target.truncate(to: slotBits))
                        picks.append(pick)
                    }
                    let overflowNow = overflowing.dropFirst().reduce(overflowing[0]) { $0 || $1 }
                    m.when(clear) {
                        bank.assign(.uint(0, width: bankBits))
                        slot.assign(.uint(0, width: fillBits))
                    }.elsewhen(pushes) {
                        m.when(overflowNow) { overflow.assign(.true) }
                        bank.assign(mux(wraps, (sum &- filters).truncate(to: bankBits), sum.truncate(to: bankBits)))
                        m.when(wraps) { slot.assign((slot + 1).truncate(to: fillBits)) }
                    }
                    let fill = m.wire("\(fifo)_fill", mux(bank != 0, (slot + 1).truncate(to: fillBits), slot))
                    return (enables, slots, picks, fill)
                }
                let full = m.wire("\(fifo)_full", slot == depth)
                m.when(clear) {
                    bank.assign(.uint(0, width: bankBits))
                    slot.assign(.uint(0, width: fillBits))
                }.elsewhen(push && full) {
                    overflow.assign(.true)
                }.elsewhen(push) {
                    m.when(bank == filters - 1) {
                        bank.assign(.uint(0, width: bankBits))
                        slot.assign((slot + 1).truncate(to: fillBits))
                    }.otherwise {
                        bank.assign((bank + 1).truncate(to: bankBits))
                    }
                }
                let write = m.wire("\(fifo)_write", push && !full && !clear)
                let enables = (0 ..< filters).map { f in m.wire("\(fifo)_we_\(f)", write && bank == f) }
                let fill = m.wire("\(fifo)_fill", mux(bank != 0, (slot + 1).truncate(to: fillBits), slot))
                let at = slot.truncate(to: slotBits)
                return (enables, [Signal](repeating: at, count: filters), [], fill)
            }
            let biasW = writeSide("bias", biasPush)
            let boundW = writeSide("bound", boundPush)
            let multW = writeSide("mult", multPush)
            m.discard(m.wire("bound_fill_unused", boundW.fill))
            m.discard(m.wire("mult_fill_unused", multW.fill))

            // Read side: one head slot for all three FIFOs.
            let head = m.reg("head_slot", .uint(slotBits), reset: 0)
            let advance = m.wire("head_advance", valid && sliceLast)
            let wraps = m.wire("head_wraps", (head + 1) >= biasW.fill)
            let headNext = m.wire("head_next", mux(clear, Signal.uint(0, width: slotBits),
                                                    mux(advance, mux(wraps, Signal.uint(0, width: slotBits), (head + 1).truncate(to: slotBits)), head)))
            head.assign(headNext)

            // Per filter lane and parameter copy r (r < pixelSlices): copy r reads slot head + r
            // while `pixel_slices` is high, the head otherwise.
            let sliced = pixelSlices > 1 ? m.input("pixel_slices", .bool) : nil
            var bias: [[Signal]] = [], lo: [[Signal]] = [], hi: [[Signal]] = [], mult: [[Signal]] = [], shift: [[Signal]] = []
            for f in 0 ..< filters {
                func bank(_ fifo: String, _ type: HWType, _ w: (enables: [Signal], slots: [Signal], picks: [Signal], fill: Signal),
                          _ entries: [Signal]) -> [Signal] {
                    // The entry this bank takes: the only one, or the one its pick names.
                    let data = entries.count == 1 ? entries[0] : m.wire("\(fifo)_wdata_\(f)", select(w.picks[f], entries))
                    return (0 ..< pixelSlices).map { r in
                        let suffix = r == 0 ? "" : "_s\(r)"
                        let mem = m.memory("\(fifo)_bank_\(f)\(suffix)", depth: depth, type, style: .distributed)
                        mem.write(w.slots[f], data, enable: w.enables[f])
                        guard r > 0, let sliced else { return mem.read(headNext, name: "\(fifo)_head_\(f)") }
                        let at = m.wire("\(fifo)_at_\(f)_s\(r)", mux(sliced, (headNext + r).truncate(to: slotBits), headNext))
                        return mem.read(at, name: "\(fifo)_head_\(f)_s\(r)")
                    }
                }
                bias.append(bank("bias", .sint(aw), biasW, biasData))
                lo.append(bank("bound_min", .sint(dw), boundW, boundMin))
                hi.append(bank("bound_max", .sint(dw), boundW, boundMax))
                mult.append(bank("mult_m", .sint(32), multW, multMultiplier))
                shift.append(bank("mult_shift", .sint(sw), multW, multShift))
            }

            // MARK: requantization, one Requantizer per filter lane
            let rqTag: Signal? = switch (tag, residualFlag) {
            case let (t?, r?): cat(t, r)
            case let (t?, nil): t
            case let (nil, r?): r
            case (nil, nil): nil
            }
            var ys: [[Signal]] = Array(repeating: [], count: filters)
            var rqValid = Signal.false, rqTagOut: Signal? = nil
            for f in 0 ..< filters {
                // (instance, its pixel lanes, parameter copy)
                let units: [(Instance, Range<Int>, Int)] = if let single {
                    (0 ..< pixelSlices).map { p in (m.instance(single.module, "rq_\(f)_p\(p)"), p ..< p + 1, p) }
                        + (rest.map { [(m.instance($0.module, "rq_\(f)"), pixelSlices ..< pixels, 0)] } ?? [])
                } else {
                    [(m.instance(requantizer.module, "rq_\(f)"), 0 ..< pixels, 0)]
                }
                for (n, (u, lanes, r)) in units.enumerated() {
                    u.in_valid.assign(valid)
                    if let rqTag { u.in_tag.assign(rqTag) }
                    for (k, p) in lanes.enumerated() {
                        u.port("acc_\(k)").assign(acc[p][f])
                        ys[f].append(u.port("y_\(k)"))
                    }
                    u.bias.assign(bias[f][r])
                    u.multiplier.assign(mult[f][r])
                    u.shift.assign(shift[f][r])
                    u.zero_point.assign(zeroPoint)
                    u.act_min.assign(lo[f][r])
                    u.act_max.assign(hi[f][r])
                    if f == 0 && n == 0 {
                        rqValid = u.out_valid
                        if rqTagWidth > 0 { rqTagOut = u.out_tag }
                    } else {
                        // Every lane's valid and tag are identical; lane 0's stand for all.
                        m.discard(u.out_valid)
                        if rqTagWidth > 0 { m.discard(u.out_tag) }
                    }
                }
            }

            guard let adder, let rqTagOut else {
                for p in 0 ..< pixels {
                    for f in 0 ..< filters { m.output("y_\(p)_\(f)", ys[f][p]) }
                }
                m.output("out_valid", rqValid)
                if let rqTagOut { m.output("out_tag", rqTagOut) }
                return
            }

            // MARK: the fused shortcut (ADD)
            let ra = m.instance(adder.module, "residual_add")
            ra.in_valid.assign(rqValid)
            ra.add.assign(rqTagOut[0])
            if tagWidth > 0 { ra.in_tag.assign(rqTagOut.bits(tagWidth, 1)) }
            for name in ["y_offset", "y_multiplier", "y_shift", "s_offset", "s_multiplier", "s_shift",
                         "out_multiplier", "out_shift", "out_offset", "act_min", "act_max"] {
                let port = ra.port(name)
                port.assign(m.input("res_\(name)", port.type))
            }
            for p in 0 ..< pixels {
                for f in 0 ..< filters {
                    let lane = p * filters + f
                    let sDelayed = RequantizerStages.delayLine(m, "shortcut_\(p)_\(f)", shortcut[p][f],
                                                               stages: Requantizer.latency, reset: nil)[Requantizer.latency]
                    ra.port("y_\(lane)").assign(ys[f][p])
                    ra.port("s_\(lane)").assign(sDelayed)
                    m.output("y_\(p)_\(f)", ra.port("out_\(lane)"))
                }
            }
            m.output("out_valid", ra.out_valid)
            if tagWidth > 0 { m.output("out_tag", ra.out_tag) }
        }
    }
}
