import Accelerator
import Reference

/// Copy passes: a standalone ADD (copies through the output path's ADD, the second operand as the
/// residual), TRANSPOSE and PAD.
extension PlanBuilder {
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
