import Reference
import Accelerator

/// One control record: one pass over the engine as the RTL's control unit executes it
/// (docs/control.md is the normative layout). 32 little-endian 32-bit words; the encoder
/// range-checks every field and the decoder re-checks the magic, checksum, sequence and reserved bits,
/// so what `ControlModel` runs is exactly the bytes the RTL fetches.
public struct ControlRecord: Sendable, Equatable {
    public static let byteCount = 128
    public static let magic: UInt8 = 0xC5
    /// Slot offsets a record carries (words 26-28).
    public static let slotOffsetCount = ControlRecordFields.slotOffsetCount

    /// Word 0 bits 0-3.
    public enum Op: UInt8, Sendable, CustomStringConvertible {
        /// Stream a region through the engine (and on `last`, requantize and write).
        case conv = 1
        /// Stream a region straight to the output (with `residual`: through the ADD).
        case copy = 2
        public var description: String { self == .conv ? "conv" : "copy" }
    }

    /// Word 0 bits 4-5: how a conv pass feeds the engine.
    public enum Mode: UInt8, Sendable, CustomStringConvertible {
        /// 3×3 windows of the reshape unit; PC channels × PF filters.
        case standard = 0
        /// PV consecutive positions per engine beat, one tap.
        case pointwise = 1
        /// 3×3 windows; lane c is channel c.
        case depthwise = 2
        /// One position per engine beat with its channel slices on the tap lanes: a region row is
        /// a position, its `regionCols` beats carry `foldTaps` slices each (the standard weight layout).
        case folded = 3
        public var description: String { ["standard", "pointwise", "depthwise", "folded"][Int(rawValue)] }
    }

    public var op: Op = .conv
    public var mode: Mode = .standard
    public var first = false
    public var last = false
    public var loadParams = false
    public var residual = false
    public var resultIsSecond = false
    public var stride2 = false
    public var padTop = 0, padBottom = 0, padLeft = 0, padRight = 0

    public var layer = 0
    public var regionRows = 1, regionCols = 1
    public var regionRow0 = 0, regionCol0 = 0
    public var imageRows = 1, imageCols = 1
    public var inputAddress: UInt32 = 0
    public var inputPixelStride: UInt32 = 0
    public var inputRowStride: UInt32 = 0
    public var inChunk = 1
    public var fillValue: Int32 = 0
    public var outChunk = 1
    public var outZeroPoint: Int32 = 0
    public var weightAddress: UInt32 = 0
    public var weightBeats = 0
    public var paramRecords = 0
    public var parameterAddress: UInt32 = 0
    public var outputAddress: UInt32 = 0
    public var outputPixelStride: UInt32 = 0
    public var outputRowStride: UInt32 = 0
    public var outputRows = 1, outputCols = 1
    public var residualAddress: UInt32 = 0
    public var activationMin: Int32 = -128
    public var activationMax: Int32 = 127
    /// Words 18-23: the ADD (same fields as the layer instruction's).
    public var add = Instruction.AddFields()
    public var pruningThreshold = 0
    /// Word 0 bit 16: a folded pass stores each gathered position n in input-buffer word
    /// `bufferRow0` + n. Bit 17: a folded pass takes position n from that word instead of its
    /// pixel beats (which are then fill beats, one per position). Word 25 bits 0-15: `bufferRow0`.
    public var keep = false, replay = false
    /// Word 0 bit 18: a pointwise pass is wide: each beat is one position, computed for
    /// `outChunk` / PF filter groups at once on the pixel lanes (AcceleratorConfig.pointwiseSlices),
    /// its weight set lane v's PC·PF bytes after lane v − 1's, its parameters one group per lane.
    public var wide = false
    /// Word 0 bit 19, with `wide` on a pointwise pass: every slot takes one input slice (K = 1), so
    /// there are `AcceleratorConfig.singleSliceSlots` of them (lane v is filter group v) instead of
    /// `pointwiseSlices` slots of two.
    public var singleSlice = false
    /// Word 0 bit 20, on a folded pass: each beat fills one tap lane (t = 1) instead of
    /// `AcceleratorConfig.foldTaps`, so an engine beat takes nine beats of one slice each: the
    /// position sums of MEAN and global pools, whose beats are positions, sum nine a beat.
    public var oneTapPerBeat = false
    public var bufferRow0 = 0
    /// Word 0 bit 21, on a residual pass: the residual phase reads `residualBeats` B-byte beats of
    /// whole residual pixels from `residualAddress` (the pass's first position's pixel), and position
    /// n's residual is at byte n·`outputPixelStride` + `residualOffset` of them, so a position of
    /// C bytes costs C/B beats instead of one (the output's positions must be contiguous). Word 24
    /// bits 8-15: `residualOffset`; word 25 bits 16-31: `residualBeats`.
    public var residualSpan = false
    public var residualOffset = 0
    public var residualBeats = 0
    /// Word 0 bit 22, on a `residualSpan` pass: no residual phase; the residual buffer still holds
    /// the span an earlier pass read (another filter group of the same positions).
    public var residualKept = false
    /// Words 26-28, byte s: a wide pass's slot s takes its bytes from `slotOffsets[s]` ·
    /// `AcceleratorConfig.slotOffsetUnit` into the beat (0: the beat's own slices), so a beat may
    /// carry several positions, each on its own slots. Empty means all 0.
    public var slotOffsets: [Int] = []
    /// Word 24 bits 16-19 (0 and 1 both mean one), on a depthwise pass: each beat is P =
    /// `depthwisePositions` horizontally adjacent positions of Q = `positionSlices` channel slices
    /// each (bits 20-23), side by side, and window group j·Q + q computes slice q of position j, its
    /// taps taken across the neighbouring positions of the beats left and right. So a layer of
    /// C = Q·PC channels runs at P positions a cycle on P·Q of the engine's window groups instead
    /// of one (seed 003's PD windows per cycle), its image being the NHWC tensor read as W/P pixels
    /// of P·C bytes.
    public var depthwisePositions = 1
    public var positionSlices = 0
    /// Word 24 bit 24, with `depthwisePositions`: a position is half a slice (PC/2 channels;
    /// `positionSlices` 1), so a beat of S slices carries up to 2·S of them.
    public var positionHalfSlice = false
    public var sequence = 0

