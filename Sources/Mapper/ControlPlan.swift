import Accelerator
import Reference

/// The control records of a `Program` (docs/control.md): every layer instruction expanded into
/// passes over the engine (filter group × 3×3 piece × channel slice × row block), plus the constants
/// those passes read in the layouts the RTL streams (per-pass weight sets padded to whole beats,
/// per-group parameter blocks of `lanes` 16-byte records, all-ones sets for pooling), appended to the
/// program's memory image together with the encoded record stream.
///
/// Tensors the program routes to RAM-S or RAM-M are addressed in the on-chip window
/// (`AcceleratorConfig.onChipBase`, RAM-M after RAM-S), so the program's RAM-S and RAM-M must fit
/// the configuration's (`MapperOptions.device(config)`); `MapperOptions.externalOnly` keeps every
/// tensor external.
public struct ControlPlan: Sendable {
    /// One device layer (a `Program.LayerSpan`: the instructions of one TFLite layer, all its
    /// column tiles, or a row-band pair's bands) for the simulator's layer-by-layer check: after
    /// record `lastRecord`, the `length` bytes at `address` are the value of TFLite tensor
    /// `producedTensor`.
    public struct LayerCheck: Sendable, Equatable {
        /// The layer whose output is checked; `fusedLayers` ran in the same records before it.
        public var layer: Int
        public var fusedLayers: [Int]
        public var kind: Instruction.Kind
        public var macs: Int
        public var firstRecord: Int
        public var lastRecord: Int
        public var lastInstruction: Int
        public var address: UInt32
        public var length: Int
        public var producedTensor: Int
    }

    public let config: AcceleratorConfig
    public let records: [ControlRecord]
    /// The program's memory image with the plan's constants and the encoded records appended.
    public let memory: [UInt8]
    public let recordBase: UInt32
    /// The weight stream (WEIGHT_BASE, WEIGHT_BEATS): the sets the passes load, in record order, in
    /// beats of B bytes from this address on.
    public let weightStreamAddress: UInt32
    public let weightStreamBeats: Int
    public let inputAddress: UInt32
    public let inputLength: Int
    /// What the device produces for the host: the first tensor the schedule reads back (the softmax
    /// input when the host runs softmax, else the network output).
    public let deviceOutputAddress: UInt32
    public let deviceOutputLength: Int
    public let deviceOutputTensor: Int
    /// For each record, the index of the layer instruction it came from.
    public let recordInstruction: [Int]
    /// For each record, the TFLite tensor whose bytes it writes (part of), as `Program.producedTensors`.
    public var recordTensors: [Int] { recordInstruction.map { producedTensors[$0] } }
    private let producedTensors: [Int]
    public let checks: [LayerCheck]
    /// Bytes the plan appended to the program's image (constants and records).
    public let appendedBytes: Int

    /// The records as the RTL fetches them (`memory[recordBase ..< recordBase + 128·count]`).
    public func encodedRecords() throws -> [UInt8] { try ControlRecord.encodeStream(records) }

    /// Expands `program`'s instructions into records and places everything in memory.
    public init(program: Program) throws {
        var b = try PlanBuilder(program)
        let c = program.config, o = program.options
        for (name, used, has) in [("RAM-S", o.ramSBytes, c.ramSBytes), ("RAM-M", o.ramMBytes, c.ramMBytes)] where used > has {
            throw MapperError("the program was allocated a \(used)-byte \(name); the accelerator's has \(has) bytes (compile with MapperOptions.device(config))")
        }
        let instructions = program.instructions.map { Self.deviceAddressed($0, config: c) }
        for (n, i) in instructions.enumerated() {
            let before = b.records.count
            do { try b.lower(i) } catch let e as MapperError { throw e } catch { throw MapperError("\(b.here(i)): \(error)") }
            guard b.records.count > before else { throw MapperError("internal: \(b.here(i)) produced no control records") }
            b.recordInstruction += [Int](repeating: n, count: b.records.count - before)
        }
        var records = b.records
        for n in records.indices { records[n].sequence = n }
        // A conv pass whose set is the one the conv pass before it loaded, in the same mode (MEAN's
        // and a global pool's ones set, a layer's row blocks of one slice run), loads nothing: with
        // no weight beats it keeps the engine's set (docs/control.md, weights phase).
        var loaded: (address: UInt32, beats: Int, mode: ControlRecord.Mode, wide: Bool, singleSlice: Bool)?
        for n in records.indices where records[n].op == .conv {
            let r = records[n]
            if let l = loaded, l.address == r.weightAddress, l.beats == r.weightBeats, l.mode == r.mode, l.wide == r.wide, l.singleSlice == r.singleSlice {
                records[n].weightBeats = 0
            } else {
                loaded = (r.weightAddress, r.weightBeats, r.mode, r.wide, r.singleSlice)
            }
        }
        // The weight stream (docs/control.md, "Weight stream"): every set a pass loads, in record
        // order, so the RTL reads the weights as one sequential stream beside the data. A pass that
        // keeps the set before it points at that set.
        var weightStream = [UInt8](), streamOffset = [Int?](repeating: nil, count: records.count)
        var kept: Int?
        for n in records.indices where records[n].op == .conv {
            let r = records[n]
            if r.weightBeats == 0 { streamOffset[n] = kept; continue }
            guard Int(r.weightAddress) < b.engineSets.count, b.engineSets[Int(r.weightAddress)].count == r.weightBeats * c.streamBytes else {
                throw MapperError("internal: record \(n) names weight set \(r.weightAddress) of \(r.weightBeats) beats, which was not made")
            }
            kept = weightStream.count
            streamOffset[n] = kept
            weightStream += b.engineSets[Int(r.weightAddress)]
        }
        let weightBase = weightStream.isEmpty ? 0 : try b.append(weightStream, alignment: c.streamBytes)
        for n in records.indices where records[n].op == .conv {
            guard let offset = streamOffset[n] else { throw MapperError("internal: record \(n) keeps a weight set no pass before it loaded") }
            records[n].weightAddress = weightBase + UInt32(offset)
        }
        ResidualSpans.apply(&records, residualBase: b.recordInstruction.map { k in
            let i = instructions[k]
            return i.fusedAdd || i.kind == .add ? i.residualAddress : nil
        }, config: c)
        let stream: [UInt8]
        do { stream = try ControlRecord.encodeStream(records) } catch { throw MapperError("\(error)") }
        let base = try b.append(stream)

        var checks = [LayerCheck]()
        var first = 0
        for s in program.layerSpans {
            let last = b.recordInstruction.lastIndex(of: s.lastInstruction) ?? first
            let address = Self.deviceAddress(s.route, s.address, config: c)
            checks.append(LayerCheck(layer: s.layer, fusedLayers: Array(s.layers.dropLast()), kind: instructions[s.lastInstruction].kind, macs: s.macs,
                                     firstRecord: first, lastRecord: last, lastInstruction: s.lastInstruction, address: address, length: s.length,
                                     producedTensor: s.tensor))
            first = last + 1
        }

        guard let reads = program.dma.entries.last?.transfers.filter({ $0.direction == .toHost }), let out = reads.first else {
            throw MapperError("the schedule reads nothing back from the device")
        }
        self.config = program.config
        self.records = records
        self.memory = b.image
        self.recordBase = base
        self.inputAddress = program.inputAddress
        self.inputLength = program.inputLength
        self.deviceOutputAddress = out.address
        self.deviceOutputLength = out.length
        self.deviceOutputTensor = out.tensor
        self.recordInstruction = b.recordInstruction
        self.producedTensors = program.producedTensors
        self.checks = checks
        self.appendedBytes = b.image.count - program.memory.count
        self.weightStreamAddress = weightBase
        self.weightStreamBeats = weightStream.count / c.streamBytes
    }
}

extension ControlPlan {
    /// Where the records reach byte `a` of `route`.
    static func deviceAddress(_ route: Instruction.Route, _ a: UInt32, config: AcceleratorConfig) -> UInt32 {
        switch route {
        case .external: return a
        case .ramS: return AcceleratorConfig.onChipBase + a
        case .ramM: return AcceleratorConfig.onChipBase + UInt32(config.ramSBytes) + a
        }
    }

    /// `i` with its RAM-S and RAM-M tensors at their control-record addresses in the on-chip window
    /// (docs/control.md, "On-chip memory"), every route external: the records then reach on-chip
    /// and external tensors alike by address.
    static func deviceAddressed(_ i: Instruction, config: AcceleratorConfig) -> Instruction {
        func address(_ route: Instruction.Route, _ a: UInt32) -> UInt32 { deviceAddress(route, a, config: config) }
        var j = i
        j.inputAddress = address(i.inputRoute, i.inputAddress)
        j.outputAddress = address(i.outputRoute, i.outputAddress)
        j.residualAddress = address(i.residualRoute, i.residualAddress)
        j.inputRoute = .external; j.outputRoute = .external; j.residualRoute = .external
        return j
    }

    /// Bytes of a folded pass's weight set that matter: the standard layout's taps up to the last
    /// data byte of `beats` beats of `inChunk` bytes (t·PC-byte beats), PF bytes per tap channel.
    /// The set's later taps meet fill, which adds 0, so a pass loads only these (whole beats), at
    /// most the set's 9 taps (a last beat may reach past them). `taps`: the tap lanes a beat fills
    /// (`foldTaps`, or 1 on a one-tap pass).
    public static func foldedWeightBytes(beats: Int, inChunk: Int, taps: Int, config: AcceleratorConfig) -> Int {
        min((beats - 1) * taps * config.pc + inChunk, 9 * config.pc) * config.pf
    }

    /// The channel chunks of a folded pass: PK·PC channels, the last one what is left. A chunk is
    /// ceil(chunk / t·PC) beats of t·PC bytes, so where it does not fill its last beat that beat
    /// reads past it (the next chunk's channels, the next position's or, at a tensor's end, the
    /// allocation's slack): those bytes meet tap lanes that do not exist or weights that are zero.
    public static func foldChunks(channels c: Int, config: AcceleratorConfig) -> [(first: Int, count: Int)] {
        let most = config.pk * config.pc
        return stride(from: 0, to: c, by: most).map { ($0, min(most, c - $0)) }
    }

    /// The (multiplier, shift) for which `FixedPoint.requantize(Σ, M, shift, 0, ...)` is TFLite's
    /// rounded average Σ / count for every Σ of `count` int8 values; nil when none exists.
    public static func averageMultiplier(count: Int) -> (multiplier: Int32, shift: Int)? {
        func exact(_ m: Int32, _ shift: Int) -> Bool {
            let n = Int32(count)
            for sum in (-128 * n) ... (127 * n) {
                let want = sum > 0 ? (sum + n / 2) / n : (sum - n / 2) / n
                if FixedPoint.multiplyByQuantizedMultiplier(sum, m, shift) != want { return false }
            }
            return true
        }
        for shift in stride(from: 1, through: -31, by: -1) {
            let ideal = Double(UInt64(1) << 31) * pow2(-shift) / Double(count)
            for delta in [0.0, 1, -1, 2, -2] {
                let m = ideal.rounded(.up) + delta
                guard m >= 1, m < Double(Int32.max) else { continue }
                if exact(Int32(m), shift) { return (Int32(m), shift) }
            }
        }
        return nil
    }

    private static func pow2(_ e: Int) -> Double { e >= 0 ? Double(UInt64(1) << UInt64(e)) : 1 / Double(UInt64(1) << UInt64(-e)) }
}

extension MapperOptions {
    /// Options for the control records of `config`'s accelerator: RAM-S and RAM-M as large as its
    /// on-chip memory has them (seed 003 section 3.4's bottleneck flow).
    public static func device(_ config: AcceleratorConfig) -> MapperOptions {
        var o = MapperOptions()
        o.ramSBytes = config.ramSBytes
        o.ramMBytes = config.ramMBytes
        return o
    }

    /// Options for the control records: every tensor in external memory (no RAM-S / RAM-M routes).
    public static var externalOnly: MapperOptions {
        var o = MapperOptions()
        o.ramSBytes = 0
        o.ramMBytes = 0
        return o
    }
}

/// Builds the records of one program, instruction by instruction.
private struct PlanBuilder {
    let program: Program
    let config: AcceleratorConfig
    let beat: Int
    let lanes: Int
    /// Output positions one pass may accumulate (the accumulator's depth).
    let depth: Int
    var image: [UInt8]
    var records: [ControlRecord] = []
    var recordInstruction: [Int] = []
    private var setCache: [[UInt8]: UInt32] = [:]
    /// The engine's weight sets, each once, padded to whole beats. Until `ControlPlan.init` lays
    /// out the weight stream, a record's `weightAddress` is its set's index here.
    private(set) var engineSets: [[UInt8]] = []
    private var engineSetIndex: [[UInt8]: Int] = [:]
    /// Per layer, the space-to-depth image and weights its first column tile made.
    private var spaceToDepthMade: [Int: (image: UInt32, weights: UInt32)] = [:]

    init(_ program: Program) throws {
        self.program = program
        config = program.config
        beat = config.streamBytes
        lanes = max(config.pc, config.pf)
        depth = config.outputBufferDepth
        image = program.memory
        guard config.streamBytes >= lanes else { throw MapperError("configuration: stream beat \(beat) bytes is narrower than \(lanes) lanes") }
    }

    /// "layer N (OPNAME)", the TFLite operator the instruction computes.
    func here(_ i: Instruction) -> String {
        let names: [Instruction.Kind: String] = [.convolution: "CONV_2D", .pointwise: "CONV_2D", .depthwise: "DEPTHWISE_CONV_2D", .fullyConnected: "FULLY_CONNECTED",
                                                 .averagePool: "AVERAGE_POOL_2D", .mean: "MEAN", .add: "ADD", .transpose: "TRANSPOSE", .pad: "PAD"]
        return "layer \(i.layer) (\(names[i.kind] ?? "\(i.kind)"))"
    }

    // MARK: - Memory

    /// Appends `data` at the next address aligned to `alignment` (default: the beat and the
    /// program's DMA alignment, whichever is larger).
    mutating func append(_ data: [UInt8], alignment: Int? = nil) throws -> UInt32 {
        let a = alignment ?? max(beat, program.options.alignment)
        let at = (image.count + a - 1) / a * a
        guard at + data.count <= Int(UInt32.max) else { throw MapperError("memory image with control constants exceeds the 32-bit address space") }
        image += [UInt8](repeating: 0, count: at - image.count)
        image += data
        return UInt32(at)
    }

