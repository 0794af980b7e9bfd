import Foundation

/// The one configuration value of the accelerator. The command line fills it, `validate()` checks it
/// in one place, and every generator reads its parameters from it (never from constants of its own).
///
/// Parallelism follows seed 003 (section 3.2): the convolution engine has PK×PC×PF multipliers;
/// standard convolution uses PK kernel taps × PC input channels × PF filters, pointwise uses PV
/// pixels in place of the taps (so PV = PK), depthwise uses PK taps × PD windows × PC channels.
public struct AcceleratorConfig: Codable, Sendable, Equatable {
    /// Kernel taps computed in parallel (the reshape unit's window: 3×3 = 9).
    public var pk: Int = 9
    /// Pixels computed in parallel by pointwise convolution.
    public var pv: Int = 9
    /// Input channels in parallel.
    public var pc: Int = 16
    /// Filters (output channels) in parallel.
    public var pf: Int = 16
    /// Depthwise windows in parallel.
    public var pd: Int = 6
    /// Activation and weight widths (int8 in the numeric contract) and the accumulator width.
    public var dataWidth: Int = 8
    public var weightWidth: Int = 8
    public var accumulatorWidth: Int = 32
    /// Widest feature-map row the reshape unit's line buffers hold.
    public var maxRowWidth: Int = 224
    /// On-chip buffer depths, in words. An input-buffer word is PC activations, a weight-buffer word
    /// the PK×PC×PF weights of one engine cycle, an output-buffer word PF accumulators.
    /// Defaults hold a 56×56×64 int8 feature map, 64 engine loads of weights and 56×56 × PF sums.
    public var inputBufferDepth: Int = 12544
    public var weightBufferDepth: Int = 64
    public var outputBufferDepth: Int = 3136
    /// Target clock, for FPS figures and the timing constraint.
    public var clockMHz: Double = 150
    /// Two int8×int8 products per DSP48E1 (seed: DSP packing), halving DSPs for the same multipliers.
    public var dspPacking: Bool = false
    /// Bytes per beat of the AXI4-Stream data ports (docs/control.md). One feature-map position
    /// (up to PC or PF channels) travels per beat, so it must hold max(PC, PF) bytes.
    public var streamBytes: Int = 16
    /// The bottleneck memories of seed 003 section 3.4, in bytes: RAM-S holds a block's input (FM0)
    /// until its shortcut reads it again, RAM-M the expansion and depthwise results inside a block,
    /// so they never leave the chip. Both live in one banked on-chip memory (`OnChipMemory`) that
    /// the control records address at `onChipBase` (RAM-S) and `onChipBase + ramSBytes` (RAM-M);
    /// 0 and 0 build the accelerator without it.
    public var ramSBytes: Int = 256 * 1024
    public var ramMBytes: Int = 1024 * 1024

    /// Control-record address of RAM-S's byte 0: addresses from here to `onChipBase + onChipBytes`
    /// are on chip, everything below is external memory.
    public static let onChipBase: UInt32 = 0x8000_0000
    /// The most RAM-S (and RAM-M) one accelerator may have: 64 MiB each keeps the window below 2^32.
    public static let maxOnChipKiB = 65536
    /// RAM-S and RAM-M together.
    public var onChipBytes: Int { ramSBytes + ramMBytes }

    public init() {}

    /// The paper's configuration: PK=9, PV=9, PC=16, PF=16, PD=6, int8, 150 MHz.
    public static let paper = AcceleratorConfig()

    public var multipliers: Int { pk * pc * pf }

    /// PC-channel slices one beat carries into a folded pass (docs/control.md, mode 3): the largest
    /// divisor of PK's 9 taps whose slices fit a beat, so a position's taps come in whole beats
    /// (at B = 64 and PC = 16: 3 slices of 48 bytes per beat, 3 beats per position).
    /// Words of the execution unit's input buffer, one gathered folded engine beat (PK·PC bytes)
    /// each: `inputBufferDepth` PC-channel pixels, PK to a word.
    public var inputBufferWords: Int { max(2, inputBufferDepth / pk) }

    /// Channel slices a depthwise pass runs at once (S): one stream beat carries a pixel's S·PC
    /// channels, the reshape unit has S·PC lanes, and depthwise window group s < S of the engine
    /// takes slice s, so S of the PD groups do work instead of one. At most PD, B / PC and PV (the
    /// quantization unit's pixel lanes carry the slices). DSP packing shares one weight between two
    /// depthwise groups, which needs every group on the same slice, so it keeps S = 1.
    public var depthwiseSlices: Int { dspPacking ? 1 : max(1, min(pd, streamBytes / pc, pv)) }

