import Accelerator
import Dispatch
import Reference

/// The executable specification of the instruction set: runs a decoded instruction stream over
/// the memory image with the hardware's arithmetic, walking the same slices, pieces, column tiles
/// and addresses the controller will, so the RTL can later be compared with it instruction by
/// instruction. Partial sums are int32 per PC×PF slice, accumulated over channel slices and 3×3
/// pieces (wrapping, as the accumulators do); bias, requantization, the fused ADD and the clamp are
/// the quantization unit's (Reference.FixedPoint, Reference.AddParameters). It never calls the
/// Reference kernels; only the host's softmax is Reference code, as on the real host.
public final class Executor {
    public let config: AcceleratorConfig
    public let instructions: [Instruction]
    public let dma: DMASchedule
    private let image: [UInt8]
    private let options: MapperOptions
    private let inputAddress: UInt32
    private var memories: [Instruction.Route: UnsafeMutableBufferPointer<UInt8>] = [:]

    /// Runs `program` from its encoded bytes, so what executes is exactly what dsc compile writes.
    public convenience init(_ program: Program) throws {
        try self.init(instructionStream: try program.encodedInstructions(), memory: program.memory, dma: program.dma,
                      config: program.config, options: program.options, inputAddress: program.inputAddress)
    }

    public init(instructionStream: [UInt8], memory: [UInt8], dma: DMASchedule, config: AcceleratorConfig, options: MapperOptions, inputAddress: UInt32) throws {
        self.instructions = try Instruction.decodeStream(instructionStream)
        self.config = config
        self.dma = dma
        self.image = memory
        self.options = options
        self.inputAddress = inputAddress
    }

    deinit { for m in memories.values { m.deallocate() } }

    /// Runs one inference and returns the network's first output (after the host's softmax, if any).
    ///
    /// `afterEach`, when given, sees every instruction's index and the instruction after it ran;
    /// `bytes` reads memory there (a layer span's tensor after its last instruction: the trace the
    /// RTL is compared with).
    public func run(input: [Int8], afterEach: ((Int, Instruction) throws -> Void)? = nil) throws -> [Int8] {
        for m in memories.values { m.deallocate() }
        memories = [.external: .allocate(capacity: max(image.count, 1)), .ramS: .allocate(capacity: options.ramSBytes), .ramM: .allocate(capacity: options.ramMBytes)]
        for m in memories.values { m.initialize(repeating: 0) }
        _ = memories[.external]!.initialize(from: image)
        var hostValues = [Int: [Int8]]()
        for n in 0 ... instructions.count {
            for entry in dma.entries where entry.beforeInstruction == n {
                for t in entry.transfers {
                    let p = try region(.external, t.address, t.length, "DMA \(t.what)")
                    switch t.direction {
                    case .toDevice:
                        guard t.address == inputAddress, input.count == t.length else {
                            throw MapperError("DMA writes \(t.length) bytes of \(t.what); the input has \(input.count)")
                        }
                        for k in 0 ..< t.length { p[k] = UInt8(bitPattern: input[k]) }
                    case .toHost:
                        hostValues[t.tensor] = (0 ..< t.length).map { Int8(bitPattern: p[$0]) }
                    }
                }
                for h in entry.hostSteps {
                    guard let x = hostValues[h.inputTensor] else { throw MapperError("host step layer \(h.layer) reads tensor \(h.inputTensor) that no transfer brought back") }
                    do {
                        hostValues[h.outputTensor] = try Softmax.run(SoftmaxParameters(beta: Double(h.beta), inputScale: Double(h.inputScale)), input: x, depth: h.depth)
                    } catch { throw MapperError("host step layer \(h.layer): \(error)") }
                }
            }
            if n < instructions.count {
                let i = instructions[n]
                try execute(i, index: n)
                try afterEach?(n, i)
            }
        }
        guard let out = hostValues[dma.outputTensor] else {
            throw MapperError("the schedule never brings tensor \(dma.outputTensor) back to the host")
        }
        return out
    }

