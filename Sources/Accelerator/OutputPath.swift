import HDLKit

/// The ExecutionUnit's back end, from the results of a pass to its output beats: the result FIFO,
/// the residual buffer, the serializer (one output position per beat), the fused ADD
/// (`ResidualAdder`) and the output FIFO. Nothing between the result FIFO and the output FIFO
/// stalls, and nothing in front of the result FIFO does either (the engine, the accumulator and the
/// quantization unit), so both FIFOs are guarded by credits: the producer `claim`s a result-FIFO
/// entry when a beat that will produce one is admitted (`has_space` says one is free), and the
/// serializer issues a position only while the output FIFO has a word nobody has claimed. No beat
/// is ever dropped, whatever `out_ready` does.
///
/// Ports:
///   pass:     pass_start (clears the counters), pointwise (PV positions per entry), depthwise (an
///             entry's slices v < S = depthwiseSlices are one position, byte s·PC + c from entry byte
///             s·lanes + c), copy (entries
///             are B-byte copy beats), residual (ADD each position with its residual word),
///             result_second (the result is ADD's input 2), positions (uint 32: output positions of
///             the pass; later ones of an entry are dropped), out_chunk, the ADD parameters add_*
///             (as ExecutionUnit's ports).
///   credits:  claim (an entry is promised this cycle), has_space.
///   results:  push (an entry, never while full thanks to the credits), entry_<e> (sint 8,
///             e < entryBytes: pointwise pixel v, lane j at e = v·lanes + j; otherwise e < lanes,
///             or a copy's e < B).
///   residual: residual_span, residual_stride (uint 16), residual_offset (uint 8): how positions
///             find their residual (below); residual_write, residual_<b> (b < B): beat n of the
///             pass's residual phase, n counting from 0 at `pass_start`.
///
/// The residual buffer is B bytes wide, in banks of U = `residualUnit` bytes (B/U of them, each
/// one block RAM), and holds the residual as a byte string: position n's `lanes` bytes are at byte
/// a(n). Per position (`residual_span` low): beat n carries position n in its first `lanes` bytes,
/// stored at a(n) = n·lanes. As a span (`residual_span` high): beat n is bytes n·B ..< (n+1)·B of
/// whole residual pixels, a(n) = n·`residual_stride` + `residual_offset` (both multiples of U), so
/// a C-byte pixel costs C/B beats instead of one, and another filter group of the same positions
/// reads the buffer again with its own offset and no residual phase. A position's bytes are read
/// from two words at once (bank k at word a/B, or the one after it for banks before a mod B) and
/// rotated by (a mod B)/U banks: a shift of whole banks, so reading any a costs one cycle.
///   out:      out_valid, out_ready, out_byte_<b> (b < B, bytes ≥ out_chunk 0), out_last, out_fire.
///
/// Latency: an entry pushed in cycle t issues its first position in t + 1 (fall-through FIFO);
/// a position issued in cycle t is on `out_*` in t + `latency(residual:)`: with the ADD, residual
/// read 1, ADD 11, output FIFO 1; without it the position goes around the ADD (stage 1, output
/// FIFO 1), so a pass without a shortcut drains 11 cycles sooner. A pass ends only once its last
/// beat is out, so the two never overtake each other.
public struct OutputPath: Sendable {
    public let config: AcceleratorConfig
    /// Entries of the result FIFO.
    public let resultDepth: Int
    /// Words of the residual buffer.
    public let residualDepth: Int

    public init(config: AcceleratorConfig, resultDepth: Int, residualDepth: Int) throws {
        try config.validate()
        guard (2 ... 4096).contains(resultDepth) else {
            throw LayerDatapath.Invalid(description: "OutputPath resultDepth \(resultDepth): must be 2 to 4096 entries")
        }
        guard (1 ... (1 << 22)).contains(residualDepth) else {
            throw LayerDatapath.Invalid(description: "OutputPath residualDepth \(residualDepth): must be 1 to \(1 << 22) positions")
        }
        self.config = config
        self.resultDepth = resultDepth
        self.residualDepth = residualDepth
    }