    /// Filter groups a wide pointwise pass computes at once: the same pixel on pixel lanes
    /// v < S, lane v with the weights of filter group v, so one position leaves as S·PF
    /// contiguous output channels in one beat instead of PF. It rides on the depthwise slices'
    /// hardware (the quantization unit's per-lane parameter slices and the output path's slice
    /// packing, which places lane v's PC bytes at v·PC), so it needs PC = PF; 1 means no wide mode.
    /// At most half the PV lanes, so a slot keeps two lanes (K ≥ 2, below) wherever the beat holds
    /// two slices: six slots of one slice each take a 24- or 32-channel position in two passes
    /// where four slots of two take it in one (MobileNetV2 at B = 128, cycle model: 417.6k cycles
    /// with six slots, 378.8k with four).
    public var pointwiseSlices: Int { pc == pf ? min(depthwiseSlices, pk, max(1, min(pv, pk) / 2)) : 1 }

    /// Slots of a `singleSlice` wide pass (docs/control.md, word 0 bit 19): every window group the
    /// depthwise slices use, min(S_depthwise, PK), each taking one input slice (K = 1), so a
    /// position of at most PC channels leaves as that many filter groups at once (MobileNetV2's
    /// 112×112 16 → 96 expansion at B = 128: six groups, one pass instead of two). The mode exists
    /// where this is more than `pointwiseSlices`; otherwise it equals it.
    public var singleSliceSlots: Int { pc == pf ? max(pointwiseSlices, min(depthwiseSlices, pk)) : 1 }
    /// Whether the single-slice mode exists: it has more slots than the two-lane wide mode.
    public var hasSingleSliceSlots: Bool { singleSliceSlots > pointwiseSlices }
    /// The wide slots the hardware has, of either kind: the slot offsets it takes.
    public var wideSlots: Int { max(pointwiseSlices, singleSliceSlots) }

    /// Input-channel slices a wide pass takes per beat (K): slice q of the beat goes to pixel lanes
    /// q·S ..< (q + 1)·S, lane q·S + v holding filter group v's weights of that slice, and the
    /// engine's pixel-lane sums of a group are added, so K·S of the PV lanes work and a position's
    /// K·PC channels come in one beat. 1 without wide passes.
    public var pointwiseBeatSlices: Int {
        pointwiseSlices > 1 ? max(1, min(min(pv, pk) / pointwiseSlices, streamBytes / pc)) : 1
    }

    /// The slots of a wide pointwise pass and the input slices each takes per beat (S, K): the
    /// single-slice slots with K = 1, or the two-lane slots with K = `pointwiseBeatSlices`. The
    /// hardware, its model and the mapper all read the pair from here.
    public func wideSlotShape(singleSlice: Bool) -> (slots: Int, beatSlices: Int) {
        singleSlice ? (singleSliceSlots, 1) : (pointwiseSlices, pointwiseBeatSlices)
    }

    /// A wide pass's slot s (the pixel lanes q·S + s) may take its bytes from `slotOffset` units
    /// into the beat instead of byte 0, so one beat carries several positions of few channels, each
    /// computed on its own slots (docs/control.md, word 26). The unit is half a slice, so positions
    /// of PC / 2 channels pack too, and a slot chooses among ceil(B / unit) starting bytes.
    public var slotOffsetUnit: Int { max(1, pc / 2) }
    public var slotOffsetChoices: Int { (streamBytes + slotOffsetUnit - 1) / slotOffsetUnit }

    /// Quantization parameter records (16 bytes each) one stream beat carries into the quantization
    /// unit's FIFOs, which take that many entries per cycle: the largest power of two at most B / 16
    /// and the lanes, max(PC, PF) (4 at B = 64, so a wide pass's 64 records take 16 beats, not 64).
    public var parameterRecordsPerBeat: Int {
        let most = min(streamBytes / 16, max(pc, pf))
        var r = 1
        while r * 2 <= most { r *= 2 }
        return r
    }

    /// Tap lanes one beat of a folded pass fills (t, docs/control.md "conv folded"): as many
    /// PC-channel slices as the beat holds, at most the PK taps. Beat x of a position fills taps
    /// x·t ..< x·t + t, so a position of C channels takes ceil(C / t·PC) beats; the last may be
    /// partial (t = 8 at PC = 16, B = 128: 144 channels in two beats, 96 in one, where whole rows of
    /// three taps took three and two).
    public var foldTaps: Int { max(1, min(pk, pv, streamBytes / pc)) }

    /// Bits of a byte count 1 ... B (a command's or a record's chunk, a beat's bytes): 8 up to
    /// B = 128, so those configurations keep the 8-bit chunk ports they always had, 9 at B = 256.
    public var chunkWidth: Int { max(8, Int.bitWidth - streamBytes.leadingZeroBitCount) }