    func read(_ address: UInt32, _ count: Int) throws -> [UInt8] {
        let a = Int(address)
        guard a + count <= image.count else { throw MapperError("internal: constants [\(a), \(a + count)) outside the \(image.count)-byte image") }
        return Array(image[a ..< a + count])
    }

    /// An input read that runs past its tensor (the bytes there meet zero weights) must still stay
    /// in the memory the tensor lives in: the memory image, or the on-chip RAM-S and RAM-M.
    func readable(_ i: Instruction, upTo end: Int, _ what: String) throws {
        let onChip = DeviceMemory.isOnChip(i.inputAddress)
        let limit = onChip ? DeviceMemory.onChipBase + config.onChipBytes : image.count
        guard end <= limit else {
            throw MapperError("\(here(i)): \(what) reads up to address \(end), past the \(onChip ? "\(config.onChipBytes)-byte on-chip memory" : "\(image.count)-byte memory image")")
        }
        // On chip, a read waits for the earlier writes whose bytes it overlaps (OnChipMemory), so one
        // that strays into its own pass's output would wait for itself.
        let out = Int(i.outputAddress)
        guard !(onChip && DeviceMemory.isOnChip(i.outputAddress) && out >= Int(i.inputAddress) && out < end) else {
            throw MapperError("\(here(i)): \(what) reads up to address \(end), into the layer's own on-chip output at \(out)")
        }
    }

    /// An engine weight set padded to whole beats, as its index in `engineSets` (identical sets,
    /// as row blocks and ones sets have, share one): the stream that holds it is laid out once
    /// every record is known.
    mutating func weightSet(_ bytes: [UInt8]) throws -> (address: UInt32, beats: Int) {
        let (padded, beats) = wholeBeats(bytes)
        if let n = engineSetIndex[padded] { return (UInt32(n), beats) }
        engineSets.append(padded)
        engineSetIndex[padded] = engineSets.count - 1
        return (UInt32(engineSets.count - 1), beats)
    }

    /// `bytes` padded with zeros to whole beats, and the beats.
    func wholeBeats(_ bytes: [UInt8]) -> (bytes: [UInt8], beats: Int) {
        let beats = (bytes.count + beat - 1) / beat
        return (bytes + [UInt8](repeating: 0, count: beats * beat - bytes.count), beats)
    }

    /// Constants read as whole beats (parameter blocks), each distinct block stored once.
    mutating func constantBlock(_ bytes: [UInt8]) throws -> UInt32 {
        let (padded, _) = wholeBeats(bytes)
        if let a = setCache[padded] { return a }
        // Whole beats at beat-aligned addresses: a set is read as `beats` full beats.
        let a = try append(padded, alignment: beat)
        setCache[padded] = a
        return a
    }

    /// A group's parameter block: `lanes` records of 16 bytes (bias, multiplier, shift, 0).
    mutating func parameterBlock(_ lanesValues: [(bias: Int32, multiplier: Int32, shift: Int32)]) throws -> UInt32 {
        try parameterBlock(slices: [lanesValues])
    }

    /// A depthwise pass of several slices loads one block of `lanes` records per slice.
    mutating func parameterBlock(slices: [[(bias: Int32, multiplier: Int32, shift: Int32)]]) throws -> UInt32 {
        var out = [UInt8]()
        for slice in slices {
            for j in 0 ..< lanes {
                let v: (bias: Int32, multiplier: Int32, shift: Int32) = j < slice.count ? slice[j] : (0, 0, 0)
                for w in [v.bias, v.multiplier, v.shift, 0] { out += littleEndian(UInt32(bitPattern: w)) }
            }
        }
        return try constantBlock(out)
    }

    /// The instruction's 12-byte quantization records of channels [from, from + count), zero past `channels`.
    func instructionParameters(_ i: Instruction, from: Int, count: Int, channels: Int) throws -> [(bias: Int32, multiplier: Int32, shift: Int32)] {
        try (0 ..< count).map { j in
            let ch = from + j
            guard ch < channels else { return (0, 0, 0) }
            let r = try read(i.parameterAddress + UInt32(12 * ch), 12)
            func w(_ o: Int) -> Int32 { Int32(bitPattern: UInt32(r[o]) | UInt32(r[o + 1]) << 8 | UInt32(r[o + 2]) << 16 | UInt32(r[o + 3]) << 24) }
            return (w(0), w(4), w(8))
        }
    }

    // MARK: - Records

    /// A record with the fields every pass of `i` shares.
    func base(_ i: Instruction, _ op: ControlRecord.Op, _ mode: ControlRecord.Mode = .standard) -> ControlRecord {
        var r = ControlRecord()
        r.op = op; r.mode = mode; r.layer = i.layer
        r.activationMin = i.activationMin; r.activationMax = i.activationMax
        r.pruningThreshold = i.pruningThreshold
        return r
    }

    /// Appends one group's passes: the first starts the sums and loads the parameters, the last
    /// writes (and adds the residual).
    mutating func group(_ passes: [ControlRecord], parameters: UInt32?, residual: (address: UInt32, add: Instruction.AddFields, second: Bool)?,
                        parameterSlices: Int = 1) {
        for (k, var r) in passes.enumerated() {
            r.first = k == 0
            r.last = k == passes.count - 1
            if let p = parameters, k == 0 { r.loadParams = true; r.parameterAddress = p; r.paramRecords = lanes * parameterSlices }
            if let res = residual, r.last {
                r.residual = true; r.residualAddress = res.address; r.add = res.add; r.resultIsSecond = res.second
            }
            records.append(r)
        }
    }

    mutating func lower(_ i: Instruction) throws {
        guard i.inputRoute == .external, i.outputRoute == .external, !i.fusedAdd || i.residualRoute == .external else {
            throw MapperError("internal: \(here(i)) still routes a tensor to RAM-S or RAM-M instead of an on-chip address")
        }
        switch i.kind {
        case .convolution: try standard(i)
        case .depthwise:
            if i.depthMultiplier == 1 { try depthwise(i) } else { try standard(i) }
        case .pointwise: try pointwise(i)
        case .fullyConnected: try fullyConnected(i)
        case .mean: try mean(i)
        case .averagePool: try averagePool(i)
        case .add: try add(i)
        case .transpose: try transpose(i)
        case .pad: try pad(i)
        }
    }

    // MARK: - Windows

    /// One axis of a pass's region: `count` windows of 3 taps, the first starting at image
    /// coordinate `start`, `stride` apart, in an image of `size`. The reshape unit's pad (0/1)
    /// replaces a single missing row/column at either end; anything further out is fill.
    static func axis(start: Int, count: Int, stride: Int, size: Int) -> (origin: Int, length: Int, before: Int, after: Int) {
        var origin = start, length = (count - 1) * stride + 3, before = 0, after = 0
        if start == -1 { origin = 0; length -= 1; before = 1 }
        if start + (count - 1) * stride + 3 == size + 1, length > 1 { length -= 1; after = 1 }
        return (origin, length, before, after)
    }

    /// Blocks of output positions, each a rectangle whose positions fit the accumulator and whose
    /// region columns fit the line buffer: (row0, rows, col0, cols).
    func windowBlocks(rows: Int, col0: Int, cols: Int, strideH: Int, strideW: Int, perRow: Bool) -> [(Int, Int, Int, Int)] {
        let maxCols = min(max(1, (config.maxRowWidth - 3) / strideW + 1), depth)
        var out = [(Int, Int, Int, Int)]()
        for c in stride(from: col0, to: col0 + cols, by: maxCols) {
            let nc = min(maxCols, col0 + cols - c)
            let nr = perRow ? 1 : max(1, min(depth / nc, (4096 - 3) / strideH + 1))
            for r in stride(from: 0, to: rows, by: nr) { out.append((r, min(nr, rows - r), c, nc)) }
        }
        return out
    }

    /// A windowed pass's region and reshape settings for output block (oy0, nr, ox0, nc) of a piece
    /// whose first window starts at image (y0, x0).
    func windowed(_ r: inout ControlRecord, y0: Int, x0: Int, nr: Int, nc: Int, stride s: Int, imageRows: Int, imageCols: Int) {
        let v = PlanBuilder.axis(start: y0, count: nr, stride: s, size: imageRows)
        let h = PlanBuilder.axis(start: x0, count: nc, stride: s, size: imageCols)
        r.regionRow0 = v.origin; r.regionRows = v.length; r.padTop = v.before; r.padBottom = v.after
        r.regionCol0 = h.origin; r.regionCols = h.length; r.padLeft = h.before; r.padRight = h.after
        r.imageRows = imageRows; r.imageCols = imageCols
        r.stride2 = s == 2
        r.outputRows = nr; r.outputCols = nc
    }

    /// The reshape unit has one stride for both axes; an axis with a single window has none.
    /// Different strides are run one output row per pass.
    func windowStride(_ i: Instruction, rows: Int, cols: Int) throws -> (stride: Int, perRow: Bool) {
        let sW = cols > 1 ? i.strideW : nil, sH = rows > 1 ? i.strideH : nil
        let s = sW ?? sH ?? 1
        guard s <= 2 else { throw MapperError("\(here(i)): stride \(i.strideH)x\(i.strideW) does not decompose into the reshape unit's 3×3 windows (strides 1 and 2)") }
        return (s, sH != nil && sH != s)
    }

    // MARK: - Convolutions

    /// Standard convolution (and depthwise with multiplier > 1 as block-diagonal standard weights):
    /// per block, filter group: pieces × channel slices.
    mutating func standard(_ i: Instruction) throws {
        if try spaceToDepth(i) { return }
        // A kernel other than 3×3 can also run as a pointwise layer over its im2col image (built by
        // taps or by kernel rows); the cycle model picks. Windows that do not fit the buffers leave
        // the choice to the others, and where nothing else applies their error is the layer's.
        if try fastest([{ (try? $0.standardWindows(i)) != nil },
                        { (try? $0.splitWindows(i)) ?? false },
                        { try $0.convolutionAsPointwise(i, tapRows: false) },
                        { try $0.convolutionAsPointwise(i, tapRows: true) }]) { return }
        try standardWindows(i)
    }

