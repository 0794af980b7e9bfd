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
            b.onChipScratch = (n < program.onChipScratch.count ? program.onChipScratch[n] : nil)
                .map { (Self.deviceAddress($0.route, $0.address, config: c), $0.length) }
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
/// Lowers one instruction after another into control records and the constants they read. The
/// lowering of each kind of layer is in a file of its own (ControlPlanStandard, ControlPlanDepthwise,
/// ControlPlanPointwise, ControlPlanFullyConnected, ControlPlanPooling, ControlPlanCopies, and
/// ControlPlanPassThrough for the passes that move bytes unchanged).
struct PlanBuilder {
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
    var spaceToDepthMade: [Int: (image: UInt32, weights: UInt32)] = [:]
    /// The on-chip room the instruction being lowered leaves (`Program.onChipScratch`), as device
    /// addresses; `scratch` takes from its start.
    var onChipScratch: (address: UInt32, length: Int)?

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

    /// `bytes` of scratch memory for an image the lowering writes whole before it reads it (the
    /// space-to-depth and im2col images): on chip where the layer leaves room for them and the
    /// read slack after them, so writing and reading them moves nothing through external memory;
    /// else zeros appended to the memory image.
    mutating func scratch(_ bytes: Int) throws -> UInt32 {
        let a = max(beat, program.options.alignment)
        if let room = onChipScratch {
            let at = (Int(room.address) + a - 1) / a * a, end = at + bytes + Allocation.readSlack
            if end <= Int(room.address) + room.length {
                onChipScratch = (UInt32(end), Int(room.address) + room.length - end)
                return UInt32(at)
            }
        }
        return try append([UInt8](repeating: 0, count: bytes))
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

    // MARK: - Choosing and placing passes

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
    /// `rowStride`: the output tensor's bytes a row where `i` views it narrower than it is (depthwise
    /// positions over the columns a P divides); else `i`'s width × channels.
    func output(_ r: inout ControlRecord, _ i: Instruction, row: Int, col: Int, channel: Int, chunk: Int, rowStride: Int? = nil) {
        let cout = i.outputChannels, rowBytes = rowStride ?? i.outputWidth * cout
        r.outChunk = chunk; r.outZeroPoint = i.outputZeroPoint
        r.outputAddress = i.outputAddress + UInt32(row * rowBytes + col * cout + channel)
        r.outputPixelStride = UInt32(cout); r.outputRowStride = UInt32(rowBytes)
    }

    func residual(_ i: Instruction, row: Int, col: Int, channel: Int) -> (address: UInt32, add: Instruction.AddFields, second: Bool)? {
        guard i.fusedAdd else { return nil }
        return (i.residualAddress + UInt32((row * i.outputWidth + col) * i.outputChannels + channel), i.add, i.resultIsSecondAddend)
    }
}