    public var inputBufferBits: Int { inputBufferDepth * pc * dataWidth }
    public var weightBufferBits: Int { weightBufferDepth * pk * pc * pf * weightWidth }
    public var outputBufferBits: Int { outputBufferDepth * pf * accumulatorWidth }
    /// Bits of on-chip buffering the configuration asks for (input + weight + output buffers).
    public var bufferBits: Int { inputBufferBits + weightBufferBits + outputBufferBits }

    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// Checks every rule and throws the first broken one, naming the knob and the rule.
    public func validate() throws {
        func rule(_ ok: Bool, _ message: @autoclosure () -> String) throws {
            if !ok { throw Invalid(description: message()) }
        }
        for (name, v) in [("pk", pk), ("pv", pv), ("pc", pc), ("pf", pf), ("pd", pd)] {
            try rule(v >= 1, "--\(name) \(v): must be at least 1")
        }
        try rule(pk == 9, "--pk \(pk): the reshape unit produces 3×3 windows, so PK must be 9 (larger kernels are split into 3×3 pieces by the mapper)")
        try rule(pv == pk, "--pv \(pv): pointwise convolution uses PV pixels on the PK tap lanes, so PV must equal PK (\(pk))")
        try rule(pc <= 64, "--pc \(pc): at most 64 input channels in parallel")
        try rule(pf <= 64, "--pf \(pf): at most 64 filters in parallel")
        try rule(pd <= pf, "--pd \(pd): depthwise windows run on filter lanes, so PD must not exceed PF (\(pf))")
        try rule((2...8).contains(dataWidth), "--data-width \(dataWidth): must be 2 to 8 bits")
        try rule((2...8).contains(weightWidth), "--weight-width \(weightWidth): must be 2 to 8 bits")
        try rule(accumulatorWidth == 32, "--acc-width \(accumulatorWidth): must be 32 to stay bit-exact with TFLite's int32 accumulation")
        try rule((3...4096).contains(maxRowWidth), "--max-row \(maxRowWidth): must be 3 to 4096 pixels")
        for (name, v) in [("input-buffer-depth", inputBufferDepth), ("weight-buffer-depth", weightBufferDepth),
                          ("output-buffer-depth", outputBufferDepth)] {
            try rule((1...(1 << 22)).contains(v), "--\(name) \(v): must be 1 to \(1 << 22) words")
        }
        try rule([16, 32, 64, 128, 256].contains(streamBytes), "--stream-bytes \(streamBytes): must be 16, 32, 64, 128 or 256")
        try rule(streamBytes >= max(pc, pf), "--stream-bytes \(streamBytes): a stream beat carries one position of PC or PF channels, so it must be at least max(PC, PF) = \(max(pc, pf))")
        for (flag, key, v) in [("ram-s-kib", "ramSBytes", ramSBytes), ("ram-m-kib", "ramMBytes", ramMBytes)] {
            // Named as the user gave it: whole KiB from elaborate's flag, a byte count from config.json.
            let given = v % 1024 == 0 ? "--\(flag) \(v / 1024)" : "\(key) \(v)"
            try rule(v >= 0 && v % 1024 == 0 && v <= Self.maxOnChipKiB * 1024, "\(given): must be 0 to \(Self.maxOnChipKiB) KiB (whole KiB)")
        }
        try rule(onChipBytes == 0 || onChipBytes >= 2 * streamBytes, "--ram-s-kib/--ram-m-kib: the on-chip memory needs at least two \(streamBytes)-byte words")
        try rule(clockMHz > 0 && clockMHz <= 1000, "--clock-mhz \(clockMHz): must be in (0, 1000]")
    }

    private enum CodingKeys: String, CodingKey {
        case pk, pv, pc, pf, pd, dataWidth, weightWidth, accumulatorWidth, maxRowWidth, inputBufferDepth, weightBufferDepth,
             outputBufferDepth, clockMHz, dspPacking, streamBytes, ramSBytes, ramMBytes
    }

    /// Reads config.json; a key that is absent (a file written before the knob existed) keeps its default.
    public init(from decoder: Decoder) throws {
        let k = try decoder.container(keyedBy: CodingKeys.self)
        func read<T: Decodable>(_ key: CodingKeys, _ value: inout T) throws { value = try k.decodeIfPresent(T.self, forKey: key) ?? value }
        try read(.pk, &pk); try read(.pv, &pv); try read(.pc, &pc); try read(.pf, &pf); try read(.pd, &pd)
        try read(.dataWidth, &dataWidth); try read(.weightWidth, &weightWidth); try read(.accumulatorWidth, &accumulatorWidth)
        try read(.maxRowWidth, &maxRowWidth); try read(.inputBufferDepth, &inputBufferDepth)
        try read(.weightBufferDepth, &weightBufferDepth); try read(.outputBufferDepth, &outputBufferDepth)
        try read(.clockMHz, &clockMHz); try read(.dspPacking, &dspPacking); try read(.streamBytes, &streamBytes)
        try read(.ramSBytes, &ramSBytes); try read(.ramMBytes, &ramMBytes)
    }

    /// `config.json` as written next to the RTL (sorted keys, so it is byte-stable).
    public func json() throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try e.encode(self), as: UTF8.self) + "\n"
    }

    public static func load(from url: URL) throws -> AcceleratorConfig {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw Invalid(description: "cannot read \(url.path): no such file") }
        let c: AcceleratorConfig
        do { c = try JSONDecoder().decode(AcceleratorConfig.self, from: data) }
        catch { throw Invalid(description: "\(url.path) is not an accelerator config.json") }
        // The rules name elaborate's knobs; the file is what the user has to look at.
        do { try c.validate() } catch let e as Invalid {
            throw Invalid(description: "\(url.path) holds a configuration elaborate refuses: \(e.description)")
        }
        return c
    }
}