    /// A convolution as a pointwise layer over its im2col image (seed 003's "fold kernel taps into
    /// the channel dimension"): position (oy, ox) of the image holds the window's KH·KW·C inputs in
    /// TFLite's weight order (ky, kx, c), so the weights are the layer's own [O][KH·KW·C] and the
    /// pointwise lowering (wide, folded or PV passes) runs it. The image is built by one copy pass
    /// per tap, C bytes a beat, taps outside the input being fill beats of the input zero point (which
    /// add nothing, as TFLite's padding). For kernels that are not 3×3 (KWS's 10×4 stride-2 first
    /// layer: 40 copy passes of 125 beats and one pointwise layer of 40 channels instead of 8 3×3
    /// pieces streaming 1-byte pixels), on whole-width instructions of one batch
    /// whose pixels fit a beat, and only where the image is small (OH·OW·KH·KW·C ≤ 1 MB).
    ///
    /// With `tapRows`, where a kernel row's KW·C inputs fit a beat, one copy pass per kernel row
    /// moves them as one beat (they are contiguous in NHWC), so KWS's image takes 10 passes of 125
    /// four-byte beats instead of 40 of one byte. Rows above or below the input are fill beats as
    /// before; columns left or right of it cannot be part of a beat, so a layer with horizontal
    /// padding first copies its input into a wider image whose padding columns are the input zero
    /// point in the memory image (never written, so they stay for every run), one beat per input
    /// row where a row fits a beat.
    mutating func convolutionAsPointwise(_ i: Instruction, tapRows: Bool) throws -> Bool {
        let c = i.inputChannels, kh = i.kernelHeight, kw = i.kernelWidth, oh = i.outputHeight, ow = i.outputWidth
        let taps = kh * kw, t = taps * c
        guard i.kind == .convolution || i.kind == .depthwise, taps > 1, !(kh == 3 && kw == 3), c <= min(beat, 128),
              i.tileOutColumn == 0, i.tileOutColumns == ow, i.batches == 1, oh * ow * t <= 1 << 20
        else { return false }
        let pc = config.pc, pf = config.pf, h = i.inputHeight, w = i.inputWidth
        guard !tapRows || kw * c <= beat else { return false }
        let scratch = try append([UInt8](repeating: 0, count: oh * ow * t))
        // The first output row/column whose input is inside, and how many are.
        func inside(_ k: Int, _ pad: Int, _ stride: Int, _ size: Int, _ outputs: Int) -> (first: Int, count: Int) {
            guard size - 1 + pad - k >= 0 else { return (0, 0) }
            let first = max(0, (pad - k + stride - 1) / stride)
            let last = min(outputs - 1, (size - 1 + pad - k) / stride)
            return (first, max(0, last - first + 1))
        }
        var template = base(i, .copy)
        template.inChunk = c; template.outChunk = c; template.fillValue = i.inputZeroPoint
        if tapRows {
            // The input, or its horizontally padded copy: `source` holds `sw` pixels a row, input
            // column x at column x + padLeft (x when nothing pads), so output column ox reads
            // columns ox·sW ..< ox·sW + KW of it.
            var source = i.inputAddress, sw = w
            if i.padLeft + i.padRight > 0 {
                sw = w + i.padLeft + i.padRight
                let padded = try append([UInt8](repeating: UInt8(truncatingIfNeeded: i.inputZeroPoint), count: h * sw * c))
                var copy = template
                if w * c <= beat {
                    copy.inChunk = w * c; copy.outChunk = w * c
                    copyBlocks(rows: 1, cols: h, { r, _, _, y0, n in
                        r.regionRow0 = 0; r.regionCol0 = 0; r.imageRows = 1; r.imageCols = n
                        r.inputAddress = i.inputAddress + UInt32(y0 * w * c); r.inputPixelStride = UInt32(w * c); r.inputRowStride = UInt32(h * w * c)
                        r.outputAddress = padded + UInt32((y0 * sw + i.padLeft) * c); r.outputPixelStride = UInt32(sw * c); r.outputRowStride = UInt32(h * sw * c)
                    }, template: copy)
                } else {
                    copyBlocks(rows: h, cols: w, { r, y0, _, x0, _ in
                        r.regionRow0 = 0; r.regionCol0 = 0; r.imageRows = r.regionRows; r.imageCols = r.regionCols
                        r.inputAddress = i.inputAddress + UInt32((y0 * w + x0) * c); r.inputPixelStride = UInt32(c); r.inputRowStride = UInt32(w * c)
                        r.outputAddress = padded + UInt32((y0 * sw + i.padLeft + x0) * c); r.outputPixelStride = UInt32(c); r.outputRowStride = UInt32(sw * c)
                    }, template: copy)
                }
                source = padded
            }
            // Kernel row ky of output (oy, ox): source row oy·sH − pT + ky, columns ox·sW ..< ox·sW + KW.
            var row = template
            row.inChunk = kw * c; row.outChunk = kw * c
            for ky in 0 ..< kh {
                let rows = inside(ky, i.padTop, i.strideH, h, oh)
                let origin = rows.count > 0 ? UInt32((rows.first * i.strideH - i.padTop + ky) * sw * c) : 0
                copyBlocks(rows: oh, cols: ow, { r, r0, _, q0, _ in
                    r.regionRow0 = r0 - rows.first; r.regionCol0 = q0
                    r.imageRows = rows.count; r.imageCols = ow
                    r.inputAddress = source + origin
                    r.inputPixelStride = UInt32(i.strideW * c); r.inputRowStride = UInt32(i.strideH * sw * c)
                    r.outputAddress = scratch + UInt32((r0 * ow + q0) * t + ky * kw * c)
                    r.outputPixelStride = UInt32(t); r.outputRowStride = UInt32(ow * t)
                }, template: row)
            }
        }
        // One copy pass per tap: output position (oy, ox) reads input (oy·sH − pT + ky, ox·sW − pL + kx).
        for ky in 0 ..< kh where !tapRows {
            for kx in 0 ..< kw {
                let rows = inside(ky, i.padTop, i.strideH, h, oh), cols = inside(kx, i.padLeft, i.strideW, w, ow)
                let y0 = rows.first * i.strideH - i.padTop + ky, x0 = cols.first * i.strideW - i.padLeft + kx
                let origin = rows.count > 0 && cols.count > 0 ? UInt32((y0 * w + x0) * c) : 0
                copyBlocks(rows: oh, cols: ow, { r, r0, _, q0, _ in
                    r.regionRow0 = r0 - rows.first; r.regionCol0 = q0 - cols.first
                    r.imageRows = rows.count; r.imageCols = cols.count
                    r.inputAddress = i.inputAddress + origin
                    r.inputPixelStride = UInt32(i.strideW * c); r.inputRowStride = UInt32(i.strideH * w * c)
                    r.outputAddress = scratch + UInt32((r0 * ow + q0) * t + (ky * kw + kx) * c)
                    r.outputPixelStride = UInt32(t); r.outputRowStride = UInt32(ow * t)
                }, template: template)
            }
        }
        // The layer's weights [o][(ky·KW + kx)·C + ch] from its 3×3 pieces, packed as a pointwise
        // instruction's: block (fs·nCS + cs) of PC·PF bytes, byte c·PF + f.
        let nFS = Slicing.ceilDiv(i.outputChannels, pf), nCS = Slicing.ceilDiv(t, pc), inSlices = Slicing.ceilDiv(c, pc)
        var packed = [UInt8](repeating: 0, count: nFS * nCS * pc * pf)
        for fs in 0 ..< nFS {
            for piece in 0 ..< i.pieces {
                let py = piece / i.piecesW, px = piece % i.piecesW
                for ics in 0 ..< inSlices {
                    let set = try standardSet(i, fs, piece, ics)
                    for k in 0 ..< 9 {
                        let ky = Slicing.pieceOffset(py, kernel: kh, pieces: i.piecesH) + k / 3
                        let kx = Slicing.pieceOffset(px, kernel: kw, pieces: i.piecesW) + k % 3
                        guard (0 ..< kh).contains(ky), (0 ..< kw).contains(kx) else { continue }
                        for ch in 0 ..< min(pc, c - ics * pc) {
                            let d = (ky * kw + kx) * c + ics * pc + ch
                            for f in 0 ..< pf { packed[((fs * nCS + d / pc) * pc + d % pc) * pf + f] = set[(k * pc + ch) * pf + f] }
                        }
                    }
                }
            }
        }
        var j = i
        j.kind = .pointwise; j.depthMultiplier = 1
        j.inputHeight = oh; j.inputWidth = ow; j.inputChannels = t
        j.kernelHeight = 1; j.kernelWidth = 1; j.strideH = 1; j.strideW = 1
        j.padTop = 0; j.padLeft = 0; j.padBottom = 0; j.padRight = 0
        j.piecesH = 1; j.piecesW = 1
        j.channelSlices = nCS; j.filterSlices = nFS
        j.tileInColumn = 0; j.tileInColumns = ow
        j.inputAddress = scratch
        j.weightAddress = try append(packed)
        try pointwise(j)
        return true
    }

    mutating func standardWindows(_ i: Instruction) throws {
        let pc = config.pc, pf = config.pf
        let c = i.inputChannels, cout = i.outputChannels, pieces = i.pieces
        let nCS = Slicing.ceilDiv(c, pc), nFS = Slicing.ceilDiv(cout, pf)
        let setBytes = 9 * pc * pf
        func weights(_ fs: Int, _ piece: Int, _ cs: Int) throws -> [UInt8] { try standardSet(i, fs, piece, cs) }
        let (s, perRow) = try windowStride(i, rows: i.outputHeight, cols: i.tileOutColumns)
        let blocks = windowBlocks(rows: i.outputHeight, col0: i.tileOutColumn, cols: i.tileOutColumns, strideH: i.strideH, strideW: s, perRow: perRow)
        // Weight sets and parameter blocks once per layer tile, reused by every row block.
        var sets = [[(address: UInt32, beats: Int)?]](repeating: [], count: nFS)
        var params = [UInt32]()
        for fs in 0 ..< nFS {
            for piece in 0 ..< pieces {
                for cs in 0 ..< nCS {
                    let w = try weights(fs, piece, cs)
                    sets[fs].append(w.allSatisfy { $0 == 0 } ? nil : try weightSet(w))
                }
            }
            params.append(try parameterBlock(try instructionParameters(i, from: fs * pf, count: pf, channels: cout)))
        }
        let zeroSet = try weightSet([UInt8](repeating: 0, count: setBytes))
        for (oy0, nr, ox0, nc) in blocks {
            for fs in 0 ..< nFS {
                var passes = [ControlRecord]()
                for piece in 0 ..< pieces {
                    for cs in 0 ..< nCS {
                        // A set of zeros adds nothing; a group keeps at least one pass.
                        guard let set = sets[fs][piece * nCS + cs] ?? (passes.isEmpty && piece == pieces - 1 && cs == nCS - 1 ? zeroSet : nil) else { continue }
                        var r = windowPass(i, piece: piece, slice: cs, set: set, block: (oy0, nr, ox0, nc), stride: s)
                        output(&r, i, row: oy0, col: ox0, channel: fs * pf, chunk: min(pf, cout - fs * pf))
                        passes.append(r)
                    }
                }
                group(passes, parameters: params[fs], residual: residual(i, row: oy0, col: ox0, channel: fs * pf))
            }
        }
    }

    /// Split windows (SplitWindow, docs/control.md `wide`): where every weight set of the layer is
    /// zero outside the window's taps 4, 5, 7, 8 (a stride-2 convolution on its space-to-depth
    /// image that pads nothing before: MobileNetV2's first layer), filter groups go in pairs, one
    /// pass per (block, pair, piece, slice) instead of two: lanes 4, 5, 7, 8 hold group 2j's
    /// weights of their taps, lanes 0-3 group 2j + 1's of taps 4, 5, 7, 8, and the pair's 2·PF
    /// results leave as one position. An odd last group runs as plain standard passes. No fused
    /// ADD (its unit has `lanes` lanes).
    mutating func splitWindows(_ i: Instruction) throws -> Bool {
        let pc = config.pc, pf = config.pf, pieces = i.pieces
        let nCS = Slicing.ceilDiv(i.inputChannels, pc), nFS = Slicing.ceilDiv(i.outputChannels, pf)
        guard config.pointwiseSlices > 1, nFS > 1, !i.fusedAdd else { return false }
        let setBytes = 9 * pc * pf, tapBytes = pc * pf
        var sets = [[[UInt8]]]()
        var used = Set<Int>()
        for fs in 0 ..< nFS {
            sets.append(try (0 ..< pieces * nCS).map { try standardSet(i, fs, $0 / nCS, $0 % nCS) })
            for set in sets[fs] {
                for k in 0 ..< 9 where !set[k * tapBytes ..< (k + 1) * tapBytes].allSatisfy({ $0 == 0 }) { used.insert(k) }
            }
        }
        // The 2×2 of taps the weights use, its top-left tap at (a0, b0): the windows move by
        // (a0 − 1, b0 − 1) so that it lands on taps 4, 5, 7, 8 (a space-to-depth image that pads
        // one before uses the top-left 2×2; the region then starts one more row and column out,
        // in fill beats).
        let rows = used.map { $0 / 3 }, cols = used.map { $0 % 3 }
        let a0 = min(rows.min() ?? 1, 1), b0 = min(cols.min() ?? 1, 1)
        guard (rows.max() ?? 0) <= a0 + 1, (cols.max() ?? 0) <= b0 + 1 else { return false }
        func moved(_ set: [UInt8]) -> [UInt8] {
            var out = [UInt8](repeating: 0, count: setBytes)
            for k in used {
                let to = 3 * (k / 3 - a0 + 1) + (k % 3 - b0 + 1)
                out.replaceSubrange(to * tapBytes ..< (to + 1) * tapBytes, with: set[k * tapBytes ..< (k + 1) * tapBytes])
            }
            return out
        }
        sets = sets.map { $0.map(moved) }
        let pairs = nFS / 2
        // Pair j's set of (piece, slice) n; nil where both groups' are all zeros.
        let paired: [[(address: UInt32, beats: Int)?]] = try (0 ..< pairs).map { j in
            try (0 ..< pieces * nCS).map { n in
                let a = sets[2 * j][n], b = sets[2 * j + 1][n]
                guard !(a + b).allSatisfy({ $0 == 0 }) else { return nil }
                var set = [UInt8](repeating: 0, count: setBytes)
                for k in SplitWindow.taps { set.replaceSubrange(k * tapBytes ..< (k + 1) * tapBytes, with: a[k * tapBytes ..< (k + 1) * tapBytes]) }
                for (lane, k) in SplitWindow.taps.enumerated() {
                    set.replaceSubrange(lane * tapBytes ..< (lane + 1) * tapBytes, with: b[k * tapBytes ..< (k + 1) * tapBytes])
                }
                return try weightSet(set)
            }
        }
        let params = try (0 ..< pairs).map { j in
            try parameterBlock(slices: try [2 * j, 2 * j + 1].map { try instructionParameters(i, from: $0 * pf, count: pf, channels: i.outputChannels) })
        }
        let single: [(address: UInt32, beats: Int)?] = nFS % 2 == 0 ? [] : try sets[nFS - 1].map { set in
            set.allSatisfy { $0 == 0 } ? nil : try weightSet(set)
        }
        let singleParams = nFS % 2 == 0 ? nil : try parameterBlock(try instructionParameters(i, from: (nFS - 1) * pf, count: pf, channels: i.outputChannels))
        let zeroSet = try weightSet([UInt8](repeating: 0, count: setBytes))
        let (s, perRow) = try windowStride(i, rows: i.outputHeight, cols: i.tileOutColumns)
        let blocks = windowBlocks(rows: i.outputHeight, col0: i.tileOutColumn, cols: i.tileOutColumns, strideH: i.strideH, strideW: s, perRow: perRow)
        for (oy0, nr, ox0, nc) in blocks {
            for j in 0 ..< (pairs + nFS % 2) {
                let split = j < pairs, fs = 2 * j
                var passes = [ControlRecord]()
                for n in 0 ..< pieces * nCS {
                    // A set of zeros adds nothing; a group keeps at least one pass.
                    guard let set = (split ? paired[j][n] : single[n]) ?? (passes.isEmpty && n == pieces * nCS - 1 ? zeroSet : nil) else { continue }
                    var r = windowPass(i, piece: n / nCS, slice: n % nCS, set: set, block: (oy0, nr, ox0, nc), stride: s, shift: (a0 - 1, b0 - 1))
                    r.wide = split
                    output(&r, i, row: oy0, col: ox0, channel: fs * pf, chunk: min((split ? SplitWindow.groups : 1) * pf, i.outputChannels - fs * pf))
                    passes.append(r)
                }
                group(passes, parameters: split ? params[j] : singleParams, residual: nil, parameterSlices: split ? SplitWindow.groups : 1)
            }
        }
        return true
    }

    /// A standard pass of 3×3 piece `piece` and channel slice `slice` over output block (oy0, nr,
    /// ox0, nc), its windows moved by `shift` (rows, columns): everything but the output fields.
    func windowPass(_ i: Instruction, piece: Int, slice cs: Int, set: (address: UInt32, beats: Int), block: (Int, Int, Int, Int),
                    stride s: Int, shift: (Int, Int) = (0, 0)) -> ControlRecord {
        let (oy0, nr, ox0, nc) = block, pc = config.pc, c = i.inputChannels
        let py = piece / i.piecesW, px = piece % i.piecesW
        var r = base(i, .conv, .standard)
        windowed(&r, y0: oy0 * i.strideH - i.padTop + Slicing.pieceOffset(py, kernel: i.kernelHeight, pieces: i.piecesH) + shift.0,
                 x0: ox0 * i.strideW - i.padLeft + Slicing.pieceOffset(px, kernel: i.kernelWidth, pieces: i.piecesW) + shift.1,
                 nr: nr, nc: nc, stride: s, imageRows: i.inputHeight, imageCols: i.inputWidth)
        r.inputAddress = i.inputAddress + UInt32(cs * pc)
        r.inputPixelStride = UInt32(c); r.inputRowStride = UInt32(i.inputWidth * c)
        r.inChunk = min(pc, c - cs * pc); r.fillValue = i.inputZeroPoint
        r.weightAddress = set.address; r.weightBeats = set.beats
        return r
    }

