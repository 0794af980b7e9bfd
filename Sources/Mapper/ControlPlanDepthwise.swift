import Accelerator
import Reference

/// Depthwise convolutions with multiplier 1: runs of channel slices a beat, and beats of several
/// positions (DepthwisePositions).
extension PlanBuilder {
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
        // The rows are the layer's, whatever part of them the wide image covers (⌊W/P⌋ wide).
        let inputRow = layer.inputWidth * layer.inputChannels, outputRow = layer.outputWidth * layer.outputChannels
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
                    r.inputPixelStride = UInt32(i.inputChannels); r.inputRowStride = UInt32(inputRow)
                    r.inChunk = chunk; r.fillValue = i.inputZeroPoint
                    r.weightAddress = sets[k][piece].address; r.weightBeats = sets[k][piece].beats
                    output(&r, i, row: oy0, col: ox0, channel: cs * pc, chunk: chunk, rowStride: outputRow)
                    if p > 1 { r.depthwisePositions = p; r.positionSlices = half ? 1 : q; r.positionHalfSlice = half }
                    return r
                }
                group(passes, parameters: params[k], residual: residual(i, row: oy0, col: ox0, channel: cs * pc), parameterSlices: n)
            }
        }
    }
}