    public var streamBytes: Int { config.streamBytes }
    public var lanes: Int { max(config.pf, config.pc) }
    /// Bytes of one result-FIFO entry: a pointwise engine beat (PV positions of `lanes`) or a copy beat.
    public var entryBytes: Int { max(config.pv * lanes, streamBytes) }
    /// Words of the output FIFO: the issue → output pipeline plus its credit round trip, so that an
    /// output that is never back-pressured takes a position every cycle.
    public static let outputDepth = 16
    /// Cycles from a position's issue to its beat on `out_*` (nothing waiting), with and without
    /// the fused ADD.
    public static func latency(residual: Bool) -> Int { residual ? 1 + ResidualAdder.latency + 1 : 2 }

    /// Bytes of one residual-buffer bank: the largest power of two dividing `lanes`, at most 8, so a
    /// position is whole banks and a span's offsets and strides are multiples of it.
    public static func residualUnit(lanes: Int) -> Int {
        var u = 1
        while u < 8 && lanes % (2 * u) == 0 { u *= 2 }
        return u
    }

    /// B-byte words the residual buffer needs for `positions` positions of `lanes` bytes: the most
    /// beats a span may have.
    public static func residualWords(positions: Int, lanes: Int, streamBytes: Int) -> Int {
        (positions * lanes + streamBytes - 1) / streamBytes
    }

    public var name: String {
        "OutputPath_p\(config.pv)_l\(lanes)_b\(streamBytes)_r\(resultDepth)_o\(residualDepth)_d\(config.dataWidth)"
            + (config.depthwiseSlices > 1 ? "_s\(config.depthwiseSlices)" : "")
    }