    /// The standard weight set of filter group `fs`, 3×3 piece `piece`, channel slice `cs`: byte
    /// (k·PC + c)·PF + f. A depthwise layer with multiplier > 1 is block-diagonal: output channel
    /// oc reads input channel oc / multiplier only.
    func standardSet(_ i: Instruction, _ fs: Int, _ piece: Int, _ cs: Int) throws -> [UInt8] {
        let pc = config.pc, pf = config.pf, pieces = i.pieces, setBytes = 9 * pc * pf
        guard i.kind == .depthwise else {
            return try read(i.weightAddress + UInt32(((fs * pieces + piece) * i.channelSlices + cs) * setBytes), setBytes)
        }
        var w = [UInt8](repeating: 0, count: setBytes)
        for f in 0 ..< pf {
            let oc = fs * pf + f
            guard oc < i.outputChannels else { continue }
            let ic = oc / i.depthMultiplier
            guard ic / pc == cs else { continue }
            for k in 0 ..< 9 {
                let src = (((oc / pc) * pieces + piece) * 9 + k) * pc + oc % pc
                w[(k * pc + ic % pc) * pf + f] = try read(i.weightAddress + UInt32(src), 1)[0]
            }
        }
        return w
    }

    /// A 3×3 stride-2 convolution (or depthwise with a multiplier) of few channels (4·C ≤ PC, one column tile, even width, pads of
    /// 0 or 1 before, ceil(H/2) × W/2 outputs) runs on the space-to-depth image instead: s2d pixel
    /// (Y, X) holds input pixels (2Y + dy, 2X + dx) for dy, dx ∈ {0, 1}, 4·C channels, and the
    /// convolution becomes a 3×3 stride-1 SAME one over ceil(H/2) × W/2 pixels: original tap
    /// (ky, kx) of output (oy, ox) reads input row 2·oy − padTop + ky, which is s2d row
    /// oy + a − 1, half dy, with a = ⌊(ky − padTop) / 2⌋ + 1 and dy = (ky − padTop) mod 2 (columns
    /// alike). The reshape unit then takes one pixel per output instead of four: two copy passes of
    /// 2·C-byte beats (the pixel pairs of even and of odd rows) build the s2d image in scratch
    /// memory, and the convolution streams a quarter of the pixels. Input rows past the end (odd H)
    /// are fill beats of the input zero point, as padding is. MobileNetV2's first layer: 100k pixel
    /// beats → 25k copy beats + 25k.
    mutating func spaceToDepth(_ i: Instruction) throws -> Bool {
        let c = i.inputChannels, h = i.inputHeight, w = i.inputWidth
        let hs = (h + 1) / 2, ws = w / 2
        guard i.kind == .convolution || i.kind == .depthwise && i.depthMultiplier > 1, i.kernelHeight == 3, i.kernelWidth == 3, i.strideH == 2, i.strideW == 2,
              4 * c <= config.pc, w % 2 == 0, i.padLeft <= 1, i.padTop <= 1, i.piecesH == 1, i.piecesW == 1, i.kind == .depthwise || i.channelSlices == 1,
              i.outputHeight == hs, i.outputWidth == ws, hs >= 2, ws >= 2
        else { return false }
        var j = i
        j.kind = .convolution; j.depthMultiplier = 1
        j.channelSlices = 1; j.filterSlices = Slicing.ceilDiv(i.outputChannels, config.pf)
        j.inputHeight = hs; j.inputWidth = ws; j.inputChannels = 4 * c
        j.strideH = 1; j.strideW = 1
        j.padTop = 1; j.padLeft = 1; j.padBottom = 1; j.padRight = 1
        // The layer's first column tile builds the s2d image and weights; every tile convolves its
        // own output columns of it (they are the s2d image's columns too).
        if let made = spaceToDepthMade[i.layer] {
            j.inputAddress = made.image; j.weightAddress = made.weights
            try standard(j)
            return true
        }
        let pc = config.pc, pf = config.pf, setBytes = 9 * pc * pf
        let scratch = try append([UInt8](repeating: 0, count: hs * ws * 4 * c))
        // The s2d image: by copies, or by the engine where a beat holds several s2d pixels; the
        // cycle model picks.
        _ = try fastest([{ $0.spaceToDepthCopies(i, scratch: scratch); return true },
                         { try $0.spaceToDepthOnTheEngine(i, scratch: scratch) },
                         { try $0.spaceToDepthOnTheEngine(i, scratch: scratch, singleSlice: true) }])
        // The s2d convolution's weights, one standard set per filter group.
        func place(_ k: Int, _ pad: Int) -> (tap: Int, half: Int) {
            let d = k - pad
            return (d >= 0 ? d / 2 + 1 : 0, (d + 2) % 2)
        }
        var sets = [UInt8]()
        for fs in 0 ..< j.filterSlices {
            let original = try standardSet(i, fs, 0, 0)
            var set = [UInt8](repeating: 0, count: setBytes)
            for ky in 0 ..< 3 {
                for kx in 0 ..< 3 {
                    let (a, dy) = place(ky, i.padTop), (b, dx) = place(kx, i.padLeft)
                    for ch in 0 ..< c {
                        let from = ((3 * ky + kx) * pc + ch) * pf, to = ((3 * a + b) * pc + (2 * dy + dx) * c + ch) * pf
                        for f in 0 ..< pf { set[to + f] = original[from + f] }
                    }
                }
            }
            sets += set
        }
        j.inputAddress = scratch
        j.weightAddress = try append(sets)
        spaceToDepthMade[i.layer] = (scratch, j.weightAddress)
        try standard(j)
        return true
    }

    /// The s2d image by copy passes: the two halves of every s2d pixel, input row 2Y + dy, pixels
    /// 2X and 2X + 1, one 2·C-byte beat each.
    mutating func spaceToDepthCopies(_ i: Instruction, scratch: UInt32) {
        let c = i.inputChannels, h = i.inputHeight, w = i.inputWidth, hs = (h + 1) / 2, ws = w / 2
        var t = base(i, .copy)
        t.inChunk = 2 * c; t.outChunk = 2 * c; t.fillValue = i.inputZeroPoint
        for dy in 0 ..< 2 {
            copyBlocks(rows: hs, cols: ws, { r, r0, _, x0, _ in
                r.regionRow0 = r0; r.regionCol0 = x0; r.imageRows = (h - dy + 1) / 2; r.imageCols = ws
                r.inputAddress = i.inputAddress + UInt32(dy * w * c)
                r.inputPixelStride = UInt32(2 * c); r.inputRowStride = UInt32(2 * w * c)
                r.outputAddress = scratch + UInt32((r0 * ws + x0) * 4 * c + dy * 2 * c)
                r.outputPixelStride = UInt32(4 * c); r.outputRowStride = UInt32(ws * 4 * c)
            }, template: t)
        }
    }

    /// The s2d image by pointwise passes that move bytes unchanged (as `transposeOnTheEngine`): a
    /// position is g consecutive s2d pixels of one s2d row, pass dy reads their 2·C·g bytes of input
    /// row 2Y + dy (one beat of up to K·PC bytes) and puts byte e·2C + dx·C + ch on output lane
    /// e·4C + (2·dy + dx)·C + ch, so the group of the two passes writes the g pixels' 4·C·g bytes
    /// as one beat (S·PF output lanes with wide passes). The fill value and the output zero point
    /// are the input's zero point, so rows past an odd H come out as padding does. MobileNetV2's
    /// 224×224×3 input: g = 5, 2 × 2,576 beats instead of 2 × 12,544 copy beats. False where a
    /// beat would hold only one s2d pixel.
    mutating func spaceToDepthOnTheEngine(_ i: Instruction, scratch: UInt32, singleSlice: Bool = false) throws -> Bool {
        let c = i.inputChannels, h = i.inputHeight, w = i.inputWidth, hs = (h + 1) / 2, ws = w / 2
        let pc = config.pc, pf = config.pf, k = config.pointwiseBeatSlices
        guard !singleSlice || config.hasSingleSliceSlots else { return false }
        // On single-slice slots with offsets (`passThroughSingleSlice`) a beat may carry B bytes.
        let g = singleSlice ? min(config.streamBytes / (2 * c), config.singleSliceSlots * pf / (4 * c))
            : min(k * pc / (2 * c), config.pointwiseSlices * pf / (4 * c))
        guard g >= 2, let unit = ControlPlan.averageMultiplier(count: 1) else { return false }
        // Runs of positions along an s2d row: whole positions of g pixels, then the rest as one.
        for run in Self.runs(of: ws, by: g) {
            let inBytes = 2 * c * run.width, outBytes = 4 * c * run.width
            let groups = (outBytes + pf - 1) / pf, wide = groups > 1 || inBytes > pc
            let block = try passThroughParameters(lanes: outBytes, unit: unit)
            var sets = [(address: UInt32, beats: Int)](), offsets = [[Int]]()
            for dy in 0 ..< 2 {
                func lane(_ b: Int) -> Int {
                    let e = b / (2 * c), dx = (b % (2 * c)) / c, ch = b % c
                    return e * 4 * c + (2 * dy + dx) * c + ch
                }
                guard let made = try passThrough(singleSlice: singleSlice, inputBytes: inBytes, lanes: outBytes, lane) else { return false }
                sets.append(made.set); offsets.append(made.offsets)
            }
            for (r0, nr, p0, np) in pointBlocks(rows: hs, cols: run.positions, residual: wide || singleSlice) {
                let passes = (0 ..< 2).map { dy -> ControlRecord in
                    var r = base(i, .conv, .pointwise)
                    r.wide = wide || singleSlice; r.singleSlice = singleSlice; r.slotOffsets = offsets[dy]
                    r.activationMin = -128; r.activationMax = 127; r.pruningThreshold = 0
                    r.regionRow0 = r0; r.regionCol0 = p0; r.regionRows = nr; r.regionCols = np
                    r.imageRows = (h - dy + 1) / 2; r.imageCols = run.positions
                    r.inputAddress = i.inputAddress + UInt32((dy * w + 2 * run.first) * c)
                    r.inputPixelStride = UInt32(inBytes); r.inputRowStride = UInt32(2 * w * c)
                    r.inChunk = inBytes; r.fillValue = i.inputZeroPoint
                    r.weightAddress = sets[dy].address; r.weightBeats = sets[dy].beats
                    r.outChunk = outBytes; r.outZeroPoint = i.inputZeroPoint
                    r.outputAddress = scratch + UInt32((r0 * ws + run.first + p0 * run.width) * 4 * c)
                    r.outputPixelStride = UInt32(outBytes); r.outputRowStride = UInt32(ws * 4 * c)
                    r.outputRows = nr; r.outputCols = np
                    return r
                }
                group(passes, parameters: block, residual: nil, parameterSlices: wide ? groups : 1)
            }
        }
        return true
    }

    /// `count` positions of `width` elements: the whole ones as one run, then the rest as one
    /// shorter position (the runs of the byte-moving passes below).
    static func runs(of count: Int, by width: Int) -> [(first: Int, positions: Int, width: Int)] {
        var runs = [(first: Int, positions: Int, width: Int)]()
        if count / width > 0 { runs.append((0, count / width, width)) }
        if count % width > 0 { runs.append((count / width * width, 1, count % width)) }
        return runs
    }

    /// The parameter block of a pass group that moves bytes unchanged through the engine: bias 0
    /// and `unit`, the exact multiplier of a division by 1, on `lanes` output lanes, one group of
    /// PF lanes per filter group (a wide pass's parameter groups).
    mutating func passThroughParameters(lanes: Int, unit: (multiplier: Int32, shift: Int)) throws -> UInt32 {
        let pf = config.pf
        return try parameterBlock(slices: (0 ..< (lanes + pf - 1) / pf).map { v in
            (0 ..< min(pf, lanes - v * pf)).map { _ in (0, unit.multiplier, Int32(unit.shift)) }
        })
    }

    /// The weight set of such a pass: input byte b (slice b / PC of the beat) goes to output lane
    /// `lane(b)` with weight 1. In the wide layout that is pixel lane (b / PC)·S + L / PF, filter
    /// L mod PF, byte (((b / PC)·S + L / PF)·PC + b mod PC)·PF + L mod PF; with one slice and one
    /// filter group it is the pointwise layout.
    mutating func passThroughWeights(inputBytes: Int, lanes: Int, _ lane: (Int) -> Int) throws -> (address: UInt32, beats: Int) {
        let pc = config.pc, pf = config.pf, s = config.pointwiseSlices
        let groups = (lanes + pf - 1) / pf, beatSlices = (inputBytes + pc - 1) / pc
        var set = [UInt8](repeating: 0, count: ((beatSlices - 1) * s + groups) * pc * pf)
        for b in 0 ..< inputBytes {
            let l = lane(b)
            set[(((b / pc) * s + l / pf) * pc + b % pc) * pf + l % pf] = 1
        }
        return try weightSet(set)
    }

    /// The same on single-slice slots (`singleSlice`): slot s, output lanes s·PF ..< (s + 1)·PF,
    /// takes the PC bytes of the beat from its offset o_s·U on, the lowest multiple of U at or
    /// below its first input byte, so its weights are byte ((s·PC + b − o_s·U)·PF + L mod PF).
    /// Nil where a slot's input bytes span more than that slice.
    mutating func passThroughSingleSlice(inputBytes: Int, lanes: Int, _ lane: (Int) -> Int) throws -> (set: (address: UInt32, beats: Int), offsets: [Int])? {
        let pc = config.pc, pf = config.pf, unit = config.slotOffsetUnit
        let slots = (lanes + pf - 1) / pf
        guard slots <= config.singleSliceSlots else { return nil }
        var bytes = [[Int]](repeating: [], count: slots)
        for b in 0 ..< inputBytes { bytes[lane(b) / pf].append(b) }
        let offsets = bytes.map { ($0.min() ?? 0) / unit }
        for s in 0 ..< slots where !bytes[s].isEmpty {
            guard bytes[s].max()! < offsets[s] * unit + pc, offsets[s] < config.slotOffsetChoices else { return nil }
        }
        var set = [UInt8](repeating: 0, count: slots * pc * pf)
        for (s, slot) in bytes.enumerated() {
            for b in slot { set[(s * pc + b - offsets[s] * unit) * pf + lane(b) % pf] = 1 }
        }
        return (try weightSet(set), offsets.allSatisfy { $0 == 0 } ? [] : offsets)
    }

    /// Either of the two above: the set and its slot offsets (none on two-slice slots).
    mutating func passThrough(singleSlice: Bool, inputBytes: Int, lanes: Int, _ lane: (Int) -> Int) throws
        -> (set: (address: UInt32, beats: Int), offsets: [Int])? {
        guard singleSlice else { return (try passThroughWeights(inputBytes: inputBytes, lanes: lanes, lane), []) }
        return try passThroughSingleSlice(inputBytes: inputBytes, lanes: lanes, lane)
    }