    // MARK: - Memory

    /// The bytes at `address` of `route` now: inside `run`'s `afterEach`, what the instructions so
    /// far left there (a layer span's tensor, of which one instruction may write only part).
    public func bytes(_ route: Instruction.Route, _ address: UInt32, _ length: Int) throws -> [UInt8] {
        let p = try region(route, address, length, "read of \(route) bytes")
        return Array(UnsafeBufferPointer(start: p, count: length))
    }

    private func region(_ route: Instruction.Route, _ address: UInt32, _ length: Int, _ what: String) throws -> UnsafeMutablePointer<UInt8> {
        guard let m = memories[route] else { throw MapperError("\(what): no memory \(route)") }
        guard length >= 0, Int(address) + length <= m.count else {
            throw MapperError("\(what): \(route) bytes [\(address), \(Int(address) + length)) outside its \(m.count) bytes")
        }
        return m.baseAddress! + Int(address)
    }

    /// Quantization-unit records of `count` channels.
    private func parameters(_ i: Instruction, count: Int, _ at: String) throws -> (bias: [Int32], multiplier: [Int32], shift: [Int]) {
        let p = try region(.external, i.parameterAddress, count * Slicing.parameterRecordBytes, "\(at) parameters")
        func word(_ o: Int) -> Int32 {
            Int32(bitPattern: UInt32(p[o]) | UInt32(p[o + 1]) << 8 | UInt32(p[o + 2]) << 16 | UInt32(p[o + 3]) << 24)
        }
        var b = [Int32](), m = [Int32](), s = [Int]()
        for c in 0 ..< count {
            b.append(word(12 * c)); m.append(word(12 * c + 4)); s.append(Int(word(12 * c + 8)))
        }
        return (b, m, s)
    }

    private func addParameters(_ i: Instruction) throws -> AddParameters {
        var p = try AddParameters(input1Scale: 1, input1ZeroPoint: 0, input2Scale: 1, input2ZeroPoint: 0, outputScale: 1, outputZeroPoint: 0)
        p.input1Offset = i.add.input1Offset; p.input2Offset = i.add.input2Offset
        p.input1Multiplier = i.add.input1Multiplier; p.input2Multiplier = i.add.input2Multiplier; p.outputMultiplier = i.add.outputMultiplier
        p.input1Shift = i.add.input1Shift; p.input2Shift = i.add.input2Shift; p.outputShift = i.add.outputShift
        p.outputOffset = i.add.outputOffset; p.activationMin = i.add.activationMin; p.activationMax = i.add.activationMax
        return p
    }

    // MARK: - Instructions

    private func execute(_ i: Instruction, index: Int) throws {
        let at = "instruction \(index) (layer \(i.layer), \(i.kind))"
        switch i.kind {
        case .convolution, .depthwise, .pointwise: try convolution(i, at)
        case .fullyConnected: try fullyConnected(i, at)
        case .averagePool: try averagePool(i, at)
        case .mean: try mean(i, at)
        case .add: try add(i, at)
        case .transpose: try transpose(i, at)
        case .pad: try pad(i, at)
        }
    }

    /// The quantization unit's output stage for one channel of one pixel: bias, requantize, clamp,
    /// then the fused shortcut ADD.
    private struct OutputStage {
        let bias: [Int32], multiplier: [Int32], shift: [Int]
        let zeroPoint: Int32, lo: Int32, hi: Int32
        let add: AddParameters?
        let second: Bool
        let residual: UnsafeMutablePointer<UInt8>?
        let output: UnsafeMutablePointer<UInt8>

        @inline(__always) func emit(_ acc: Int32, channel oc: Int, at offset: Int) {
            var y = FixedPoint.requantize(acc: acc &+ bias[oc], multiplier: multiplier[oc], shift: shift[oc], outputZeroPoint: zeroPoint, min: lo, max: hi)
            if let add, let residual {
                let r = Int8(bitPattern: residual[offset])
                y = second ? add.add(r, y) : add.add(y, r)
            }
            output[offset] = UInt8(bitPattern: y)
        }
    }

