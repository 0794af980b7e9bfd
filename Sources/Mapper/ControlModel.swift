import Accelerator
import Reference

/// Executes control records over a memory image with the RTL's semantics (docs/control.md): the
/// region walk with fill beats, the reshape unit's windows (stride, operation-separate pads),
/// pointwise positions, per-position int32 sums across a group's passes (wrapping), the
/// quantization unit's requantize with the loaded lane parameters, the fused ADD and copies. It is
/// the Swift twin of the RTL top: what the RTL writes after record n must equal what this writes.
public final class ControlModel {
    public let config: AcceleratorConfig
    public let records: [ControlRecord]
    private let lanes: Int
    /// Depthwise slices per beat (AcceleratorConfig.depthwiseSlices) and the accumulator words per
    /// position: lanes for each of them (slice s's channel c is word s·lanes + c).
    private let slices: Int
    private let accLanes: Int

    // State carried between passes, as in the RTL: the accumulator and the lane parameters.
    private var acc: [Int32] = []
    private var accPositions = 0
    /// The input buffer's words (raw gathered bytes, PK·PC each); nil where nothing was stored.
    private var inputBuffer: [[Int8]?] = []
    private var bias: [Int32]
    private var multiplier: [Int32]
    private var shift: [Int]
    /// The weight set the last conv pass with weight beats loaded (its raw bytes, in its mode's
    /// layout): a conv pass with no weight beats keeps it, as the RTL's next set does.
    private var keptWeights: (mode: ControlRecord.Mode, wide: Bool, singleSlice: Bool, bytes: [UInt8])?
    /// The weight stream the RTL reads the sets from (WeightStreamer): where set loads must follow
    /// one another from `address` on, `beats` beats in all. Nil: sets are read where records say.
    public var weightStream: (address: UInt32, beats: Int)?
    private var streamBeatsLoaded = 0
    /// The bytes the last residual phase that read a span left in the residual buffer (a
    /// `residualKept` pass reads them); nil after a per-position residual phase, which overwrites it.
    private var residualSpanBytes: [Int8]?

    /// Decodes `recordStream` (so what runs is exactly the bytes the RTL fetches).
    public init(config: AcceleratorConfig, recordStream: [UInt8]) throws {
        self.config = config
        self.records = try ControlRecord.decodeStream(recordStream)
        lanes = max(config.pc, config.pf)
        slices = config.depthwiseSlices
        accLanes = lanes * slices
        // The quantization FIFOs hold max(2, S) groups of lanes (ExecutionUnit's maxChannels).
        bias = [Int32](repeating: 0, count: lanes * max(2, slices))
        multiplier = bias
        shift = [Int](repeating: 0, count: bias.count)
    }

    /// The plan's records, decoded from its memory image at `recordBase`.
    public convenience init(plan: ControlPlan) throws {
        let a = Int(plan.recordBase), n = plan.records.count * ControlRecord.byteCount
        guard a + n <= plan.memory.count else { throw ControlRecordError("record stream [\(a), \(a + n)) outside the memory image") }
        try self.init(config: plan.config, recordStream: Array(plan.memory[a ..< a + n]))
        weightStream = (plan.weightStreamAddress, plan.weightStreamBeats)
    }

    /// Writes `input` at the plan's input address, runs every record and returns the memory.
    public static func run(_ plan: ControlPlan, input: [Int8], afterEach: ((Int, ControlRecord, DeviceMemory) throws -> Void)? = nil) throws -> DeviceMemory {
        guard input.count == plan.inputLength else { throw ControlRecordError("input has \(input.count) bytes; the network takes \(plan.inputLength)") }
        var memory = DeviceMemory(external: plan.memory, config: plan.config)
        for (k, v) in input.enumerated() { memory[Int(plan.inputAddress) + k] = UInt8(bitPattern: v) }
        try ControlModel(plan: plan).run(memory: &memory, afterEach: afterEach)
        return memory
    }