    /// The cycle model's figure for the records `b` added to this builder's, at a memory as fast as
    /// the stream: how the mapper chooses between lowerings of one layer.
    func cycles(of b: PlanBuilder) -> Int {
        let memory = ControlCycleModel.Memory(bandwidth: Double(beat), latency: 64)
        return ControlCycleModel.timeline(Array(b.records[records.count...]), config: config, memory: memory).reduce(0, +)
    }

    /// Lowers a layer by whichever candidate the cycle model predicts fastest, the earlier one on
    /// a tie: each appends its records to its own copy of this builder and returns false where it
    /// does not apply. False, and nothing appended, when none applies.
    mutating func fastest(_ candidates: [(inout PlanBuilder) throws -> Bool]) throws -> Bool {
        var best: (plan: PlanBuilder, cycles: Int)?
        for candidate in candidates {
            var plan = self
            guard try candidate(&plan) else { continue }
            let c = cycles(of: plan)
            if best.map({ c < $0.cycles }) ?? true { best = (plan, c) }
        }
        guard let chosen = best?.plan else { return false }
        self = chosen
        return true
    }

    /// The output fields of a pass writing block (row, col) of `i`'s NHWC output from `channel` on.
    func output(_ r: inout ControlRecord, _ i: Instruction, row: Int, col: Int, channel: Int, chunk: Int) {
        let cout = i.outputChannels
        r.outChunk = chunk; r.outZeroPoint = i.outputZeroPoint
        r.outputAddress = i.outputAddress + UInt32((row * i.outputWidth + col) * cout + channel)
        r.outputPixelStride = UInt32(cout); r.outputRowStride = UInt32(i.outputWidth * cout)
    }

    func residual(_ i: Instruction, row: Int, col: Int, channel: Int) -> (address: UInt32, add: Instruction.AddFields, second: Bool)? {
        guard i.fusedAdd else { return nil }
        return (i.residualAddress + UInt32((row * i.outputWidth + col) * i.outputChannels + channel), i.add, i.resultIsSecondAddend)
    }

    /// Depthwise, multiplier 1: per block, run of `depthwiseSlices` channel slices (one beat carries
    /// a pixel's slices of the run; one slice where an ADD is fused, whose ADD has `lanes` lanes):
    /// the pieces. A run's weight set is its slices' sets one after the other, its parameter block
    /// one group of `lanes` per slice.
    mutating func depthwise(_ i: Instruction) throws {
        guard let (most, half) = mostDepthwisePositions(i) else { return try depthwise(i, positions: 1) }
        // P positions a beat over the first `main` columns, the rest (where P does not divide the
        // width) at the most positions that divide both; the cycle model picks P, or one a beat.
        let w = i.outputWidth
        var candidates: [(inout PlanBuilder) throws -> Bool] = [{ try $0.depthwise(i, positions: 1); return true }]
        for p in 2 ... most {
            let main = w % p == 0 ? w : p * (w / p - 1)
            guard main > 0 else { continue }
            let rest = (1 ... most).reversed().first { main % $0 == 0 && w % $0 == 0 } ?? 1
            candidates.append({ b in
                try b.depthwise(i, positions: p, half: half, columns: (0, main))
                if main < w { try b.depthwise(i, positions: rest, half: half, columns: (main, w - main)) }
                return true
            })
        }
        _ = try fastest(candidates)
    }

    /// The most positions a depthwise beat of `i` can carry (DepthwisePositions), at least two:
    /// S / Q for positions of Q whole slices, 2·S for positions of half a slice (`half`); nil where
    /// the layer is not a whole-width 3×3 stride-1 SAME depthwise of such positions without a fused ADD.
    func mostDepthwisePositions(_ i: Instruction) -> (positions: Int, half: Bool)? {
        let slices = config.depthwiseSlices, pc = config.pc, c = i.outputChannels
        guard slices > 1, !i.fusedAdd, i.pieces == 1, i.kernelHeight == 3, i.kernelWidth == 3,
              i.strideH == 1, i.strideW == 1, i.batches == 1, i.inputChannels == c,
              i.tileOutColumn == 0, i.tileOutColumns == i.outputWidth, i.outputWidth == i.inputWidth, i.padLeft == 1, i.padRight == 1
        else { return nil }
        let most = DepthwisePositions.shapes(slices: slices, pc: pc).filter { $0.channels(pc: pc) == c }.map(\.positions).max()
        return most.map { ($0, 2 * c == pc) }
    }

    /// `positions` P > 1: output columns `columns` (P divides their first and count) run as a
    /// layer of P·C channels over an image ⌊W/P⌋ wide (the same bytes, the same rows), P·Q slices
    /// a beat, each position's weights and parameters those of the layer's Q. Columns whose last
    /// window reaches past that image are not P's to run: where P does not divide W, the last
    /// wide pixel's right neighbour is data, not padding, so the caller stops a pixel earlier.
    /// `columns` nil: the instruction's own column tile, one position a beat. `half`: positions of
    /// half a slice.
    mutating func depthwise(_ layer: Instruction, positions p: Int, half: Bool = false, columns: (first: Int, count: Int)? = nil) throws {
        let q = layer.channelSlices
        var i = layer
        if let (first, count) = columns { i.tileOutColumn = first; i.tileOutColumns = count }
        if p > 1 {
            i.inputWidth /= p; i.outputWidth /= p; i.tileOutColumn /= p; i.tileOutColumns /= p
            i.inputChannels *= p; i.outputChannels *= p; i.channelSlices = Slicing.ceilDiv(i.outputChannels, config.pc)
        }
        let pc = config.pc, c = i.outputChannels, pieces = i.pieces
        let (s, perRow) = try windowStride(i, rows: i.outputHeight, cols: i.tileOutColumns)
        let blocks = windowBlocks(rows: i.outputHeight, col0: i.tileOutColumn, cols: i.tileOutColumns, strideH: i.strideH, strideW: s, perRow: perRow)
        let run = i.fusedAdd ? 1 : config.depthwiseSlices
        let runs = stride(from: 0, to: i.channelSlices, by: run).map { ($0, min(run, i.channelSlices - $0)) }
        // Lane L of a beat (slice L / PC, channel L mod PC) is the layer's channel L mod C: with
        // one position a beat that is channel L, with P it is position L / C's. Lanes from P·C on
        // are unused.
        let cl = layer.outputChannels
        let layerSets = try (0 ..< q).map { ls in try (0 ..< pieces).map { try read(layer.weightAddress + UInt32((ls * pieces + $0) * 9 * pc), 9 * pc) } }
        var sets = [[(address: UInt32, beats: Int)]]()
        var params = [UInt32]()
        for (cs, n) in runs {
            sets.append(try (0 ..< pieces).map { piece in
                try weightSet((cs ..< cs + n).flatMap { g in (0 ..< 9 * pc).map { t -> UInt8 in
                    let lane = g * pc + t % pc, ch = lane % cl
                    return lane < c ? layerSets[ch / pc][piece][t / pc * pc + ch % pc] : 0
                } })
            })
            params.append(try parameterBlock(slices: try (cs ..< cs + n).map { g in try (0 ..< pc).map { t in
                let lane = g * pc + t
                return lane < c ? try instructionParameters(layer, from: lane % cl, count: 1, channels: cl)[0] : (0, 0, 0)
            } }))
        }
        for (oy0, nr, ox0, nc) in blocks {
            for (k, (cs, n)) in runs.enumerated() {
                let chunk = min(n * pc, c - cs * pc)
                let passes = (0 ..< pieces).map { piece -> ControlRecord in
                    let py = piece / i.piecesW, px = piece % i.piecesW
                    var r = base(i, .conv, .depthwise)
                    windowed(&r, y0: oy0 * i.strideH - i.padTop + Slicing.pieceOffset(py, kernel: i.kernelHeight, pieces: i.piecesH),
                             x0: ox0 * i.strideW - i.padLeft + Slicing.pieceOffset(px, kernel: i.kernelWidth, pieces: i.piecesW),
                             nr: nr, nc: nc, stride: s, imageRows: i.inputHeight, imageCols: i.inputWidth)
                    r.inputAddress = i.inputAddress + UInt32(cs * pc)
                    r.inputPixelStride = UInt32(i.inputChannels); r.inputRowStride = UInt32(i.inputWidth * i.inputChannels)
                    r.inChunk = chunk; r.fillValue = i.inputZeroPoint
                    r.weightAddress = sets[k][piece].address; r.weightBeats = sets[k][piece].beats
                    output(&r, i, row: oy0, col: ox0, channel: cs * pc, chunk: chunk)
                    if p > 1 {
                        // The rows are the layer's, whatever part of them the wide image covers.
                        r.depthwisePositions = p; r.positionSlices = half ? 1 : q; r.positionHalfSlice = half
                        r.inputRowStride = UInt32(layer.inputWidth * layer.inputChannels)
                        r.outputRowStride = UInt32(layer.outputWidth * layer.outputChannels)
                        r.outputAddress = layer.outputAddress + UInt32((oy0 * layer.outputWidth + ox0 * p) * layer.outputChannels + cs * pc)
                    }
                    return r
                }
                group(passes, parameters: params[k], residual: residual(i, row: oy0, col: ox0, channel: cs * pc), parameterSlices: n)
            }
        }
    }

    /// Rectangular blocks of positions for pointwise passes: at most `depth` engine beats of PV, and
    /// at most `depth` positions when a residual block is buffered.
    func pointBlocks(rows: Int, cols: Int, residual: Bool) -> [(Int, Int, Int, Int)] {
        let cap = residual ? depth : depth * config.pv
        let nc = min(cols, cap, 65535)
        var out = [(Int, Int, Int, Int)]()
        for c in stride(from: 0, to: cols, by: nc) {
            let w = min(nc, cols - c)
            let nr = max(1, min(cap / w, 65535))
            for r in stride(from: 0, to: rows, by: nr) { out.append((r, min(nr, rows - r), c, w)) }
        }
        return out
    }

    /// Pointwise: positions are the strided input pixels; per block, filter group: channel slices.
    /// Where a beat carries several slices (`foldTaps` ≥ 3) and there is more than one slice, as
    /// folded passes instead (with one slice both move a slice per beat, and pointwise blocks are
    /// PV times longer).
    mutating func pointwise(_ i: Instruction) throws {
        // Wide passes write S·PF channels of a position per beat but take one PC slice per beat;
        // folded and PV passes take more input per beat but write PF. The records of both are
        // made and the cycle model (at a memory as fast as the stream) keeps the faster.
        let wide = config.pointwiseSlices > 1 && !i.fusedAdd && i.filterSlices > 1
        // Single-slice slots (more of them, one input slice each) where the configuration has them.
        let single = config.hasSingleSliceSlots
        _ = try fastest([{ try $0.narrowPointwise(i); return true },
                         { guard wide else { return false }; try $0.widePointwise(i); return true },
                         { guard wide && single else { return false }; try $0.widePointwise(i, singleSlice: true); return true },
                         { try $0.packedPointwise(i) },
                         { guard single else { return false }; return try $0.packedPointwise(i, singleSlice: true) }])
    }

    /// Packed wide pointwise (docs/control.md, `slotOffsets`): where a position has few channels
    /// (C ≤ K·PC, a multiple of the slot offset unit) and few outputs (all G = C_out / PF filter
    /// groups on the slots at once), one beat carries P consecutive positions (P·C bytes) and slot
    /// p·G + g computes filter group g of position p, taking its bytes from p·C on. The P·G·PF
    /// results leave as one output beat, which is P consecutive output positions, so a layer of N
    /// positions takes N / P beats instead of N. Stride 1 only (positions consecutive in memory);
    /// P the largest that divides N, with P·C and P·C_out within a beat and P·G within the slots.
    /// With `singleSlice`, on the single-slice slots (C ≤ PC): VWW's 8 → 16 layers at B = 128 take
    /// six positions a beat instead of four.
    mutating func packedPointwise(_ i: Instruction, singleSlice: Bool = false) throws -> Bool {
        let pc = config.pc, pf = config.pf, c = i.inputChannels, cout = i.outputChannels
        let (slots, beatSlices) = config.wideSlotShape(singleSlice: singleSlice)
        let unit = config.slotOffsetUnit, k = i.channelSlices, b = config.streamBytes
        guard slots > 1, !i.fusedAdd, i.strideH == 1, i.strideW == 1, i.inputWidth == i.outputWidth, i.inputHeight == i.outputHeight,
              k <= beatSlices, c % unit == 0, cout % pf == 0 else { return false }
        let g = cout / pf, n = i.outputHeight * i.outputWidth
        guard let p = (2 ... max(2, min(slots / g, b / c, b / cout))).reversed().first(where: { n % $0 == 0 && $0 * g <= slots && $0 * c <= b && $0 * cout <= b })
        else { return false }
        let used = p * g
        // Slot offsets, lanes and their weights: slot p·G + g (position p, filter group g) on lanes
        // q·S + slot. Lanes a used slot reaches inside the chunk get weights: group g's slice q
        // where the position has one, zeros where slice q is the next position's bytes.
        let offsets = (0 ..< used).map { ($0 / g) * c / unit }
        var lanes = 0
        for slot in 0 ..< used {
            for q in 0 ..< beatSlices where offsets[slot] * unit + q * pc < p * c { lanes = max(lanes, q * slots + slot + 1) }
        }
        let zeros = [UInt8](repeating: 0, count: pc * pf)
        var set = [UInt8]()
        for lane in 0 ..< lanes {
            let q = lane / slots, slot = lane % slots
            guard slot < used && q < k else { set += zeros; continue }
            // Channels past C in the last slice are the next position's bytes: weight 0.
            let real = min(pc, c - q * pc) * pf
            set += try read(i.weightAddress + UInt32(((slot % g) * k + q) * pc * pf), real) + zeros.prefix(pc * pf - real)
        }
        let weights = try weightSet(set)
        let params = try parameterBlock(slices: try (0 ..< used).map { try instructionParameters(i, from: ($0 % g) * pf, count: pf, channels: cout) })
        let beats = n / p, perPass = min(depth, 65535)
        guard beats <= 65535 else { return false }
        for b0 in stride(from: 0, to: beats, by: perPass) {
            let nb = min(perPass, beats - b0)
            var r = base(i, .conv, .pointwise)
            r.wide = true; r.singleSlice = singleSlice
            r.slotOffsets = offsets.last == 0 ? [] : offsets
            r.regionRow0 = 0; r.regionCol0 = b0; r.regionRows = 1; r.regionCols = nb
            r.imageRows = 1; r.imageCols = beats
            r.inputAddress = i.inputAddress
            r.inputPixelStride = UInt32(p * c); r.inputRowStride = UInt32(beats * p * c)
            r.inChunk = p * c; r.fillValue = i.inputZeroPoint
            r.weightAddress = weights.address; r.weightBeats = weights.beats
            r.outputRows = 1; r.outputCols = nb
            r.outChunk = p * cout; r.outZeroPoint = i.outputZeroPoint
            r.outputAddress = i.outputAddress + UInt32(b0 * p * cout)
            r.outputPixelStride = UInt32(p * cout); r.outputRowStride = UInt32(beats * p * cout)
            group([r], parameters: params, residual: nil, parameterSlices: used)
        }
        return true
    }