    private func outputStage(_ i: Instruction, channels: Int, pixels: Int, _ at: String) throws -> OutputStage {
        let q = try parameters(i, count: channels, at)
        let out = try region(i.outputRoute, i.outputAddress, pixels * i.outputChannels, "\(at) output")
        let res = i.fusedAdd ? try region(i.residualRoute, i.residualAddress, pixels * i.outputChannels, "\(at) residual") : nil
        return OutputStage(bias: q.bias, multiplier: q.multiplier, shift: q.shift, zeroPoint: i.outputZeroPoint, lo: i.activationMin, hi: i.activationMax,
                           add: i.fusedAdd ? try addParameters(i) : nil, second: i.resultIsSecondAddend, residual: res, output: out)
    }

    private func convolution(_ i: Instruction, _ at: String) throws {
        let pc = config.pc, pf = config.pf
        let inC = i.inputChannels, outC = i.outputChannels
        let nCS = i.channelSlices, nFS = i.filterSlices, pieces = i.pieces
        let depthwise = i.kind == .depthwise, pointwise = i.kind == .pointwise
        guard !depthwise || inC * i.depthMultiplier == outC else { throw MapperError("\(at): \(inC) channels × multiplier \(i.depthMultiplier) ≠ \(outC)") }
        let expectedCS = Slicing.ceilDiv(depthwise ? outC : inC, pc), expectedFS = depthwise ? 1 : Slicing.ceilDiv(outC, pf)
        guard nCS == expectedCS, nFS == expectedFS else { throw MapperError("\(at): slice counts \(nCS)×\(nFS) do not cover the channels (\(expectedCS)×\(expectedFS))") }
        let taps = pointwise ? 1 : 9
        let weightBytes = depthwise ? nCS * pieces * 9 * pc : nFS * pieces * nCS * taps * pc * pf
        let weights = try prunedWeights(i, count: weightBytes, at)
        let x = try region(i.inputRoute, i.inputAddress, i.inputHeight * i.inputWidth * inC, "\(at) input")
        let stage = try outputStage(i, channels: depthwise ? nCS * pc : nFS * pf, pixels: i.outputHeight * i.outputWidth, at)
        try weights.withUnsafeBufferPointer { w in try convolution(i, at, weights: w.baseAddress!, input: x, stage: stage) }
    }