    /// Runs every record over `memory`; `afterEach` sees each record's index, the record and the memory.
    public func run(memory: inout DeviceMemory, afterEach: ((Int, ControlRecord, DeviceMemory) throws -> Void)? = nil) throws {
        acc = []; accPositions = 0; keptWeights = nil; streamBeatsLoaded = 0; residualSpanBytes = nil
        inputBuffer = [[Int8]?](repeating: nil, count: config.inputBufferWords)
        for (n, r) in records.enumerated() {
            try execute(r, n, &memory)
            try afterEach?(n, r, memory)
        }
        if let s = weightStream, streamBeatsLoaded != s.beats {
            throw ControlRecordError("the records load \(streamBeatsLoaded) weight beats; the weight stream has \(s.beats)")
        }
    }

    // MARK: - One pass

    private func fail(_ n: Int, _ r: ControlRecord, _ m: String) -> ControlRecordError {
        ControlRecordError("control record \(n) (layer \(r.layer), \(r.op)): \(m)")
    }

    private func word(_ m: DeviceMemory, _ a: Int) -> Int32 {
        Int32(bitPattern: UInt32(m[a]) | UInt32(m[a + 1]) << 8 | UInt32(m[a + 2]) << 16 | UInt32(m[a + 3]) << 24)
    }