    /// Wide pointwise (docs/control.md, `wide`): per block of positions, run of S =
    /// `pointwiseSlices` filter groups, the position's channels K·PC at a time (K =
    /// `pointwiseBeatSlices`) as passes; a beat is one position's K·PC channels, and the run's S·PF
    /// results of the position leave as one output beat. A pass's weight set puts filter group v's
    /// PC·PF set of the beat's slice q on lane q·S + v (zeros for groups past the run), its
    /// parameter block one group of `lanes` per filter group. Every position is an accumulator
    /// word, so blocks hold `depth`. With `singleSlice`, S = `singleSliceSlots` and K = 1.
    mutating func widePointwise(_ i: Instruction, singleSlice: Bool = false) throws {
        let pc = config.pc, pf = config.pf, c = i.inputChannels, cout = i.outputChannels
        let nCS = i.channelSlices, nFS = i.filterSlices
        let (run, k) = config.wideSlotShape(singleSlice: singleSlice)
        let beatSlices = k
        let runs = stride(from: 0, to: nFS, by: run).map { ($0, min(run, nFS - $0)) }
        // Passes: K slices each, the last one's slices what is left.
        let chunks = stride(from: 0, to: nCS, by: k).map { ($0, min(k, nCS - $0)) }
        var sets = [[(address: UInt32, beats: Int)]]()
        var params = [UInt32]()
        let zeros = [UInt8](repeating: 0, count: pc * pf)
        for (fs, n) in runs {
            sets.append(try chunks.map { cs0, m in
                var set = [UInt8]()
                for q in 0 ..< m {
                    for v in 0 ..< (q == m - 1 ? n : run) {
                        set += v < n ? try read(i.weightAddress + UInt32(((fs + v) * nCS + cs0 + q) * pc * pf), pc * pf) : zeros
                    }
                }
                return try weightSet(set)
            })
            params.append(try parameterBlock(slices: try (fs ..< fs + n).map { try instructionParameters(i, from: $0 * pf, count: pf, channels: cout) }))
        }
        for (oy0, nr, ox0, nc) in pointBlocks(rows: i.outputHeight, cols: i.outputWidth, residual: true) {
            for (k, (fs, n)) in runs.enumerated() {
                let passes = chunks.map { cs0, _ -> ControlRecord in
                    let cs = cs0
                    var r = base(i, .conv, .pointwise)
                    r.wide = true; r.singleSlice = singleSlice
                    r.regionRow0 = oy0; r.regionCol0 = ox0; r.regionRows = nr; r.regionCols = nc
                    r.imageRows = i.outputHeight; r.imageCols = i.outputWidth
                    r.inputAddress = i.inputAddress + UInt32(cs * pc)
                    r.inputPixelStride = UInt32(i.strideW * c); r.inputRowStride = UInt32(i.strideH * i.inputWidth * c)
                    r.inChunk = min(beatSlices * pc, c - cs * pc); r.fillValue = i.inputZeroPoint
                    r.weightAddress = sets[k][cs / beatSlices].address
                    r.weightBeats = sets[k][cs / beatSlices].beats
                    r.outputRows = nr; r.outputCols = nc
                    output(&r, i, row: oy0, col: ox0, channel: fs * pf, chunk: min(n * pf, cout - fs * pf))
                    return r
                }
                group(passes, parameters: params[k], residual: nil, parameterSlices: n)
            }
        }
    }

    mutating func narrowPointwise(_ i: Instruction) throws {
        if config.foldTaps > 1 && i.inputChannels > config.pc { return try folded(i) }
        let pc = config.pc, pf = config.pf, c = i.inputChannels, cout = i.outputChannels
        let nCS = i.channelSlices, nFS = i.filterSlices
        var sets = [[(address: UInt32, beats: Int)]]()
        var params = [UInt32]()
        for fs in 0 ..< nFS {
            sets.append(try (0 ..< nCS).map { try weightSet(try read(i.weightAddress + UInt32((fs * nCS + $0) * pc * pf), pc * pf)) })
            params.append(try parameterBlock(try instructionParameters(i, from: fs * pf, count: pf, channels: cout)))
        }
        for (oy0, nr, ox0, nc) in pointBlocks(rows: i.outputHeight, cols: i.outputWidth, residual: i.fusedAdd) {
            for fs in 0 ..< nFS {
                let passes = (0 ..< nCS).map { cs -> ControlRecord in
                    var r = base(i, .conv, .pointwise)
                    r.regionRow0 = oy0; r.regionCol0 = ox0; r.regionRows = nr; r.regionCols = nc
                    r.imageRows = i.outputHeight; r.imageCols = i.outputWidth
                    r.inputAddress = i.inputAddress + UInt32(cs * pc)
                    r.inputPixelStride = UInt32(i.strideW * c); r.inputRowStride = UInt32(i.strideH * i.inputWidth * c)
                    r.inChunk = min(pc, c - cs * pc); r.fillValue = i.inputZeroPoint
                    r.weightAddress = sets[fs][cs].address; r.weightBeats = sets[fs][cs].beats
                    r.outputRows = nr; r.outputCols = nc
                    output(&r, i, row: oy0, col: ox0, channel: fs * pf, chunk: min(pf, cout - fs * pf))
                    return r
                }
                group(passes, parameters: params[fs], residual: residual(i, row: oy0, col: ox0, channel: fs * pf))
            }
        }
    }

    /// Pointwise as folded passes (docs/control.md, mode 3): a position's chunk of up to PK·PC input
    /// channels is one engine beat, its PC-channel slices on the tap lanes, so each beat moves
    /// `foldTaps`·PC bytes instead of PC and a filter group needs ceil(C / PK·PC) passes instead of
    /// ceil(C / PC). A pass's positions are one run at a constant input stride: consecutive positions
    /// of the whole map (stride 1, input as wide as the output) or part of one output row.
    mutating func folded(_ i: Instruction) throws {
        let pc = config.pc, pf = config.pf, t = config.foldTaps, c = i.inputChannels, cout = i.outputChannels
        let nCS = i.channelSlices, nFS = i.filterSlices, setBytes = 9 * pc * pf
        let chunks = ControlPlan.foldChunks(channels: c, config: config)
        var sets = [[(address: UInt32, beats: Int)]]()
        var params = [UInt32]()
        for fs in 0 ..< nFS {
            // The instruction's pointwise sets of this group: byte (cs·PC + ch)·PF + f is input channel cs·PC + ch.
            let source = try read(i.weightAddress + UInt32(fs * nCS * pc * pf), nCS * pc * pf)
            sets.append(try chunks.map { chunk in
                var w = [UInt8](repeating: 0, count: setBytes)
                for d in 0 ..< chunk.count { for f in 0 ..< pf { w[d * pf + f] = source[(chunk.first + d) * pf + f] } }
                let beats = (chunk.count + t * pc - 1) / (t * pc)
                return try weightSet(Array(w.prefix(ControlPlan.foldedWeightBytes(beats: beats, inChunk: min(chunk.count, t * pc), taps: t, config: config))))
            })
            params.append(try parameterBlock(try instructionParameters(i, from: fs * pf, count: pf, channels: cout)))
        }
        // Reuse across filter groups: the first group's passes keep their gathered positions in the
        // input buffer (chunk k of a run at words k·run ...), the other groups replay them at one
        // position per cycle instead of reading ceil(chunk / t·PC) beats per position again. Worth it
        // where some chunk takes more than one beat and the buffer holds a useful run of positions.
        let beatsOf = chunks.map { ($0.count + t * pc - 1) / (t * pc) }
        let total = i.outputHeight * i.outputWidth
        let bufferRun = config.inputBufferWords / chunks.count
        let reuse = nFS > 1 && beatsOf.reduce(0, +) > chunks.count && bufferRun >= min(64, total)
        let runLength = reuse ? min(depth, bufferRun) : depth
        // Runs of positions: (first output row, first column, positions).
        var runs = [(row: Int, col: Int, count: Int)]()
        let linear = i.strideH == 1 && i.strideW == 1 && i.inputWidth == i.outputWidth
        if linear {
            for p in stride(from: 0, to: total, by: runLength) { runs.append((p / i.outputWidth, p % i.outputWidth, min(runLength, total - p))) }
        } else {
            for oy in 0 ..< i.outputHeight {
                for ox in stride(from: 0, to: i.outputWidth, by: runLength) { runs.append((oy, ox, min(runLength, i.outputWidth - ox))) }
            }
        }
        for run in runs {
            for fs in 0 ..< nFS {
                let passes = chunks.enumerated().map { k, chunk -> ControlRecord in
                    var r = base(i, .conv, .folded)
                    let beats = beatsOf[k]
                    r.regionRows = run.count; r.regionCols = beats
                    r.imageRows = run.count; r.imageCols = beats
                    if reuse { Self.keepOrReplay(&r, word: k * run.count, keep: fs == 0) }
                    r.inputAddress = i.inputAddress + UInt32(((run.row * i.strideH) * i.inputWidth + run.col * i.strideW) * c + chunk.first)
                    r.inputRowStride = UInt32(i.strideW * c); r.inputPixelStride = UInt32(t * pc)
                    r.inChunk = min(chunk.count, t * pc); r.fillValue = i.inputZeroPoint
                    r.weightAddress = sets[fs][k].address; r.weightBeats = sets[fs][k].beats
                    output(&r, i, row: run.row, col: run.col, channel: fs * pf, chunk: min(pf, cout - fs * pf))
                    // The run's outputs are consecutive positions too: one row of them.
                    r.outputRows = 1; r.outputCols = run.count
                    return r
                }
                group(passes, parameters: params[fs], residual: residual(i, row: run.row, col: run.col, channel: fs * pf))
            }
        }
    }

    /// A folded pass of the input buffer's reuse across filter groups: the first group's pass keeps
    /// its gathered positions from word `word` on; a later group's replays them, one fill beat per
    /// position pacing the replay, so nothing is read.
    static func keepOrReplay(_ r: inout ControlRecord, word: Int, keep: Bool) {
        r.bufferRow0 = word
        if keep { r.keep = true } else { r.replay = true; r.regionCols = 1; r.imageRows = 0; r.imageCols = 1 }
    }

    /// FC. With fewer batches than PV, as standard 3×3 passes: each chunk of PK·PC consecutive
    /// inputs is a 3×3 image of PC-channel pixels (element d is tap d / PC, channel d % PC), one VALID
    /// window, so a pass consumes PK·PC inputs on every tap lane. A pointwise pass consumes only PC,
    /// and with one batch fills one of its PV pixel lanes: MobileNetV2's 1280→1000 at PC=PF=16 is
    /// 63 × 9 = 567 passes instead of 63 × 80 = 5040, each a few beats long, so per-pass overhead no
    /// longer dominates. With PV or more batches the pointwise passes fill the pixel lanes and stay.
    /// Either way the weight zero point is folded into the weights (after pruning).
    /// Where a stream beat carries several slices (`foldTaps` > 1), the same chunks can run as folded
    /// passes instead (one engine beat per batch from ceil(chunk / t·PC) beats of t·PC inputs, the
    /// first filter group keeping them in the input buffer for the others to replay), which moves
    /// the chunk in 3 beats instead of 9 and ends an intermediate pass 7 cycles after its last beat
    /// instead of 16; the cycle model keeps the faster of the two.
    mutating func fullyConnected(_ i: Instruction) throws {
        guard i.batches < config.pv else { return try fullyConnectedPointwise(i) }
        let foldable = config.foldTaps > 1
        _ = try fastest([{ try $0.fullyConnectedWindows(i); return true },
                         { guard foldable else { return false }; try $0.fullyConnectedFolded(i); return true }])
    }

    /// A weight set of `count` bytes of `i`'s packed FC weights at `offset`, [d][f < PF] with input
    /// element `d0 + d`, with the weight zero point folded in (pruning first, as the Executor).
    func fullyConnectedWeights(_ i: Instruction, offset: Int, count: Int, d0: Int, fs: Int) throws -> [UInt8] {
        let pf = config.pf, d = i.inputChannels, outs = i.outputChannels
        var w = try read(i.weightAddress + UInt32(offset), count)
        guard i.weightZeroPoint != 0 else { return w }
        for di in 0 ..< count / pf where d0 + di < d {
            for f in 0 ..< pf where fs * pf + f < outs {
                // Pruning acts on the stored weight (as the Executor's), so it is applied
                // before the fold and the records of this layer carry threshold 0.
                let raw = Int(Int8(bitPattern: w[di * pf + f]))
                let v = (i.pruningThreshold > 0 && abs(raw) <= i.pruningThreshold ? 0 : raw) - Int(i.weightZeroPoint)
                guard (-128 ... 127).contains(v) else {
                    throw MapperError("\(here(i)): weight \(raw) minus its zero point \(i.weightZeroPoint) does not fit int8, so the zero point cannot be folded into the engine's weights")
                }
                w[di * pf + f] = UInt8(bitPattern: Int8(v))
            }
        }
        return w
    }