    private func convolution(_ i: Instruction, _ at: String, weights wp: UnsafePointer<Int8>, input x: UnsafeMutablePointer<UInt8>, stage: OutputStage) throws {
        let pc = config.pc, pf = config.pf
        let inC = i.inputChannels, outC = i.outputChannels
        let nCS = i.channelSlices, nFS = i.filterSlices, pieces = i.pieces
        let depthwise = i.kind == .depthwise, pointwise = i.kind == .pointwise
        let zp = i.inputZeroPoint
        let outW = i.outputWidth, sH = i.strideH, sW = i.strideW

        if pointwise {
            let cPad = nCS * pc
            let inW = i.inputWidth
            parallel(i.outputHeight) { oy in
                var xs = [Int32](repeating: 0, count: cPad)
                var acc = [Int32](repeating: 0, count: pf)
                for ox in i.tileOutColumn ..< i.tileOutColumn + i.tileOutColumns {
                    let src = x + ((oy * sH) * inW + ox * sW) * inC
                    for c in 0 ..< inC { xs[c] = Int32(Int8(bitPattern: src[c])) &- zp }
                    let pixel = (oy * outW + ox) * outC
                    for fs in 0 ..< nFS {
                        for f in 0 ..< pf { acc[f] = 0 }
                        for cs in 0 ..< nCS {
                            for ci in 0 ..< pc {
                                let v = xs[cs * pc + ci]
                                if v == 0 { continue }
                                let w = wp + ((fs * nCS + cs) * pc + ci) * pf
                                for f in 0 ..< pf { acc[f] &+= Int32(w[f]) &* v }
                            }
                        }
                        for f in 0 ..< pf where fs * pf + f < outC { stage.emit(acc[f], channel: fs * pf + f, at: pixel + fs * pf + f) }
                    }
                }
            }
            return
        }

        // The line/matrix buffers of the reshape unit for this column tile: rows from the first
        // padded row any piece reads, columns of the tile (tileInColumn already includes the first
        // piece's offset); x - zp, with padding at 0 exactly as a padding pixel of value zp
        // contributes. Piece (py, px) tap (ty, tx) of output (oy, ox) is buffer row
        // oy·strideH + 3py + ty, column (ox − tileOutColumn)·strideW + 3px + tx.
        let rows = (i.outputHeight - 1) * sH + 3 * i.piecesH
        let cols = i.tileInColumns
        let bc = depthwise ? inC : nCS * pc
        guard cols >= (i.tileOutColumns - 1) * sW + 3 * i.piecesW else { throw MapperError("\(at): tile of \(cols) input columns is too narrow for \(i.tileOutColumns) outputs") }
        var buffer = [Int16](repeating: 0, count: rows * cols * bc)
        let inH = i.inputHeight, inW = i.inputWidth
        // Buffer row 0 is the row under tap 0 of the first piece row for output row 0.
        let firstRow = -i.padTop + Slicing.pieceOffset(0, kernel: i.kernelHeight, pieces: i.piecesH)
        for r in 0 ..< rows {
            let iy = r + firstRow
            guard iy >= 0, iy < inH else { continue }
            for col in 0 ..< cols {
                let ix = i.tileInColumn + col
                guard ix >= 0, ix < inW else { continue }
                let src = x + (iy * inW + ix) * inC, dst = (r * cols + col) * bc
                for c in 0 ..< inC { buffer[dst + c] = Int16(Int8(bitPattern: src[c])) &- Int16(zp) }
            }
        }
        let piecesW = i.piecesW, m = i.depthMultiplier
        buffer.withUnsafeBufferPointer { bufPtr in
            let buf = bufPtr.baseAddress!
            parallel(i.outputHeight) { oy in
                var acc = [Int32](repeating: 0, count: pf)
                for ox in i.tileOutColumn ..< i.tileOutColumn + i.tileOutColumns {
                    let lx = (ox - i.tileOutColumn) * sW
                    let pixel = (oy * outW + ox) * outC
                    if depthwise {
                        for cs in 0 ..< nCS {
                            for ci in 0 ..< pc {
                                let oc = cs * pc + ci
                                guard oc < outC else { break }
                                let ic = oc / m
                                var a: Int32 = 0
                                for piece in 0 ..< pieces {
                                    let py = piece / piecesW, px = piece % piecesW
                                    let w = wp + ((cs * pieces + piece) * 9) * pc + ci
                                    for t in 0 ..< 9 {
                                        let r = oy * sH + 3 * py + t / 3, col = lx + 3 * px + t % 3
                                        a &+= Int32(w[t * pc]) &* Int32(buf[(r * cols + col) * bc + ic])
                                    }
                                }
                                stage.emit(a, channel: oc, at: pixel + oc)
                            }
                        }
                        continue
                    }
                    for fs in 0 ..< nFS {
                        for f in 0 ..< pf { acc[f] = 0 }
                        for piece in 0 ..< pieces {
                            let py = piece / piecesW, px = piece % piecesW
                            for cs in 0 ..< nCS {
                                for t in 0 ..< 9 {
                                    let r = oy * sH + 3 * py + t / 3, col = lx + 3 * px + t % 3
                                    let xv = buf + (r * cols + col) * bc + cs * pc
                                    let wt = wp + ((((fs * pieces + piece) * nCS + cs) * 9 + t) * pc) * pf
                                    for ci in 0 ..< pc {
                                        let v = Int32(xv[ci])
                                        if v == 0 { continue }
                                        let w = wt + ci * pf
                                        for f in 0 ..< pf { acc[f] &+= Int32(w[f]) &* v }
                                    }
                                }
                            }
                        }
                        for f in 0 ..< pf where fs * pf + f < outC { stage.emit(acc[f], channel: fs * pf + f, at: pixel + fs * pf + f) }
                    }
                }
            }
        }
    }