    public init() {}

    /// Output positions the pass produces (raster order).
    public var outputPositions: Int { outputRows * outputCols }

    /// The residual phase's beats and the bytes each carries (`streamBytes`: the configuration's
    /// beat), or nil when the pass reads no residual (none, not a writing pass, or kept).
    public func residualPhase(streamBytes: Int) -> (beats: Int, chunk: Int)? {
        guard residual, last || op == .copy, !residualKept else { return nil }
        return residualSpan ? (residualBeats, streamBytes) : (outputPositions, outChunk)
    }
}

/// Why a control record stream cannot be decoded (one line: the record and the field).
public struct ControlRecordError: Error, CustomStringConvertible, Equatable, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension ControlRecord {
    private static let u8 = 0 ... 255, i8 = -128 ... 127, u16 = 0 ... 65535, i16 = -32768 ... 32767
    private static let u32 = 0 ... Int(UInt32.max), i32 = Int(Int32.min) ... Int(Int32.max), bit = 0 ... 1
    /// A chunk's bytes: 1 up to the widest beat, B = 256.
    static let chunks = 1 ... 256

    private struct Writer {
        var words = [UInt32](repeating: 0, count: 32)
        /// parts: (name, value, bit position, width, range).
        mutating func set(_ w: Int, _ parts: [(String, Int, Int, Int, ClosedRange<Int>)]) throws {
            var word: UInt32 = 0
            for (name, v, pos, width, range) in parts {
                guard range.contains(v) else { throw ControlRecordError("control record field \(name) = \(v) outside \(range)") }
                let mask: UInt32 = width == 32 ? .max : (1 << UInt32(width)) - 1
                word |= (UInt32(truncatingIfNeeded: v) & mask) << UInt32(pos)
            }
            words[w] = word
        }
    }

