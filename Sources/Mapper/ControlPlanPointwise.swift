import Accelerator
import Reference

/// Pointwise convolutions: PV passes, wide and packed passes, and folded passes (channel slices
/// on the tap lanes, kept in or replayed from the input buffer).
extension PlanBuilder {
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
        // A fused ADD reads its shortcut as whole pixels, one span for the run's filter groups
        // (ResidualSpans), only where the run's pixels fit the residual buffer; else a beat per
        // position and group. At B = 256, where a 144-channel position is one beat and nothing
        // asks for reuse, MobileNetV2's 56×56 projection ran 3136 positions a pass: 12.6k cycles.
        let lanes = max(config.pc, config.pf), b = config.streamBytes
        let spanRun = OutputPath.residualWords(positions: config.outputBufferDepth, lanes: lanes, streamBytes: b) * b / max(1, cout)
        let runLength = min(reuse ? min(depth, bufferRun) : depth, i.fusedAdd ? max(1, spanRun) : depth)
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
}