    private func fullyConnected(_ i: Instruction, _ at: String) throws {
        let pf = config.pf, chunk = Slicing.fullyConnectedChunk(config)
        let depth = i.inputChannels, outs = i.outputChannels, nCS = i.channelSlices, nFS = i.filterSlices
        guard nCS == Slicing.ceilDiv(depth, chunk), nFS == Slicing.ceilDiv(outs, pf) else { throw MapperError("\(at): slice counts do not cover \(depth)×\(outs)") }
        let weights = try prunedWeights(i, count: nFS * nCS * chunk * pf, at)
        let x = try region(i.inputRoute, i.inputAddress, i.batches * depth, "\(at) input")
        let stage = try outputStage(i, channels: nFS * pf, pixels: i.batches, at)
        weights.withUnsafeBufferPointer { wb in
        let wp = wb.baseAddress!
        var acc = [Int32](repeating: 0, count: pf)
        for b in 0 ..< i.batches {
            for fs in 0 ..< nFS {
                for f in 0 ..< pf { acc[f] = 0 }
                for cs in 0 ..< nCS {
                    for di in 0 ..< chunk {
                        let d = cs * chunk + di
                        guard d < depth else { break }
                        let v = Int32(Int8(bitPattern: x[b * depth + d])) &- i.inputZeroPoint
                        let w = wp + ((fs * nCS + cs) * chunk + di) * pf
                        for f in 0 ..< pf { acc[f] &+= (Int32(w[f]) &- i.weightZeroPoint) &* v }
                    }
                }
                for f in 0 ..< pf where fs * pf + f < outs { stage.emit(acc[f], channel: fs * pf + f, at: b * outs + fs * pf + f) }
            }
        }
        }
    }

    /// The weight block as the multipliers see it: hardware-assisted pruning disables every
    /// multiplier whose |w| ≤ pruningThreshold (Accelerator.Pruning), so its product is 0.
    private func prunedWeights(_ i: Instruction, count: Int, _ at: String) throws -> [Int8] {
        let p = try region(.external, i.weightAddress, count, "\(at) weights")
        let t = i.pruningThreshold
        return (0 ..< count).map { k in
            let w = Int8(bitPattern: p[k])
            return t > 0 && abs(Int(w)) <= t ? 0 : w
        }
    }

    private func averagePool(_ i: Instruction, _ at: String) throws {
        let c = i.inputChannels, inH = i.inputHeight, inW = i.inputWidth
        let x = try region(i.inputRoute, i.inputAddress, inH * inW * c, "\(at) input")
        let out = try region(i.outputRoute, i.outputAddress, i.outputHeight * i.outputWidth * c, "\(at) output")
        for oy in 0 ..< i.outputHeight {
            for ox in 0 ..< i.outputWidth {
                let y0 = oy * i.strideH - i.padTop, x0 = ox * i.strideW - i.padLeft
                let fy0 = max(0, -y0), fy1 = min(i.kernelHeight, inH - y0), fx0 = max(0, -x0), fx1 = min(i.kernelWidth, inW - x0)
                for ch in 0 ..< c {
                    var sum: Int32 = 0, count: Int32 = 0
                    if fy0 < fy1 && fx0 < fx1 {
                        for fy in fy0 ..< fy1 {
                            for fx in fx0 ..< fx1 { sum &+= Int32(Int8(bitPattern: x[((y0 + fy) * inW + x0 + fx) * c + ch])); count += 1 }
                        }
                    }
                    // The pooling unit's reciprocal multiply is exact: it equals this rounded division.
                    let avg: Int32 = count == 0 ? 0 : (sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count)
                    out[(oy * i.outputWidth + ox) * c + ch] = UInt8(bitPattern: Int8(truncatingIfNeeded: min(max(avg, i.activationMin), i.activationMax)))
                }
            }
        }
    }