    public func module() throws -> Module {
        let c = config, pv = c.pv, dw = c.dataWidth
        let bytes = streamBytes, lanes = lanes, eb = entryBytes
        let resultDepth = resultDepth, residualDepth = residualDepth, outputDepth = Self.outputDepth
        let adder = try ResidualAdder(config: c, lanes: lanes)
        // Distributed RAM: the word is PV·lanes bytes wide and only a few dozen deep, which in
        // block RAM would cost a 72-bit-wide RAM per 9 bytes for its width alone.
        let resultFIFO = FIFO(depth: resultDepth, payload: .uint(8 * eb), firstWordFallThrough: true,
                              storage: .memory(.distributed))
        let outputFIFO = FIFO(depth: outputDepth, payload: .uint(8 * bytes + 1), firstWordFallThrough: true,
                              storage: .memory(.distributed))
        return Module(name) { m in
            let passStart = m.input("pass_start", .bool)
            let pointwise = m.input("pointwise", .bool)
            let depthwise = m.input("depthwise", .bool)
            let copy = m.input("copy", .bool)
            let residual = m.input("residual", .bool)
            let resultSecond = m.input("result_second", .bool)
            let positions = m.input("positions", .uint(32))
            let outChunk = m.input("out_chunk", .uint(c.chunkWidth))

            // MARK: result FIFO and its credits
            let claim = m.input("claim", .bool)
            let push = m.input("push", .bool)
            let entryIn = (0 ..< eb).map { m.input("entry_\($0)", .sint(8)) }
            let rf = m.instance(resultFIFO.module, "result_fifo")
            rf.push_valid.assign(push)
            rf.push_payload.assign(cat(entryIn.reversed()))
            for p in ["push_ready", "count", "full", "empty"] { m.discard(rf.port(p)) }
            let head = (0 ..< eb).map { e in m.wire("head_\(e)", rf.pop_payload.bits(8 * e + 7, 8 * e).asSigned) }
            let resultSpace = m.reg("result_space", .uint(bitsNeeded(resultDepth, signed: false)), reset: resultDepth)
            m.output("has_space", resultSpace != 0)
            let outSpace = m.reg("out_space", .uint(bitsNeeded(outputDepth, signed: false)), reset: outputDepth)

            // MARK: residual buffer: B-byte words in banks of U bytes, positions at byte addresses
            let unit = Self.residualUnit(lanes: lanes), banks = bytes / unit, perPosition = lanes / unit
            let words = Self.residualWords(positions: residualDepth, lanes: lanes, streamBytes: bytes) + 1
            let unitBits = addressWidth(unit) - (unit == 1 ? 1 : 0), bankBits = addressWidth(banks)
            let wordBits = addressWidth(words), chunkBits = wordBits + bankBits
            let residualSpan = m.input("residual_span", .bool)
            let residualStride = m.input("residual_stride", .uint(16))
            let residualOffset = m.input("residual_offset", .uint(8))
            let residualWrite = m.input("residual_write", .bool)
            let residualIn = (0 ..< bytes).map { m.input("residual_\($0)", .sint(8)) }
            let inChunks = (0 ..< banks).map { k in cat((0 ..< unit).reversed().map { residualIn[k * unit + $0] }) }
            // Where the next beat goes and where the next position's bytes start, in U-byte chunks.
            let writeAt = m.reg("residual_write_at", .uint(chunkBits), reset: 0)
            let writeStep = mux(residualSpan, Signal.uint(banks, width: chunkBits), Signal.uint(perPosition, width: chunkBits))
            m.when(passStart) { writeAt.assign(Signal.uint(0, width: chunkBits)) }
                .elsewhen(residualWrite) { writeAt.assign(writeAt &+ writeStep) }
            let readAt = m.reg("residual_read_at", .uint(chunkBits), reset: 0)
            let spanStep = (residualStride >> unitBits).resize(chunkBits)
            let readStep = mux(residualSpan, spanStep, Signal.uint(perPosition, width: chunkBits))

            // MARK: serializer: one position per issue, only the pass's positions
            let pb = addressWidth(pv)
            let sub = m.reg("sub", .uint(pb), reset: 0)
            let position = m.reg("position", .uint(32), reset: 0)
            let issue = m.wire("issue", rf.pop_valid && outSpace != 0)
            let lastPosition = m.wire("last_position", position == positions &- 1)
            let entryDone = m.wire("entry_done", !pointwise || sub == pv - 1 || lastPosition)
            let pop = m.wire("result_pop", issue && entryDone)
            rf.pop_ready.assign(pop)
            m.when(passStart) {
                sub.assign(Signal.uint(0, width: pb))
                position.assign(Signal.uint(0, width: 32))
                readAt.assign(mux(residualSpan, (residualOffset >> unitBits).resize(chunkBits), Signal.uint(0, width: chunkBits)))
            }.elsewhen(issue) {
                sub.assign(mux(entryDone, Signal.uint(0, width: pb), sub &+ 1))
                position.assign(position &+ 1)
                readAt.assign(readAt &+ readStep)
            }
            let freed = m.wire("result_space_freed", resultSpace &+ mux(pop, Signal.uint(1, width: resultSpace.width), 0))
            resultSpace.assign(mux(claim, freed &- 1, freed))

            // Stage 1: the position's bytes registered while its residual word is read.
            var picked: [Signal] = []
            let pc = c.pc, slices = c.depthwiseSlices
            for b in 0 ..< bytes {
                // Byte b of a depthwise position of several slices: slice b / PC, channel b mod PC.
                let sliceByte: Signal? = slices > 1 && b < slices * pc ? head[(b / pc) * lanes + b % pc] : nil
                if b < lanes {
                    let plain = sliceByte.map { mux(depthwise, $0, head[b]) } ?? head[b]
                    picked.append(mux(pointwise, select(sub, (0 ..< pv).map { v in head[v * lanes + b] }), plain))
                } else {
                    let other = sliceByte.map { mux(depthwise, $0, Signal.sint(0, width: 8)) } ?? Signal.sint(0, width: 8)
                    picked.append(mux(copy, head[b], other))
                }
            }
            if slices == 1 { m.discard(depthwise) }
            let stageValid = m.reg("stage_valid", next: issue, reset: 0)
            let stageLast = m.reg("stage_last", next: lastPosition)
            let stage = (0 ..< bytes).map { b in m.reg("stage_\(b)", next: picked[b]) }
            let writeWord = m.wire("residual_write_word", writeAt.bits(chunkBits - 1, bankBits))
            let writeRotate = m.wire("residual_write_rotate", writeAt.bits(bankBits - 1, 0))
            let readWord = m.wire("residual_read_word", readAt.bits(chunkBits - 1, bankBits))
            let readRotate = m.wire("residual_read_rotate", readAt.bits(bankBits - 1, 0))
            let bankData = (0 ..< banks).map { k -> Signal in
                let mem = m.memory("residual_bank_\(k)", depth: words, .uint(8 * unit), style: .block)
                // Chunk k − rotate of the beat (per position: of its first `lanes` bytes), a word on
                // for banks before the rotation.
                let relative = m.wire("residual_write_chunk_\(k)", (Signal.uint(k, width: bankBits) &- writeRotate).truncate(to: bankBits))
                // (The last bank is never before the rotation.)
                func before(_ rotate: Signal) -> Signal { k == banks - 1 ? Signal.false : Signal.uint(k, width: bankBits) < rotate }
                let ahead = before(writeRotate)
                let perPositionData = perPosition == 1 ? inChunks[0] : select(relative, Array(inChunks.prefix(perPosition)))
                mem.write(writeWord &+ mux(ahead, Signal.uint(1, width: wordBits), 0),
                          mux(residualSpan, inChunks[k], perPositionData),
                          enable: residualWrite && (residualSpan || relative < perPosition))
                let readAhead = before(readRotate)
                return mem.read(readWord &+ mux(readAhead, Signal.uint(1, width: wordBits), 0), enable: issue, name: "residual_q_\(k)")
            }
            // The registered words' rotation: chunk i of the position is bank (rotate + i) mod B/U.
            let rotateQ = m.reg("residual_rotate_q", next: readRotate)
            let positionChunks = (0 ..< perPosition).map { i in
                m.wire("residual_chunk_\(i)", select((rotateQ &+ Signal.uint(i, width: bankBits)).truncate(to: bankBits), bankData))
            }
            let residualWord = (0 ..< lanes).map { j in positionChunks[j / unit].bits(8 * (j % unit) + 7, 8 * (j % unit)).asSigned }

            // MARK: the fused ADD (never stalls; `add` = residual)
            let ra = m.instance(adder.module, "residual_add")
            ra.in_valid.assign(stageValid && residual)
            ra.add.assign(residual)
            let swapOperands = m.wire("swap_operands", residual && resultSecond)
            for j in 0 ..< lanes {
                ra.port("y_\(j)").assign(mux(swapOperands, residualWord[j], stage[j]).resize(dw))
                ra.port("s_\(j)").assign(mux(swapOperands, stage[j], residualWord[j]).resize(dw))
            }
            // TFLite's ADD parameters: the input offsets and the multipliers keep the record's
            // widths at the ports and are narrowed to what the adder takes.
            let parameters: [(String, String, Int)] = [
                ("y_offset", "add_in1_offset", 16), ("s_offset", "add_in2_offset", 16),
                ("y_multiplier", "add_in1_multiplier", 32), ("s_multiplier", "add_in2_multiplier", 32),
                ("out_multiplier", "add_out_multiplier", 32), ("y_shift", "add_in1_shift", 8), ("s_shift", "add_in2_shift", 8),
                ("out_shift", "add_out_shift", 8), ("out_offset", "add_out_offset", 8), ("act_min", "add_min", 8),
                ("act_max", "add_max", 8),
            ]
            for (port, from, width) in parameters {
                let p = ra.port(port)
                p.assign(m.input(from, .sint(width)).resize(p.width))
            }
            let addedLast = m.delay(stageLast, by: ResidualAdder.latency, name: "added_last")
            // A pass without the ADD goes around it. Bytes beyond the lanes (a copy's wider
            // positions) are never ADDed (an ADD pass has at most `lanes` bytes a position, the
            // rest of its beat reads 0), so they need no delay line beside the ADD.
            let pushed = (0 ..< bytes).map { b in
                b < lanes ? mux(residual, ra.port("out_\(b)").resize(8), stage[b]) : stage[b]
            }

            // MARK: output FIFO and the output port
            let of = m.instance(outputFIFO.module, "output_fifo")
            of.push_valid.assign(mux(residual, ra.out_valid, stageValid))
            of.push_payload.assign(cat([mux(residual, addedLast, stageLast)] + pushed.reversed()))
            for p in ["push_ready", "count", "full", "empty"] { m.discard(of.port(p)) }
            let outReady = m.input("out_ready", .bool)
            let outValid = m.output("out_valid", of.pop_valid)
            of.pop_ready.assign(outReady)
            let outFire = m.wire("out_fire_w", outValid && outReady)
            for b in 0 ..< bytes {
                let byte = of.pop_payload.bits(8 * b + 7, 8 * b).asSigned
                m.output("out_byte_\(b)", mux(outChunk > b, byte, Signal.sint(0, width: 8)))
            }
            m.output("out_last", of.pop_payload[8 * bytes])
            m.output("out_fire", outFire)
            let returned = m.wire("out_space_returned", outSpace &+ mux(outFire, Signal.uint(1, width: outSpace.width), 0))
            outSpace.assign(mux(issue, returned &- 1, returned))
        }
    }
}