    /// FC as standard passes, per batch and filter group one pass per chunk. The packed weights of
    /// (filter group, chunk) are [d < PK·PC][f < PF], the standard set's (k·PC + c)·PF + f. A partial
    /// last chunk of t elements is an image of n = ceil(t / PC) pixels (3 columns, ceil(n / 3) rows;
    /// one row of n when n ≤ 3) in the same 3×3 region: pixels outside the image are fill beats, the
    /// image's pixels past the data (and bytes past t) are read but meet zero weights.
    mutating func fullyConnectedWindows(_ i: Instruction) throws {
        let pc = config.pc, pf = config.pf, d = i.inputChannels, outs = i.outputChannels
        let chunk = Slicing.fullyConnectedChunk(config)
        guard chunk == 9 * pc else { throw MapperError("internal: \(here(i)): FC windows need PK = 9") }
        let nChunks = Slicing.ceilDiv(d, chunk), nFS = Slicing.ceilDiv(outs, pf)
        var sets = [[(address: UInt32, beats: Int)]]()
        var params = [UInt32]()
        for fs in 0 ..< nFS {
            sets.append(try (0 ..< nChunks).map { cs in
                try weightSet(try fullyConnectedWeights(i, offset: (fs * nChunks + cs) * chunk * pf, count: chunk * pf, d0: cs * chunk, fs: fs))
            })
            params.append(try parameterBlock(try instructionParameters(i, from: fs * pf, count: pf, channels: outs)))
        }
        let images = (0 ..< nChunks).map { cs -> (rows: Int, cols: Int) in
            let n = Slicing.ceilDiv(min(chunk, d - cs * chunk), pc)
            return n > 3 ? (Slicing.ceilDiv(n, 3), 3) : (1, n)
        }
        // The image's pixels are read whole: the last batch's last chunk may read past the input.
        let end = Int(i.inputAddress) + (i.batches - 1) * d + (nChunks - 1) * chunk + images[nChunks - 1].rows * images[nChunks - 1].cols * pc
        try readable(i, upTo: end, "the last 3×3 window of the input")
        for b in 0 ..< i.batches {
            for fs in 0 ..< nFS {
                let passes = (0 ..< nChunks).map { cs -> ControlRecord in
                    var r = base(i, .conv, .standard)
                    if i.weightZeroPoint != 0 { r.pruningThreshold = 0 }
                    r.regionRow0 = 0; r.regionCol0 = 0; r.regionRows = 3; r.regionCols = 3
                    r.imageRows = images[cs].rows; r.imageCols = images[cs].cols
                    r.inputAddress = i.inputAddress + UInt32(b * d + cs * chunk)
                    r.inputPixelStride = UInt32(pc); r.inputRowStride = UInt32(3 * pc)
                    r.inChunk = pc; r.fillValue = i.inputZeroPoint
                    r.weightAddress = sets[fs][cs].address; r.weightBeats = sets[fs][cs].beats
                    r.outputRows = 1; r.outputCols = 1
                    fullyConnectedOutput(&r, i, batch: b, group: fs)
                    return r
                }
                group(passes, parameters: params[fs], residual: fullyConnectedResidual(i, batch: b, group: fs))
            }
        }
    }

    /// FC as folded passes (docs/control.md, mode 3): per filter group, one pass per chunk of PK·PC
    /// inputs whose positions are the batches. Chunk k of batch n is ceil(count / t·PC) beats of
    /// t·PC inputs (input row stride D), so its engine beat is the standard window's layout and the
    /// windows' weight sets serve unchanged (cut after the beats that carry data). The last chunk's
    /// last beat may read past D: those inputs meet zero weights. The first filter group keeps each
    /// chunk's gathered beats (chunk k of batch n in word k·batches + n) and the later groups replay
    /// them, one fill beat a position, so the input is read once.
    mutating func fullyConnectedFolded(_ i: Instruction) throws {
        let pc = config.pc, pf = config.pf, t = config.foldTaps, d = i.inputChannels, outs = i.outputChannels
        let chunk = Slicing.fullyConnectedChunk(config), beatBytes = t * pc
        let nChunks = Slicing.ceilDiv(d, chunk), nFS = Slicing.ceilDiv(outs, pf), batches = i.batches
        let counts = (0 ..< nChunks).map { min(chunk, d - $0 * chunk) }
        let beatsOf = counts.map { Slicing.ceilDiv($0, beatBytes) }, inChunks = counts.map { min($0, beatBytes) }
        var sets = [[(address: UInt32, beats: Int)]]()
        var params = [UInt32]()
        for fs in 0 ..< nFS {
            sets.append(try (0 ..< nChunks).map { cs in
                let w = try fullyConnectedWeights(i, offset: (fs * nChunks + cs) * chunk * pf, count: chunk * pf, d0: cs * chunk, fs: fs)
                return try weightSet(Array(w.prefix(ControlPlan.foldedWeightBytes(beats: beatsOf[cs], inChunk: inChunks[cs], taps: t, config: config))))
            })
            params.append(try parameterBlock(try instructionParameters(i, from: fs * pf, count: pf, channels: outs)))
        }
        let last = nChunks - 1
        let end = Int(i.inputAddress) + (batches - 1) * d + last * chunk + (beatsOf[last] - 1) * beatBytes + inChunks[last]
        try readable(i, upTo: end, "the last folded beat of the input")
        let reuse = nFS > 1 && nChunks * batches <= config.inputBufferWords && beatsOf.contains { $0 > 1 }
        for fs in 0 ..< nFS {
            let passes = (0 ..< nChunks).map { cs -> ControlRecord in
                var r = base(i, .conv, .folded)
                if i.weightZeroPoint != 0 { r.pruningThreshold = 0 }
                r.regionRows = batches; r.regionCols = beatsOf[cs]
                r.imageRows = batches; r.imageCols = beatsOf[cs]
                if reuse { Self.keepOrReplay(&r, word: cs * batches, keep: fs == 0) }
                r.inputAddress = i.inputAddress + UInt32(cs * chunk)
                r.inputRowStride = UInt32(d); r.inputPixelStride = UInt32(beatBytes)
                r.inChunk = inChunks[cs]; r.fillValue = i.inputZeroPoint
                r.weightAddress = sets[fs][cs].address; r.weightBeats = sets[fs][cs].beats
                fullyConnectedOutput(&r, i, batch: 0, group: fs)
                r.outputRows = 1; r.outputCols = batches
                return r
            }
            group(passes, parameters: params[fs], residual: fullyConnectedResidual(i, batch: 0, group: fs))
        }
    }

    /// The output fields of an FC pass writing filter group `fs` from batch `b` on ([batches][outputs] in memory).
    func fullyConnectedOutput(_ r: inout ControlRecord, _ i: Instruction, batch b: Int, group fs: Int) {
        let pf = config.pf, outs = i.outputChannels
        r.outChunk = min(pf, outs - fs * pf); r.outZeroPoint = i.outputZeroPoint
        r.outputAddress = i.outputAddress + UInt32(b * outs + fs * pf)
        r.outputPixelStride = UInt32(outs); r.outputRowStride = UInt32(outs * i.batches)
    }

    /// The fused ADD's residual for the same position, when the FC has one.
    func fullyConnectedResidual(_ i: Instruction, batch b: Int, group fs: Int) -> (address: UInt32, add: Instruction.AddFields, second: Bool)? {
        guard i.fusedAdd else { return nil }
        return (i.residualAddress + UInt32(b * i.outputChannels + fs * config.pf), i.add, i.resultIsSecondAddend)
    }

    /// FC as pointwise passes over `batches` positions of `inputChannels` elements, PC at a time.
    mutating func fullyConnectedPointwise(_ i: Instruction) throws {
        let pc = config.pc, pf = config.pf, d = i.inputChannels, outs = i.outputChannels
        let chunk = Slicing.fullyConnectedChunk(config)
        let nChunks = Slicing.ceilDiv(d, chunk), nCS = Slicing.ceilDiv(d, pc), nFS = Slicing.ceilDiv(outs, pf)
        var sets = [[(address: UInt32, beats: Int)]]()
        var params = [UInt32]()
        for fs in 0 ..< nFS {
            sets.append(try (0 ..< nCS).map { cs in
                let offset = ((fs * nChunks + cs / config.pk) * chunk + (cs % config.pk) * pc) * pf
                return try weightSet(try fullyConnectedWeights(i, offset: offset, count: pc * pf, d0: cs * pc, fs: fs))
            })
            params.append(try parameterBlock(try instructionParameters(i, from: fs * pf, count: pf, channels: outs)))
        }
        for (_, _, b0, nb) in pointBlocks(rows: 1, cols: i.batches, residual: i.fusedAdd) {
            for fs in 0 ..< nFS {
                let passes = (0 ..< nCS).map { cs -> ControlRecord in
                    var r = base(i, .conv, .pointwise)
                    r.regionRow0 = 0; r.regionCol0 = b0; r.regionRows = 1; r.regionCols = nb
                    if i.weightZeroPoint != 0 { r.pruningThreshold = 0 }
                    r.imageRows = 1; r.imageCols = i.batches
                    r.inputAddress = i.inputAddress + UInt32(cs * pc)
                    r.inputPixelStride = UInt32(d); r.inputRowStride = UInt32(d * i.batches)
                    r.inChunk = min(pc, d - cs * pc); r.fillValue = i.inputZeroPoint
                    r.weightAddress = sets[fs][cs].address; r.weightBeats = sets[fs][cs].beats
                    r.outputRows = 1; r.outputCols = nb
                    fullyConnectedOutput(&r, i, batch: b0, group: fs)
                    return r
                }
                group(passes, parameters: params[fs], residual: fullyConnectedResidual(i, batch: b0, group: fs))
            }
        }
    }

    // MARK: - Pooling

    /// A depthwise set with ones on taps (ty, tx) with ty < rows and tx < cols, every channel.
    mutating func onesSet(rows: Int, cols: Int) throws -> (address: UInt32, beats: Int) {
        var w = [UInt8](repeating: 0, count: 9 * config.pc)
        for k in 0 ..< 9 where k / 3 < rows && k % 3 < cols {
            for c in 0 ..< config.pc { w[k * config.pc + c] = 1 }
        }
        return try weightSet(w)
    }

    /// MEAN over H×W as folded passes: a region row is one output slice of w = min(PC, PF) channels,
    /// its beats are input positions (w bytes each, `C` bytes apart), so one engine beat sums nine
    /// positions of every slice (one tap per beat: tap x carries position x, channel c onto filter
    /// lane c) and a pass covers all slices at once: MobileNetV2's 7×7×1280 mean is 6 passes of 80
    /// rows instead of 720 one-window depthwise passes. Then tflite-micro's folded multiplier (bias 0).
    mutating func mean(_ i: Instruction) throws {
        try positionSums(i, multiplier: i.meanMultiplier, shift: i.meanShift) { r in
            r.activationMin = -128; r.activationMax = 127
            r.fillValue = i.inputZeroPoint; r.outZeroPoint = i.outputZeroPoint
        }
    }

    /// The folded passes of MEAN, shared with a global AVERAGE_POOL_2D: every slice's sum over all
    /// H×W positions of Σ (x − fillValue), requantized with (`multiplier`, `shift`) and bias 0;
    /// `finish` sets the fill, the output zero point and the clamp of the operator.
    mutating func positionSums(_ i: Instruction, multiplier: Int32, shift: Int, finish: (inout ControlRecord) -> Void) throws {
        // A beat is one position's slice, so every pass is one tap per beat: nine positions an
        // engine beat, where beats filling t taps would leave t − 1 of them to fill.
        let pc = config.pc, pf = config.pf, c = i.inputChannels
        let w = min(pc, pf), perPass = 9, positions = i.inputHeight * i.inputWidth
        var ones = [UInt8](repeating: 0, count: 9 * pc * pf)
        for x in 0 ..< perPass { for ch in 0 ..< w { ones[(x * pc + ch) * pf + ch] = 1 } }
        let set = try weightSet(Array(ones.prefix(ControlPlan.foldedWeightBytes(beats: perPass, inChunk: w, taps: 1, config: config))))
        let params = try parameterBlock([(bias: Int32, multiplier: Int32, shift: Int32)](repeating: (0, multiplier, Int32(shift)), count: w))
        // Rows: the whole slices, then a narrower last one; at most `depth` rows per pass.
        var slices = [(first: Int, count: Int, width: Int)]()
        for s0 in stride(from: 0, to: c / w, by: depth) { slices.append((s0 * w, min(depth, c / w - s0), w)) }
        if c % w > 0 { slices.append((c / w * w, 1, c % w)) }
        for run in slices {
            var passes = [ControlRecord]()
            for p0 in stride(from: 0, to: positions, by: perPass) {
                var r = base(i, .conv, .folded)
                r.pruningThreshold = 0
                r.oneTapPerBeat = config.foldTaps > 1
                let beats = min(perPass, positions - p0)
                r.regionRows = run.count; r.regionCols = beats; r.imageRows = run.count; r.imageCols = beats
                r.inputAddress = i.inputAddress + UInt32(p0 * c + run.first)
                r.inputRowStride = UInt32(run.width); r.inputPixelStride = UInt32(c)
                r.inChunk = run.width
                r.weightAddress = set.address; r.weightBeats = set.beats
                r.outputRows = 1; r.outputCols = run.count
                r.outChunk = run.width
                finish(&r)
                r.outputAddress = i.outputAddress + UInt32(run.first)
                r.outputPixelStride = UInt32(run.width); r.outputRowStride = UInt32(run.count * run.width)
                passes.append(r)
            }
            group(passes, parameters: params, residual: nil)
        }
    }

    /// AVERAGE_POOL_2D: depthwise passes of ones over the window's 3×3 pieces (fill 0, so the
    /// engine sums raw x and taps outside the image add nothing), then the exact reciprocal
    /// multiplier of the window's count. TFLite divides by the taps inside the image, rowsIn(oy) ×
    /// colsIn(ox), so the outputs are split into runs of rows with equal rowsIn and runs of columns
    /// with equal colsIn, each run × run block with its own parameter block; windows inside the
    /// image make one run per axis, the single block of a VALID pool.
    mutating func averagePool(_ i: Instruction) throws {
        let rowRuns = PlanBuilder.inImageRuns(outputs: i.outputHeight, stride: i.strideH, pad: i.padTop, kernel: i.kernelHeight, size: i.inputHeight)
        let colRuns = PlanBuilder.inImageRuns(outputs: i.outputWidth, stride: i.strideW, pad: i.padLeft, kernel: i.kernelWidth, size: i.inputWidth)
        // A single window over the whole image (a global pool: KWS's 25×5, ResNet's 8×8) is MEAN's
        // sum of every position per slice with the pool's own arithmetic (raw x, fill 0, output
        // zero point 0, the exact reciprocal of H·W and the fused clamp): folded passes that take
        // each position once, against one depthwise pass per 3×3 piece and PC-channel slice.
        let global = i.outputHeight == 1 && i.outputWidth == 1 && rowRuns.first?.inImage == i.inputHeight && colRuns.first?.inImage == i.inputWidth
        let q = global ? ControlPlan.averageMultiplier(count: i.inputHeight * i.inputWidth) : nil
        _ = try fastest([{ try $0.averagePoolWindows(i, rowRuns: rowRuns, colRuns: colRuns); return true },
                         { guard let q else { return false }
                           try $0.positionSums(i, multiplier: q.multiplier, shift: q.shift) { r in r.fillValue = 0; r.outZeroPoint = 0 }
                           return true }])
    }