    private func mean(_ i: Instruction, _ at: String) throws {
        let c = i.inputChannels, count = i.inputHeight * i.inputWidth
        let x = try region(i.inputRoute, i.inputAddress, count * c, "\(at) input")
        let out = try region(i.outputRoute, i.outputAddress, c, "\(at) output")
        for ch in 0 ..< c {
            var sum: Int32 = 0
            for p in 0 ..< count { sum &+= Int32(Int8(bitPattern: x[p * c + ch])) }
            let shifted = sum &- i.inputZeroPoint &* Int32(truncatingIfNeeded: count)
            let v = FixedPoint.multiplyByQuantizedMultiplier(shifted, i.meanMultiplier, i.meanShift) &+ i.outputZeroPoint
            out[ch] = UInt8(bitPattern: Int8(truncatingIfNeeded: min(max(v, -128), 127)))
        }
    }

    private func add(_ i: Instruction, _ at: String) throws {
        let n = i.inputChannels
        let a = try region(i.inputRoute, i.inputAddress, n, "\(at) first operand")
        let b = try region(i.residualRoute, i.residualAddress, n, "\(at) second operand")
        let out = try region(i.outputRoute, i.outputAddress, n, "\(at) output")
        let p = try addParameters(i)
        for k in 0 ..< n { out[k] = UInt8(bitPattern: p.add(Int8(bitPattern: a[k]), Int8(bitPattern: b[k]))) }
    }

    private func transpose(_ i: Instruction, _ at: String) throws {
        let s = i.layoutShape, perm = i.permutation
        let n = s.reduce(1, *)
        let x = try region(i.inputRoute, i.inputAddress, n, "\(at) input")
        let out = try region(i.outputRoute, i.outputAddress, n, "\(at) output")
        let inStrides = [s[1] * s[2] * s[3], s[2] * s[3], s[3], 1]
        let o = perm.map { s[$0] }, st = perm.map { inStrides[$0] }
        var k = 0
        for a in 0 ..< o[0] { for b in 0 ..< o[1] { for c in 0 ..< o[2] { for d in 0 ..< o[3] {
            out[k] = x[a * st[0] + b * st[1] + c * st[2] + d * st[3]]; k += 1
        } } } }
    }

    private func pad(_ i: Instruction, _ at: String) throws {
        let h = i.inputHeight, w = i.inputWidth, c = i.inputChannels, oh = i.outputHeight, ow = i.outputWidth
        let x = try region(i.inputRoute, i.inputAddress, h * w * c, "\(at) input")
        let out = try region(i.outputRoute, i.outputAddress, oh * ow * c, "\(at) output")
        out.update(repeating: UInt8(bitPattern: Int8(truncatingIfNeeded: i.outputZeroPoint)), count: oh * ow * c)
        for y in 0 ..< h { for xx in 0 ..< w { for ch in 0 ..< c {
            out[((y + i.padTop) * ow + xx + i.padLeft) * c + ch] = x[(y * w + xx) * c + ch]
        } } }
    }
}

/// Runs `body(i)` for i in 0..<n on all cores; the bodies write disjoint output bytes through raw
/// pointers, which Swift cannot prove, hence the unchecked box.
private func parallel(_ n: Int, _ body: (Int) -> Void) {
    guard n > 1 else { if n == 1 { body(0) }; return }
    withoutActuallyEscaping(body) { escapable in
        let box = UncheckedBox(escapable)
        DispatchQueue.concurrentPerform(iterations: n) { box.value($0) }
    }
}

private struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
