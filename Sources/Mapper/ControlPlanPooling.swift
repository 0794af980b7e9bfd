import Accelerator
import Reference

/// MEAN and AVERAGE_POOL_2D: position sums as folded passes, and depthwise passes of ones.
extension PlanBuilder {
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
}