    /// The 128 little-endian bytes of this record (checksum included).
    public func encoded() throws -> [UInt8] {
        typealias R = ControlRecord
        var w = Writer()
        func b(_ x: Bool) -> Int { x ? 1 : 0 }
        try w.set(0, [("op", Int(op.rawValue), 0, 4, 1 ... 2), ("mode", Int(mode.rawValue), 4, 2, 0 ... 3),
                      ("first", b(first), 6, 1, R.bit), ("last", b(last), 7, 1, R.bit), ("loadParams", b(loadParams), 8, 1, R.bit),
                      ("residual", b(residual), 9, 1, R.bit), ("resultIsSecond", b(resultIsSecond), 10, 1, R.bit),
                      ("stride2", b(stride2), 11, 1, R.bit),
                      ("padTop", padTop, 12, 1, R.bit), ("padBottom", padBottom, 13, 1, R.bit),
                      ("padLeft", padLeft, 14, 1, R.bit), ("padRight", padRight, 15, 1, R.bit),
                      ("keep", b(keep), 16, 1, R.bit), ("replay", b(replay), 17, 1, R.bit), ("wide", b(wide), 18, 1, R.bit),
                      ("singleSlice", b(singleSlice), 19, 1, R.bit), ("oneTapPerBeat", b(oneTapPerBeat), 20, 1, R.bit),
                      ("residualSpan", b(residualSpan), 21, 1, R.bit), ("residualKept", b(residualKept), 22, 1, R.bit),
                      ("magic", Int(R.magic), 24, 8, R.u8)])
        try w.set(1, [("layer", layer, 0, 32, R.u32)])
        try w.set(2, [("regionRows", regionRows, 0, 16, 1 ... 65535), ("regionCols", regionCols, 16, 16, 1 ... 65535)])
        try w.set(3, [("regionRow0", regionRow0, 0, 16, R.i16), ("regionCol0", regionCol0, 16, 16, R.i16)])
        try w.set(4, [("imageRows", imageRows, 0, 16, R.u16), ("imageCols", imageCols, 16, 16, R.u16)])
        try w.set(5, [("inputAddress", Int(inputAddress), 0, 32, R.u32)])
        try w.set(6, [("inputPixelStride", Int(inputPixelStride), 0, 32, R.u32)])
        try w.set(7, [("inputRowStride", Int(inputRowStride), 0, 32, R.u32)])
        // A chunk is 1 ... B bytes; its low 8 bits are in word 8 and bit 8 (B = 256 only) in word 24.
        for (name, chunk) in [("inChunk", inChunk), ("outChunk", outChunk)] where !R.chunks.contains(chunk) {
            throw ControlRecordError("control record field \(name) = \(chunk) outside 1...256")
        }
        try w.set(8, [("inChunk", inChunk & 0xFF, 0, 8, R.u8), ("fillValue", Int(fillValue), 8, 8, R.i8),
                      ("outChunk", outChunk & 0xFF, 16, 8, R.u8), ("outZeroPoint", Int(outZeroPoint), 24, 8, R.i8)])
        try w.set(9, [("weightAddress", Int(weightAddress), 0, 32, R.u32)])
        try w.set(10, [("weightBeats", weightBeats, 0, 16, R.u16), ("paramRecords", paramRecords, 16, 16, R.u16)])
        try w.set(11, [("parameterAddress", Int(parameterAddress), 0, 32, R.u32)])
        try w.set(12, [("outputAddress", Int(outputAddress), 0, 32, R.u32)])
        try w.set(13, [("outputPixelStride", Int(outputPixelStride), 0, 32, R.u32)])
        try w.set(14, [("outputRowStride", Int(outputRowStride), 0, 32, R.u32)])
        try w.set(15, [("outputRows", outputRows, 0, 16, 1 ... 65535), ("outputCols", outputCols, 16, 16, 1 ... 65535)])
        try w.set(16, [("residualAddress", Int(residualAddress), 0, 32, R.u32)])
        try w.set(17, [("activationMin", Int(activationMin), 0, 8, R.i8), ("activationMax", Int(activationMax), 8, 8, R.i8)])
        try w.set(18, [("add.input1Offset", Int(add.input1Offset), 0, 16, R.i16), ("add.input2Offset", Int(add.input2Offset), 16, 16, R.i16)])
        try w.set(19, [("add.input1Multiplier", Int(add.input1Multiplier), 0, 32, R.i32)])
        try w.set(20, [("add.input2Multiplier", Int(add.input2Multiplier), 0, 32, R.i32)])
        try w.set(21, [("add.outputMultiplier", Int(add.outputMultiplier), 0, 32, R.i32)])
        try w.set(22, [("add.input1Shift", add.input1Shift, 0, 8, R.i8), ("add.input2Shift", add.input2Shift, 8, 8, R.i8),
                       ("add.outputShift", add.outputShift, 16, 8, R.i8), ("add.outputOffset", Int(add.outputOffset), 24, 8, R.i8)])
        try w.set(23, [("add.activationMin", Int(add.activationMin), 0, 8, R.i8), ("add.activationMax", Int(add.activationMax), 8, 8, R.i8)])
        try w.set(24, [("pruningThreshold", pruningThreshold, 0, 8, 0 ... 127), ("residualOffset", residualOffset, 8, 8, R.u8),
                       ("depthwisePositions", depthwisePositions > 1 ? depthwisePositions : 0, 16, 4, 0 ... 15),
                       ("positionSlices", positionSlices, 20, 4, 0 ... 15), ("positionHalfSlice", b(positionHalfSlice), 24, 1, R.bit),
                       ("inChunk bit 8", inChunk >> 8, 25, 1, R.bit), ("outChunk bit 8", outChunk >> 8, 26, 1, R.bit)])
        guard depthwisePositions >= 1 else { throw ControlRecordError("control record field depthwisePositions = \(depthwisePositions) outside 1 ... 15") }
        try w.set(25, [("bufferRow0", bufferRow0, 0, 16, R.u16), ("residualBeats", residualBeats, 16, 16, R.u16)])
        guard slotOffsets.count <= R.slotOffsetCount else {
            throw ControlRecordError("control record has \(slotOffsets.count) slot offsets; words 26-28 hold \(R.slotOffsetCount)")
        }
        for word in 0 ..< 3 {
            try w.set(26 + word, (0 ..< 4).map { k in
                let s = 4 * word + k
                return ("slotOffsets[\(s)]", s < slotOffsets.count ? slotOffsets[s] : 0, 8 * k, 8, R.u8)
            })
        }
        try w.set(30, [("sequence", sequence, 0, 32, R.u32)])
        guard activationMin <= activationMax else { throw ControlRecordError("control record activation range [\(activationMin), \(activationMax)] is empty") }
        var bytes = [UInt8](); bytes.reserveCapacity(R.byteCount)
        for word in w.words.prefix(31) { bytes += littleEndian(word) }
        bytes += littleEndian(Instruction.checksum(bytes))
        return bytes
    }

