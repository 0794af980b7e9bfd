import Accelerator
import Reference

/// FULLY_CONNECTED: pointwise passes for a batch of PV or more, else windows or folded passes,
/// whichever the cycle model says is faster.
extension PlanBuilder {
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
}