    private func execute(_ r: ControlRecord, _ n: Int, _ memory: inout DeviceMemory) throws {
        let b = config.streamBytes
        guard r.inChunk <= b, r.outChunk <= b else { throw fail(n, r, "chunk \(max(r.inChunk, r.outChunk)) wider than the \(b)-byte beat") }
        let positions = r.outputPositions
        func inside(_ a: Int, _ len: Int, _ what: String) throws {
            guard memory.holds(a, len) else { throw fail(n, r, "\(what) [\(a), \(a + len)) outside \(memory.extent)") }
        }
        func outputOffset(_ p: Int, _ base: UInt32) -> Int {
            Int(base) + (p / r.outputCols) * Int(r.outputRowStride) + (p % r.outputCols) * Int(r.outputPixelStride)
        }

        // 2. parameters
        if r.loadParams {
            try inside(Int(r.parameterAddress), 16 * r.paramRecords, "parameters")
            for j in 0 ..< min(r.paramRecords, bias.count) {
                let a = Int(r.parameterAddress) + 16 * j
                bias[j] = word(memory, a); multiplier[j] = word(memory, a + 4); shift[j] = Int(word(memory, a + 8))
            }
        }
        // `wide` on a standard pass is the split window (SplitWindow).
        guard !r.wide || (r.op == .conv && (r.mode == .pointwise || r.mode == .standard)) else {
            throw fail(n, r, "only a pointwise or standard pass can be wide")
        }
        guard !r.wide || config.pointwiseSlices > 1 else { throw fail(n, r, "a wide pass on a configuration without pointwise slices (PC ≠ PF or S = 1)") }
        guard (r.wide && r.mode == .pointwise) || r.slotOffsets.isEmpty else { throw fail(n, r, "slot offsets on a pass that is not wide pointwise") }
        guard !r.oneTapPerBeat || (r.op == .conv && r.mode == .folded && config.foldTaps > 1) else {
            throw fail(n, r, "one tap per beat on a pass that is not folded, or a configuration whose folded beats fill one tap anyway")
        }
        let positionShape = DepthwisePositions.Shape(positions: r.depthwisePositions, slices: r.positionSlices, half: r.positionHalfSlice)
        guard r.depthwisePositions == 1 || DepthwisePositions.shapes(slices: slices, pc: config.pc).contains(positionShape) else {
            throw fail(n, r, "a depthwise beat of \(r.depthwisePositions) positions of \(r.positionHalfSlice ? "half a slice" : "\(r.positionSlices) slices"); the engine takes \(slices) slices")
        }
        guard r.depthwisePositions == 1 || !r.stride2 else { throw fail(n, r, "a depthwise beat of several positions at stride 2") }
        // Tap lanes a folded beat fills.
        let foldTaps = r.oneTapPerBeat ? 1 : config.foldTaps
        guard !r.singleSlice || (r.wide && r.mode == .pointwise && config.hasSingleSliceSlots) else {
            throw fail(n, r, "single-slice slots on a pass that is not wide pointwise, or a configuration without them")
        }
        // A wide pass's slots and the input slices each takes (K).
        let (wideSlots, wideBeatSlices) = config.wideSlotShape(singleSlice: r.singleSlice)
        guard r.slotOffsets.count <= wideSlots, r.slotOffsets.allSatisfy({ $0 < config.slotOffsetChoices }) else {
            throw fail(n, r, "slot offsets \(r.slotOffsets): the engine has \(wideSlots) slots of \(config.slotOffsetChoices) starts")
        }
        // 3. weights
        var weights = [Int32]()
        var weightBytes = 0
        if r.op == .conv {
            // No weight beats: the pass keeps the set the pass before it loaded, in the same mode.
            let set: [UInt8]
            if r.weightBeats == 0 {
                guard let kept = keptWeights, kept.mode == r.mode, kept.wide == r.wide, kept.singleSlice == r.singleSlice else {
                    throw fail(n, r, "no weight beats, and the set loaded last is not a \(r.wide ? "wide " : "")\(r.mode) set to keep")
                }
                set = kept.bytes
            } else {
                if let s = weightStream {
                    // The RTL takes the stream's next beats whatever the record's address says.
                    let at = Int(s.address) + streamBeatsLoaded * b
                    guard Int(r.weightAddress) == at, streamBeatsLoaded + r.weightBeats <= s.beats else {
                        throw fail(n, r, "weights at \(r.weightAddress) (\(r.weightBeats) beats), but the weight stream's next set is at \(at) with \(s.beats - streamBeatsLoaded) beats left")
                    }
                    streamBeatsLoaded += r.weightBeats
                }
                try inside(Int(r.weightAddress), r.weightBeats * b, "weights")
                set = memory.bytes(r.weightAddress, r.weightBeats * b)
                keptWeights = (r.mode, r.wide, r.singleSlice, set)
            }
            let need: Int
            switch r.mode {
            case .standard: need = 9 * config.pc * config.pf
            // Folded: only the taps up to the last data byte; the later taps read fill and add 0,
            // so their weights (whatever the set before left there) never matter.
            // A replay's positions carry the taps their kept pass gathered: whatever the pass loads.
            case .folded: need = r.replay ? min(set.count, 9 * config.pc * config.pf)
                : ControlPlan.foldedWeightBytes(beats: r.regionCols, inChunk: r.inChunk, taps: foldTaps, config: config)
            case .pointwise where r.wide:
                // Lane q·S + v holds filter group v's weights of the beat's slice q: the set covers the
                // lanes up to the last slice's last group (later lanes see fill and add nothing).
                let used = max(1, (r.outChunk + config.pf - 1) / config.pf), s = wideSlots
                let beatSlices = max(1, (r.inChunk + config.pc - 1) / config.pc)
                guard used <= s else {
                    throw fail(n, r, "wide pass of \(r.outChunk) output bytes is \(used) filter groups; the engine computes \(s) at once")
                }
                if r.slotOffsets.isEmpty {
                    guard beatSlices <= wideBeatSlices else {
                        throw fail(n, r, "wide beat of \(r.inChunk) bytes is \(beatSlices) slices; the engine takes \(wideBeatSlices)")
                    }
                    need = ((beatSlices - 1) * s + used) * config.pc * config.pf
                } else {
                    // Packed positions: a used slot's lane q sees data wherever its slice starts
                    // inside the chunk (the next position's bytes, not fill), so the set must reach
                    // every such lane, with zeros where the slot's own position has no slice q.
                    var lanes = 0
                    for slot in 0 ..< used {
                        let start = (slot < r.slotOffsets.count ? r.slotOffsets[slot] : 0) * config.slotOffsetUnit
                        for q in 0 ..< wideBeatSlices where start + q * config.pc < r.inChunk { lanes = max(lanes, q * s + slot + 1) }
                    }
                    need = lanes * config.pc * config.pf
                }
            case .pointwise: need = config.pc * config.pf
            case .depthwise:
                let used = max(1, (r.inChunk + config.pc - 1) / config.pc)
                guard used <= slices else { throw fail(n, r, "depthwise chunk of \(r.inChunk) bytes is \(used) slices; a beat carries \(slices)") }
                need = used * 9 * config.pc
            }
            guard set.count >= need else { throw fail(n, r, "\(set.count / b) weight beats hold \(set.count) bytes; the \(r.mode) set has \(need)") }
            weightBytes = need
            let t = r.pruningThreshold
            weights = (0 ..< (r.mode == .folded ? 9 * config.pc * config.pf : need)).map { k in
                guard k < need else { return 0 }
                let w = Int32(Int8(bitPattern: set[k]))
                return t > 0 && abs(w) <= Int32(t) ? 0 : w
            }
        }
        // 4. residual
        var residual = [Int8]()
        let writes = r.op == .copy || r.last
        if r.residual && writes && r.residualSpan {
            // The buffer as the RTL addresses it: position p's bytes at p·stride + offset, in U-byte
            // banks (OutputPath), so both must be whole banks.
            let stride = Int(r.outputPixelStride), unit = OutputPath.residualUnit(lanes: lanes)
            guard stride % unit == 0, r.residualOffset % unit == 0, stride < 1 << 16 else {
                throw fail(n, r, "residual span stride \(stride) and offset \(r.residualOffset) must be multiples of \(unit) (the residual buffer's banks), the stride below 65536")
            }
            if !r.residualKept {
                let capacity = OutputPath.residualWords(positions: config.outputBufferDepth, lanes: lanes, streamBytes: b)
                guard r.residualBeats <= capacity else { throw fail(n, r, "residual span of \(r.residualBeats) beats; the residual buffer holds \(capacity)") }
                try inside(Int(r.residualAddress), r.residualBeats * b, "residual span")
                residualSpanBytes = (0 ..< r.residualBeats * b).map { Int8(bitPattern: memory[Int(r.residualAddress) + $0]) }
            }
            guard let span = residualSpanBytes else { throw fail(n, r, "keeps a residual span, but the residual buffer holds none") }
            let needed = positions == 0 ? 0 : (positions - 1) * stride + r.residualOffset + r.outChunk
            guard needed <= span.count else { throw fail(n, r, "residual positions reach byte \(needed) of a \(span.count)-byte span") }
            residual.reserveCapacity(positions * r.outChunk)
            for p in 0 ..< positions { residual += span[p * stride + r.residualOffset ..< p * stride + r.residualOffset + r.outChunk] }
        } else if r.residual && writes {
            guard positions <= config.outputBufferDepth else { throw fail(n, r, "\(positions) residual positions exceed the output buffer depth \(config.outputBufferDepth)") }
            residualSpanBytes = nil
            residual.reserveCapacity(positions * r.outChunk)
            for p in 0 ..< positions {
                let a = outputOffset(p, r.residualAddress)
                try inside(a, r.outChunk, "residual")
                for k in 0 ..< r.outChunk { residual.append(Int8(bitPattern: memory[a + k])) }
            }
        }
        // 5. pixels: the region in raster order, fill outside the image and beyond inChunk.
        let width = r.op == .copy ? b : r.mode == .folded ? foldTaps * config.pc
            : r.mode == .depthwise ? slices * config.pc : r.wide && r.mode == .pointwise ? b : config.pc
        let regionPositions = r.regionRows * r.regionCols
        var region = [Int8](repeating: Int8(truncatingIfNeeded: r.fillValue), count: regionPositions * width)
        for y in 0 ..< r.regionRows {
            let iy = r.regionRow0 + y
            guard iy >= 0, iy < r.imageRows else { continue }
            for x in 0 ..< r.regionCols {
                let ix = r.regionCol0 + x
                guard ix >= 0, ix < r.imageCols else { continue }
                let a = Int(r.inputAddress) + iy * Int(r.inputRowStride) + ix * Int(r.inputPixelStride)
                try inside(a, r.inChunk, "input")
                let dst = (y * r.regionCols + x) * width
                for k in 0 ..< min(r.inChunk, width) { region[dst + k] = Int8(bitPattern: memory[a + k]) }
            }
        }

        if r.op == .copy {
            guard regionPositions == positions else { throw fail(n, r, "copies \(regionPositions) positions into \(positions)") }
            guard !r.residual || r.outChunk <= lanes else { throw fail(n, r, "ADD copy of \(r.outChunk) bytes per position; the ADD has \(lanes) lanes") }
            let add = r.residual ? try addParameters(r.add) : nil
            for p in 0 ..< positions {
                let a = outputOffset(p, r.outputAddress)
                try inside(a, r.outChunk, "output")
                for k in 0 ..< r.outChunk {
                    var y = region[p * width + k]
                    if let add {
                        let v = residual[p * r.outChunk + k]
                        y = r.resultIsSecond ? add.add(v, y) : add.add(y, v)
                    }
                    memory[a + k] = UInt8(bitPattern: y)
                }
            }
            return
        }

        // Engine: sums per output position of the pass and lane.
        let capacity = r.mode == .pointwise && !r.wide ? (positions + config.pv - 1) / config.pv : positions
        guard capacity <= config.outputBufferDepth else { throw fail(n, r, "\(capacity) accumulator entries exceed the output buffer depth \(config.outputBufferDepth)") }
        if r.first {
            acc = [Int32](repeating: 0, count: positions * accLanes)
            accPositions = positions
        } else {
            guard accPositions == positions, acc.count == positions * accLanes else {
                throw fail(n, r, "accumulates \(positions) positions onto a group of \(accPositions)")
            }
        }
        let pc = config.pc, pf = config.pf, fill = Int32(r.fillValue), lanes = self.lanes, al = accLanes, slices = self.slices
        let diff = region.map { Int32($0) &- fill }
        switch r.mode {
        case .pointwise:
            guard regionPositions == positions else { throw fail(n, r, "pointwise region of \(regionPositions) positions writes \(positions)") }
            // Wide: pixel lane q·S + g (slot g) computes with weights ((q·S + g)·PC + c)·PF + f
            // on slice q of the bytes from slot g's offset on (byte o_g·U + q·PC + c of the beat;
            // past the beat: fill, adding 0); a slot's lanes are summed.
            let sw = wideSlots, unit = config.slotOffsetUnit
            let beatLanes = r.wide ? min(weights.count / (pc * pf), sw * wideBeatSlices) : 1
            let offsets = (0 ..< sw).map { $0 < r.slotOffsets.count ? r.slotOffsets[$0] * unit : 0 }
            diff.withUnsafeBufferPointer { x in weights.withUnsafeBufferPointer { w in acc.withUnsafeMutableBufferPointer { s in
                for p in 0 ..< positions {
                    for lane in 0 ..< beatLanes {
                        let q = lane / sw, g = r.wide ? lane % sw : 0
                        for c in 0 ..< pc {
                            let at = (r.wide ? offsets[g] : 0) + q * pc + c
                            if at >= width { continue }
                            let v = x[p * width + at]
                            if v == 0 { continue }
                            for f in 0 ..< pf { s[p * al + g * lanes + f] &+= w[(lane * pc + c) * pf + f] &* v }
                        }
                    }
                }
            } } }
        case .folded:
            // Region row p is position p; beat x of the row is taps x·t ..< x·t + t (byte j·PC + c is
            // tap x·t + j, channel c). Taps past the row's beats read as fill, so they add nothing.
            let t = foldTaps
            guard r.regionRows == positions else {
                throw fail(n, r, "folded region of \(r.regionRows) rows writes \(positions) positions")
            }
            guard (r.regionCols - 1) * t < 9 else { throw fail(n, r, "folded region of \(r.regionCols) beats starts a beat at tap \((r.regionCols - 1) * t); the engine has 9") }
            // A last beat may reach past tap 8: those bytes have no tap lane.
            let beats = r.regionCols, width = t * pc, wordBytes = 9 * pc, used = min(beats * width, wordBytes)
            guard !(r.keep && r.replay) else { throw fail(n, r, "a folded pass either keeps or replays its positions") }
            guard r.bufferRow0 + positions <= inputBuffer.count || !(r.keep || r.replay) else {
                throw fail(n, r, "input-buffer words [\(r.bufferRow0), \(r.bufferRow0 + positions)) past its \(inputBuffer.count)")
            }
            if r.replay {
                guard beats == 1 else { throw fail(n, r, "a replay takes one (fill) beat per position, not \(beats)") }
                let loaded = weightBytes
                for p in 0 ..< positions {
                    guard let word = inputBuffer[r.bufferRow0 + p] else { throw fail(n, r, "replays input-buffer word \(r.bufferRow0 + p), never kept") }
                    for d in 0 ..< wordBytes {
                        let v = Int32(word[d]) &- fill
                        if v == 0 { continue }
                        guard (d + 1) * pf <= loaded else { throw fail(n, r, "replayed tap byte \(d) has data beyond the \(loaded) weight bytes loaded") }
                        for f in 0 ..< pf { acc[p * al + f] &+= weights[d * pf + f] &* v }
                    }
                }
                break
            }
            if r.keep {
                // The RTL's gather: a position's first beat sets the taps it does not carry to fill.
                for p in 0 ..< positions {
                    var word = [Int8](repeating: Int8(truncatingIfNeeded: r.fillValue), count: wordBytes)
                    for d in 0 ..< used { word[d] = region[p * beats * width + d] }
                    inputBuffer[r.bufferRow0 + p] = word
                }
            }
            diff.withUnsafeBufferPointer { x in weights.withUnsafeBufferPointer { w in acc.withUnsafeMutableBufferPointer { sums in
                for p in 0 ..< positions {
                    for d in 0 ..< used {
                        let v = x[p * beats * width + d]
                        if v == 0 { continue }
                        let wr = d * pf   // tap k = x·t + d / PC with x·t·PC + (d mod t·PC) = d: (k·PC + c)·PF
                        for f in 0 ..< pf { sums[p * al + f] &+= w[wr + f] &* v }
                    }
                }
            } } }
        case .standard, .depthwise:
            let s = r.stride2 ? 2 : 1
            let oh = (r.regionRows + r.padTop + r.padBottom - 3) / s + 1, ow = (r.regionCols + r.padLeft + r.padRight - 3) / s + 1
            guard r.regionRows + r.padTop + r.padBottom >= 3, r.regionCols + r.padLeft + r.padRight >= 3, oh == r.outputRows, ow == r.outputCols else {
                throw fail(n, r, "the reshape unit makes \(oh)x\(ow) windows of a \(r.regionRows)x\(r.regionCols) region; the record writes \(r.outputRows)x\(r.outputCols)")
            }
            guard r.regionCols <= config.maxRowWidth else { throw fail(n, r, "region of \(r.regionCols) columns exceeds maxRowWidth \(config.maxRowWidth)") }
            let depthwise = r.mode == .depthwise
            let rows = r.regionRows, cols = r.regionCols, pt = r.padTop, pl = r.padLeft
            // Tap lane k's window tap and result slot: a split window's lanes 0-3 repeat taps 4, 5,
            // 7, 8 for filter group 1 and lane 6 adds nothing; otherwise lane k is tap k, group 0.
            let laneTaps: [(lane: Int, tap: Int, slot: Int)] = (0 ..< 9).compactMap { k in
                guard r.wide else { return (k, k, 0) }
                if let tap = SplitWindow.copiedTap(lane: k) { return (k, tap, 1) }
                return SplitWindow.taps.contains(k) ? (k, k, 0) : nil
            }
            // Several positions a beat: lane L's tap k is the source DepthwisePositions names.
            let positionSources = depthwise && r.depthwisePositions > 1
                ? (0 ..< slices * pc).map { lane in (0 ..< 9).map { DepthwisePositions.source(lane: lane, tap: $0, shape: positionShape, pc: pc) } }
                : nil
            diff.withUnsafeBufferPointer { x in weights.withUnsafeBufferPointer { w in acc.withUnsafeMutableBufferPointer { sums in
                for oy in 0 ..< oh {
                    for ox in 0 ..< ow {
                        let p = oy * ow + ox
                        if let positionSources {
                            for lane in 0 ..< slices * pc {
                                let g = lane / pc, c = lane % pc
                                for k in 0 ..< 9 where (g * 9 + k) * pc < w.count {
                                    guard let from = positionSources[lane][k] else { continue }
                                    let ry = oy + from.tap / 3 - pt, rx = ox + from.tap % 3 - pl   // stride 1
                                    guard ry >= 0, ry < rows, rx >= 0, rx < cols else { continue }
                                    sums[p * al + g * lanes + c] &+= w[(g * 9 + k) * pc + c] &* x[(ry * cols + rx) * width + from.lane]
                                }
                            }
                            continue
                        }
                        for (lane, k, slot) in laneTaps {
                            let ry = oy * s + k / 3 - pt, rx = ox * s + k % 3 - pl
                            guard ry >= 0, ry < rows, rx >= 0, rx < cols else { continue }   // a pad: x − in_zp = 0
                            let xv = (ry * cols + rx) * width
                            if depthwise {
                                // Slice s of the beat on window group s, its taps at (s·9 + k)·PC.
                                for s in 0 ..< slices where (s * 9 + k) * pc < w.count {
                                    for c in 0 ..< pc { sums[p * al + s * lanes + c] &+= w[(s * 9 + k) * pc + c] &* x[xv + s * pc + c] }
                                }
                            } else {
                                for c in 0 ..< pc {
                                    let v = x[xv + c]
                                    if v == 0 { continue }
                                    let wr = (lane * pc + c) * pf, at = p * al + slot * lanes
                                    for f in 0 ..< pf { sums[at + f] &+= w[wr + f] &* v }
                                }
                            }
                        }
                    }
                }
            } } }
        }
        guard r.last else { return }
        let laneCount = r.mode == .depthwise ? slices * pc : r.wide ? (r.mode == .standard ? SplitWindow.groups : wideSlots) * pf : pf
        guard r.outChunk <= laneCount else { throw fail(n, r, "writes \(r.outChunk) bytes per position from \(laneCount) lanes") }
        guard !r.residual || r.outChunk <= lanes else { throw fail(n, r, "ADD of \(r.outChunk) bytes per position; the ADD has \(lanes) lanes") }
        let add = r.residual ? try addParameters(r.add) : nil
        for p in 0 ..< positions {
            let a = outputOffset(p, r.outputAddress)
            try inside(a, r.outChunk, "output")
            for j in 0 ..< r.outChunk {
                // Depthwise byte j is slice j / PC's channel j mod PC: its word and parameter slot.
                // Wide byte j is filter group j / PF's lane j mod PF.
                let q = r.mode == .depthwise ? (j / pc) * lanes + j % pc : r.wide ? (j / pf) * lanes + j % pf : j
                var y = FixedPoint.requantize(acc: acc[p * al + q] &+ bias[q], multiplier: multiplier[q], shift: shift[q],
                                              outputZeroPoint: r.outZeroPoint, min: r.activationMin, max: r.activationMax)
                if let add {
                    let v = residual[p * r.outChunk + j]
                    y = r.resultIsSecond ? add.add(v, y) : add.add(y, v)
                }
                memory[a + j] = UInt8(bitPattern: y)
            }
        }
    }

    private func addParameters(_ f: Instruction.AddFields) throws -> AddParameters {
        var p = try AddParameters(input1Scale: 1, input1ZeroPoint: 0, input2Scale: 1, input2ZeroPoint: 0, outputScale: 1, outputZeroPoint: 0)
        p.input1Offset = f.input1Offset; p.input2Offset = f.input2Offset
        p.input1Multiplier = f.input1Multiplier; p.input2Multiplier = f.input2Multiplier; p.outputMultiplier = f.outputMultiplier
        p.input1Shift = f.input1Shift; p.input2Shift = f.input2Shift; p.outputShift = f.outputShift
        p.outputOffset = f.outputOffset; p.activationMin = f.activationMin; p.activationMax = f.activationMax
        return p
    }
}