    /// Decodes record `expectedSequence` of a stream; throws naming the record and what is wrong.
    public static func decode(_ bytes: ArraySlice<UInt8>, expectedSequence: Int) throws -> ControlRecord {
        let at = "control record \(expectedSequence)"
        guard bytes.count == byteCount else { throw ControlRecordError("\(at): \(bytes.count) bytes, a record has \(byteCount)") }
        let base = bytes.startIndex
        let words = (0 ..< 32).map { w in (0 ..< 4).reduce(UInt32(0)) { $0 | UInt32(bytes[base + 4 * w + $1]) << (8 * UInt32($1)) } }
        guard words[0] >> 24 == UInt32(magic) else { throw ControlRecordError("\(at): bad magic 0x\(String(words[0] >> 24, radix: 16))") }
        let body = bytes[base ..< base + 124]
        guard Instruction.checksum(body) == words[31] else { throw ControlRecordError("\(at): checksum mismatch (corrupted record)") }
        func u(_ w: Int, _ pos: Int, _ width: Int) -> Int { Int((UInt64(words[w]) >> UInt64(pos)) & ((1 << UInt64(width)) - 1)) }
        func s(_ w: Int, _ pos: Int, _ width: Int) -> Int {
            let v = u(w, pos, width)
            return v >= 1 << (width - 1) ? v - (1 << width) : v
        }
        var r = ControlRecord()
        r.sequence = u(30, 0, 32)
        guard r.sequence == expectedSequence else { throw ControlRecordError("\(at): sequence number \(r.sequence) (records out of order or missing)") }
        guard let op = Op(rawValue: UInt8(u(0, 0, 4))) else { throw ControlRecordError("\(at): unknown op \(u(0, 0, 4))") }
        guard let mode = Mode(rawValue: UInt8(u(0, 4, 2))) else { throw ControlRecordError("\(at): unknown mode \(u(0, 4, 2))") }
        let reservedClear = u(0, 23, 1) == 0 && u(17, 16, 16) == 0 && u(23, 16, 16) == 0 && u(24, 27, 5) == 0
            && words[29] == 0
        guard reservedClear else { throw ControlRecordError("\(at): reserved bits are set") }
        r.op = op; r.mode = mode
        r.first = u(0, 6, 1) == 1; r.last = u(0, 7, 1) == 1; r.loadParams = u(0, 8, 1) == 1
        r.residual = u(0, 9, 1) == 1; r.resultIsSecond = u(0, 10, 1) == 1; r.stride2 = u(0, 11, 1) == 1
        r.padTop = u(0, 12, 1); r.padBottom = u(0, 13, 1); r.padLeft = u(0, 14, 1); r.padRight = u(0, 15, 1)
        r.layer = u(1, 0, 32)
        r.regionRows = u(2, 0, 16); r.regionCols = u(2, 16, 16)
        r.regionRow0 = s(3, 0, 16); r.regionCol0 = s(3, 16, 16)
        r.imageRows = u(4, 0, 16); r.imageCols = u(4, 16, 16)
        r.inputAddress = words[5]; r.inputPixelStride = words[6]; r.inputRowStride = words[7]
        r.inChunk = u(8, 0, 8) | u(24, 25, 1) << 8; r.fillValue = Int32(s(8, 8, 8)); r.outChunk = u(8, 16, 8) | u(24, 26, 1) << 8; r.outZeroPoint = Int32(s(8, 24, 8))
        r.weightAddress = words[9]; r.weightBeats = u(10, 0, 16); r.paramRecords = u(10, 16, 16)
        r.parameterAddress = words[11]; r.outputAddress = words[12]; r.outputPixelStride = words[13]; r.outputRowStride = words[14]
        r.outputRows = u(15, 0, 16); r.outputCols = u(15, 16, 16)
        r.residualAddress = words[16]
        r.activationMin = Int32(s(17, 0, 8)); r.activationMax = Int32(s(17, 8, 8))
        r.add.input1Offset = Int32(s(18, 0, 16)); r.add.input2Offset = Int32(s(18, 16, 16))
        r.add.input1Multiplier = Int32(bitPattern: words[19]); r.add.input2Multiplier = Int32(bitPattern: words[20])
        r.add.outputMultiplier = Int32(bitPattern: words[21])
        r.add.input1Shift = s(22, 0, 8); r.add.input2Shift = s(22, 8, 8); r.add.outputShift = s(22, 16, 8); r.add.outputOffset = Int32(s(22, 24, 8))
        r.add.activationMin = Int32(s(23, 0, 8)); r.add.activationMax = Int32(s(23, 8, 8))
        r.pruningThreshold = u(24, 0, 8)
        r.keep = u(0, 16, 1) == 1; r.replay = u(0, 17, 1) == 1; r.wide = u(0, 18, 1) == 1; r.singleSlice = u(0, 19, 1) == 1
        r.oneTapPerBeat = u(0, 20, 1) == 1
        r.residualSpan = u(0, 21, 1) == 1; r.residualKept = u(0, 22, 1) == 1
        r.residualOffset = u(24, 8, 8); r.residualBeats = u(25, 16, 16)
        r.depthwisePositions = max(1, u(24, 16, 4)); r.positionSlices = u(24, 20, 4); r.positionHalfSlice = u(24, 24, 1) == 1
        r.bufferRow0 = u(25, 0, 16)
        let offsets = (0 ..< slotOffsetCount).map { u(26 + $0 / 4, 8 * ($0 % 4), 8) }
        r.slotOffsets = offsets.allSatisfy { $0 == 0 } ? [] : Array(offsets[0 ... offsets.lastIndex { $0 != 0 }!])
        func rule(_ ok: Bool, _ m: String) throws { if !ok { throw ControlRecordError("\(at) (layer \(r.layer), \(op)): \(m)") } }
        try rule(r.regionRows >= 1 && r.regionCols >= 1 && r.outputRows >= 1 && r.outputCols >= 1, "a region or output dimension is 0")
        try rule(chunks.contains(r.inChunk) && chunks.contains(r.outChunk), "chunk sizes \(r.inChunk)/\(r.outChunk) outside 1...256")
        try rule(r.activationMin <= r.activationMax, "activation range [\(r.activationMin), \(r.activationMax)] is empty")
        try rule(r.pruningThreshold <= 127, "pruning threshold \(r.pruningThreshold) above 127")
        try rule(!r.residualKept || r.residualSpan, "residualKept without residualSpan")
        try rule(!r.residualSpan || r.residual, "residualSpan without residual")
        try rule((r.depthwisePositions > 1) == (r.positionSlices > 0), "depthwisePositions \(r.depthwisePositions) with positionSlices \(r.positionSlices) (both set, or neither)")
        try rule(r.depthwisePositions == 1 || (op == .conv && mode == .depthwise), "depthwisePositions on a pass that is not depthwise")
        try rule(!r.positionHalfSlice || (r.depthwisePositions > 1 && r.positionSlices == 1), "positionHalfSlice without depthwisePositions, or with positionSlices \(r.positionSlices), not 1")
        return r
    }

