import Accelerator
import Reference

/// Standard convolutions: 3×3 windows over the reshape unit, split windows, convolutions as
/// pointwise passes over their im2col image, and stride-2 layers on their space-to-depth image.
extension PlanBuilder {
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
        let scratch = try scratch(oh * ow * t)
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
        let scratch = try scratch(hs * ws * 4 * c)
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
}