    /// AVERAGE_POOL_2D as depthwise passes over the 3×3 pieces of its windows, per block of outputs
    /// with one in-image count.
    mutating func averagePoolWindows(_ i: Instruction, rowRuns: [(start: Int, count: Int, inImage: Int)], colRuns: [(start: Int, count: Int, inImage: Int)]) throws {
        let name = here(i)
        let oh = i.outputHeight, ow = i.outputWidth, kh = i.kernelHeight, kw = i.kernelWidth
        let sW = ow > 1 ? i.strideW : nil, sH = oh > 1 ? i.strideH : nil
        let s = sW ?? sH ?? 1
        guard s <= 2 else { throw MapperError("\(name): stride \(i.strideH)x\(i.strideW) does not decompose into the reshape unit's 3×3 windows (strides 1 and 2)") }
        let perRow = sH != nil && sH != s
        var params = [Int: UInt32]()
        for count in Set(rowRuns.flatMap { r in colRuns.map { r.inImage * $0.inImage } }).sorted() {
            // An empty window (explicit pads only) averages to 0, as the Reference has it.
            let exact: (multiplier: Int32, shift: Int)? = count == 0 ? (0, 0) : ControlPlan.averageMultiplier(count: count)
            guard let q = exact else {
                throw MapperError("\(name): no multiplier and shift give the exact rounded average of \(count) values")
            }
            params[count] = try parameterBlock([(bias: Int32, multiplier: Int32, shift: Int32)](repeating: (0, q.multiplier, Int32(q.shift)), count: config.pc))
        }
        let pc = config.pc, c = i.inputChannels
        let ph = Slicing.ceilDiv(kh, 3), pw = Slicing.ceilDiv(kw, 3)
        var sets = [(address: UInt32, beats: Int)]()
        for p in 0 ..< ph * pw { sets.append(try onesSet(rows: min(3, kh - 3 * (p / pw)), cols: min(3, kw - 3 * (p % pw)))) }
        for rows in rowRuns {
            for cols in colRuns {
                let block = params[rows.inImage * cols.inImage]!
                for (r0, nr, ox0, nc) in windowBlocks(rows: rows.count, col0: cols.start, cols: cols.count, strideH: i.strideH, strideW: s, perRow: perRow) {
                    let oy0 = rows.start + r0
                    // Pieces whose taps all fall outside the image add nothing; a group keeps one pass.
                    let origins = (0 ..< ph * pw).map { p in (p, oy0 * i.strideH - i.padTop + 3 * (p / pw), ox0 * i.strideW - i.padLeft + 3 * (p % pw)) }
                    let inside = origins.filter { p, y0, x0 in
                        y0 < i.inputHeight && y0 + (nr - 1) * i.strideH + min(3, kh - 3 * (p / pw)) > 0 &&
                            x0 < i.inputWidth && x0 + (nc - 1) * i.strideW + min(3, kw - 3 * (p % pw)) > 0
                    }
                    for cs in 0 ..< i.channelSlices {
                        let chunk = min(pc, c - cs * pc)
                        let passes = (inside.isEmpty ? [origins[0]] : inside).map { p, y0, x0 -> ControlRecord in
                            var r = base(i, .conv, .depthwise)
                            r.pruningThreshold = 0
                            windowed(&r, y0: y0, x0: x0, nr: nr, nc: nc, stride: s, imageRows: i.inputHeight, imageCols: i.inputWidth)
                            r.inputAddress = i.inputAddress + UInt32(cs * pc)
                            r.inputPixelStride = UInt32(c); r.inputRowStride = UInt32(i.inputWidth * c)
                            r.inChunk = chunk; r.fillValue = 0
                            r.weightAddress = sets[p].address; r.weightBeats = sets[p].beats
                            r.outChunk = chunk; r.outZeroPoint = 0
                            r.outputAddress = i.outputAddress + UInt32((oy0 * ow + ox0) * c + cs * pc)
                            r.outputPixelStride = UInt32(c); r.outputRowStride = UInt32(ow * c)
                            return r
                        }
                        group(passes, parameters: block, residual: nil)
                    }
                }
            }
        }
    }

    /// One axis of a pool: the outputs in runs of consecutive positions whose windows (starting at
    /// o·stride − pad, `kernel` long) hold the same number of the axis's `size` image positions.
    static func inImageRuns(outputs: Int, stride: Int, pad: Int, kernel: Int, size: Int) -> [(start: Int, count: Int, inImage: Int)] {
        var runs = [(start: Int, count: Int, inImage: Int)]()
        for o in 0 ..< outputs {
            let start = o * stride - pad
            let n = max(0, min(kernel, size - start) - max(0, -start))
            if let last = runs.last, last.inImage == n { runs[runs.count - 1].count += 1 } else { runs.append((o, 1, n)) }
        }
        return runs
    }

    // MARK: - Copies

    /// Copy passes over a rows × cols grid of positions (chunk bytes each), at most `depth`
    /// positions per pass; `configure` fills in addresses for block (row0, rows, col0, cols).
    mutating func copyBlocks(rows: Int, cols: Int, _ configure: (inout ControlRecord, Int, Int, Int, Int) -> Void, template: ControlRecord) {
        let nc = min(cols, depth, 65535)
        for c0 in stride(from: 0, to: cols, by: nc) {
            let w = min(nc, cols - c0)
            let nr = max(1, min(depth / w, 65535))
            for r0 in stride(from: 0, to: rows, by: nr) {
                var r = template
                r.first = true; r.last = true
                r.outputRows = min(nr, rows - r0); r.outputCols = w
                r.regionRows = r.outputRows; r.regionCols = w
                configure(&r, r0, r.outputRows, c0, w)
                records.append(r)
            }
        }
    }

    /// Standalone ADD: positions of `lanes` bytes through the ADD, the second operand as residual.
    mutating func add(_ i: Instruction) throws {
        let n = i.inputChannels, full = n / lanes, rest = n % lanes
        var t = base(i, .copy)
        t.residual = true; t.add = i.add; t.resultIsSecond = false
        for (count, chunk, offset) in [(full, lanes, 0), (rest > 0 ? 1 : 0, rest, full * lanes)] where count > 0 {
            t.inChunk = chunk; t.outChunk = chunk
            copyBlocks(rows: 1, cols: count, { r, _, _, c0, nc in
                let at = UInt32(offset + c0 * chunk)
                r.regionRow0 = 0; r.regionCol0 = 0; r.imageRows = 1; r.imageCols = nc
                r.inputAddress = i.inputAddress + at; r.inputPixelStride = UInt32(chunk); r.inputRowStride = UInt32(chunk * nc)
                r.residualAddress = i.residualAddress + at
                r.outputAddress = i.outputAddress + at; r.outputPixelStride = UInt32(chunk); r.outputRowStride = UInt32(chunk * nc)
            }, template: t)
        }
    }

    /// TRANSPOSE: per (a, b) of the output's first two dimensions, a 2-D strided copy of 1-byte positions.
    mutating func transpose(_ i: Instruction) throws {
        let s = i.layoutShape, perm = i.permutation
        let inStrides = [s[1] * s[2] * s[3], s[2] * s[3], s[3], 1]
        let o = perm.map { s[$0] }, st = perm.map { inStrides[$0] }
        if try fastest([{ try $0.transposeOnTheEngine(i, o, st) }, { try $0.transposeOnTheEngine(i, o, st, singleSlice: true) }]) { return }
        var t = base(i, .copy)
        t.inChunk = 1; t.outChunk = 1
        for a in 0 ..< o[0] {
            for b in 0 ..< o[1] {
                let inBase = i.inputAddress + UInt32(a * st[0] + b * st[1])
                let outBase = (a * o[1] + b) * o[2] * o[3]
                copyBlocks(rows: o[2], cols: o[3], { r, r0, _, c0, _ in
                    r.regionRow0 = r0; r.regionCol0 = c0; r.imageRows = o[2]; r.imageCols = o[3]
                    r.inputAddress = inBase; r.inputPixelStride = UInt32(st[3]); r.inputRowStride = UInt32(st[2])
                    r.outputAddress = i.outputAddress + UInt32(outBase + r0 * o[3] + c0)
                    r.outputPixelStride = 1; r.outputRowStride = UInt32(o[3])
                }, template: t)
            }
        }
    }

    /// A TRANSPOSE whose output rows [o1][o2] are contiguous in the input (NCHW → NHWC: the image
    /// planes) and whose innermost output dimension is short (C ≤ PF / 2) runs as pointwise passes
    /// instead of one-byte copies: a position is g consecutive plane elements (g = min(PC, PF / C),
    /// one beat of g bytes), pass c reads plane c, and the weights put element e of plane c on
    /// filter lane e·C + c, so the group's result is g output pixels of C channels, g·C contiguous
    /// bytes. The sums are x − 0 and requantize with the exact multiplier of a division by 1, so
    /// every byte comes through unchanged. MobileNetV2's 3×224×224 input: 3 passes of 10,035
    /// five-pixel beats instead of 150,528 one-byte beats.
    ///
    /// With wide passes (`pointwiseSlices` S > 1) the position's g·C results may fill S·PF lanes
    /// (pixel lane v computes lanes v·PF ..< (v + 1)·PF) and its g elements K·PC input lanes (K =
    /// `pointwiseBeatSlices` slices a beat), so g = min(K·PC, S·PF / C): 21 pixels of 63 bytes per
    /// beat at PC = PF = 16, B = 64, 3 passes of 2,390 beats.
    /// With `singleSlice`, on single-slice slots with slot offsets (`passThroughSingleSlice`):
    /// g = min(B, singleSliceSlots·PF / C), 32 RGB pixels a beat at PC = PF = 16, B = 128.
    mutating func transposeOnTheEngine(_ i: Instruction, _ o: [Int], _ st: [Int], singleSlice: Bool = false) throws -> Bool {
        let channels = o[3], plane = o[1] * o[2]
        let pf = config.pf, pc = config.pc, slices = config.pointwiseSlices
        guard !singleSlice || config.singleSliceSlots > slices else { return false }
        let g = singleSlice ? min(config.streamBytes, config.singleSliceSlots * pf / max(1, channels))
            : min(slices > 1 ? config.pointwiseBeatSlices * pc : pc, slices * pf / max(1, channels))
        guard g >= 2, st[2] == 1, st[1] == o[2], channels >= 1, let unit = ControlPlan.averageMultiplier(count: 1) else { return false }
        // Runs of positions: the whole positions of g elements, then the rest as one shorter position.
        let runs = Self.runs(of: plane, by: g)
        var params = [UInt32: UInt32]()
        for a in 0 ..< o[0] {
            for run in runs {
                let lanesUsed = run.width * channels
                // Filter groups the position's lanes span: more than one makes the passes wide.
                let groups = (lanesUsed + pf - 1) / pf, wide = groups > 1
                let block: UInt32
                if let known = params[UInt32(lanesUsed)] { block = known } else {
                    block = try passThroughParameters(lanes: lanesUsed, unit: unit)
                    params[UInt32(lanesUsed)] = block
                }
                // Element e of plane c goes to lane e·C + c.
                var sets = [(address: UInt32, beats: Int)](), offsets = [[Int]]()
                for c in 0 ..< channels {
                    guard let made = try passThrough(singleSlice: singleSlice, inputBytes: run.width, lanes: lanesUsed, { e in e * channels + c })
                    else { return false }
                    sets.append(made.set); offsets.append(made.offsets)
                }
                for (_, _, q0, n) in pointBlocks(rows: 1, cols: run.positions, residual: wide || singleSlice) {
                    let passes = (0 ..< channels).map { c -> ControlRecord in
                        var r = base(i, .conv, .pointwise)
                        r.wide = wide || singleSlice; r.singleSlice = singleSlice; r.slotOffsets = offsets[c]
                        r.activationMin = -128; r.activationMax = 127; r.pruningThreshold = 0
                        r.regionRow0 = 0; r.regionCol0 = q0; r.regionRows = 1; r.regionCols = n
                        r.imageRows = 1; r.imageCols = run.positions
                        r.inputAddress = i.inputAddress + UInt32(a * st[0] + c * st[3] + run.first)
                        r.inputPixelStride = UInt32(run.width); r.inputRowStride = UInt32(run.positions * run.width)
                        r.inChunk = run.width; r.fillValue = 0
                        r.weightAddress = sets[c].address; r.weightBeats = sets[c].beats
                        r.outChunk = lanesUsed; r.outZeroPoint = 0
                        r.outputAddress = i.outputAddress + UInt32(a * plane * channels + (run.first + q0 * run.width) * channels)
                        r.outputPixelStride = UInt32(lanesUsed); r.outputRowStride = UInt32(run.positions * lanesUsed)
                        r.outputRows = 1; r.outputCols = n
                        return r
                    }
                    group(passes, parameters: block, residual: nil, parameterSlices: groups)
                }
            }
        }
        return true
    }

    /// PAD: per channel chunk and row block, the output frame as a region of the input image; the
    /// positions outside the image are fill beats of the pad value.
    mutating func pad(_ i: Instruction) throws {
        let c = i.inputChannels, ow = i.outputWidth
        var t = base(i, .copy)
        t.fillValue = i.outputZeroPoint
        for c0 in stride(from: 0, to: c, by: lanes) {
            t.inChunk = min(lanes, c - c0); t.outChunk = t.inChunk
            copyBlocks(rows: i.outputHeight, cols: ow, { r, r0, _, x0, _ in
                r.regionRow0 = r0 - i.padTop; r.regionCol0 = x0 - i.padLeft
                r.imageRows = i.inputHeight; r.imageCols = i.inputWidth
                r.inputAddress = i.inputAddress + UInt32(c0); r.inputPixelStride = UInt32(c); r.inputRowStride = UInt32(i.inputWidth * c)
                r.outputAddress = i.outputAddress + UInt32((r0 * ow + x0) * c + c0)
                r.outputPixelStride = UInt32(c); r.outputRowStride = UInt32(ow * c)
            }, template: t)
        }
    }
}