    /// Encodes records numbered 0, 1, 2, ... (their `sequence` fields are overwritten).
    public static func encodeStream(_ records: [ControlRecord]) throws -> [UInt8] {
        var out = [UInt8](); out.reserveCapacity(records.count * byteCount)
        for (n, var r) in records.enumerated() { r.sequence = n; out += try r.encoded() }
        return out
    }

    public static func decodeStream(_ bytes: [UInt8]) throws -> [ControlRecord] {
        guard bytes.count % byteCount == 0 else {
            throw ControlRecordError("control record stream of \(bytes.count) bytes is not a whole number of \(byteCount)-byte records")
        }
        return try (0 ..< bytes.count / byteCount).map { try decode(bytes[$0 * byteCount ..< ($0 + 1) * byteCount], expectedSequence: $0) }
    }
}

extension ControlRecord: CustomStringConvertible {
    /// One line with the fields that decide what a pass does (records.txt, for reading RTL traces).
    public var description: String {
        var s = "#\(sequence) layer \(layer) \(op)"
        if op == .conv { s += " \(mode)" }
        var flags = [String]()
        if first { flags.append("first") }
        if last { flags.append("last") }
        if loadParams { flags.append("params") }
        if residual {
            var f = resultIsSecond ? "residual(second)" : "residual"
            if residualSpan { f += residualKept ? "kept+\(residualOffset)" : "span\(residualBeats)+\(residualOffset)" }
            flags.append(f)
        }
        if stride2 { flags.append("stride2") }
        if keep { flags.append("keep@\(bufferRow0)") }
        if replay { flags.append("replay@\(bufferRow0)") }
        if oneTapPerBeat { flags.append("onetap") }
        if depthwisePositions > 1 { flags.append("positions\(depthwisePositions)x\(positionHalfSlice ? "half" : "\(positionSlices)")") }
        if wide { flags.append((singleSlice ? "wide1" : "wide") + (slotOffsets.isEmpty ? "" : "(slots \(slotOffsets.map(String.init).joined(separator: "/")))")) }
        let pads = [padTop, padBottom, padLeft, padRight]
        if pads.contains(1) { flags.append("pads(t\(padTop)b\(padBottom)l\(padLeft)r\(padRight))") }
        if !flags.isEmpty { s += " " + flags.joined(separator: ",") }
        s += " region \(regionRows)x\(regionCols)@(\(regionRow0),\(regionCol0)) of \(imageRows)x\(imageCols)"
        s += " in \(inputAddress)+\(inputPixelStride)/\(inputRowStride) chunk \(inChunk) fill \(fillValue)"
        if op == .conv { s += " weights \(weightAddress)x\(weightBeats)" }
        if loadParams { s += " params \(parameterAddress)x\(paramRecords)" }
        s += " out \(outputRows)x\(outputCols) \(outputAddress)+\(outputPixelStride)/\(outputRowStride) chunk \(outChunk)"
        if residual { s += " residual \(residualAddress)" }
        return s
    }
}
