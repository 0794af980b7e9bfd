import Reference

/// One configuration instruction of the accelerator's control unit: a fixed 128-byte record of
/// 32 little-endian 32-bit words (docs/instructions.md is the normative layout). The RTL
/// controller decodes exactly these bytes, so the mapper, the `Executor` and the RTL share one
/// definition; every field has a fixed word and bit position and a range the decoder checks.
public struct Instruction: Sendable, Equatable {
    public static let byteCount = 128
    public static let magic: UInt16 = 0xD5C1

    /// What the datapath does. Raw values are the encoding of word 0, bits 0-7.
    public enum Kind: UInt8, Sendable, CaseIterable, CustomStringConvertible {
        /// Standard convolution as 3×3 pieces (kernels above 3×3 are decomposed; pieces accumulate).
        case convolution = 1
        /// 1×1 convolution: PV pixels × PC channels × PF filters (stride via address generation).
        case pointwise = 2
        /// Depthwise convolution (depth multiplier M) as 3×3 pieces, PD windows × PC channels.
        case depthwise = 3
        /// FULLY_CONNECTED: PK·PC input elements × PF outputs per cycle.
        case fullyConnected = 4
        /// AVERAGE_POOL_2D in the pooling unit (sum of in-image taps / count, rounded half away).
        case averagePool = 5
        /// MEAN over height and width: int32 sum, then the folded multiplier of tflite-micro.
        case mean = 6
        /// A residual ADD that could not be fused into the producing convolution.
        case add = 7
        /// TRANSPOSE as a strided copy (layout only, no arithmetic).
        case transpose = 8
        /// PAD of height/width with the zero point, when it cannot be fused into a convolution.
        case pad = 9

        public var description: String {
            switch self {
            case .convolution: return "conv"
            case .pointwise: return "pointwise"
            case .depthwise: return "depthwise"
            case .fullyConnected: return "fc"
            case .averagePool: return "avgpool"
            case .mean: return "mean"
            case .add: return "add"
            case .transpose: return "transpose"
            case .pad: return "pad"
            }
        }
    }

    /// Where an operand lives: the external memory image or one of the on-chip input buffers of
    /// the bottleneck architecture (seed section 3.4). Raw values are the 2-bit route fields.
    public enum Route: UInt8, Sendable, CaseIterable, CustomStringConvertible {
        case external = 0
        case ramS = 1
        case ramM = 2

        public var description: String {
            switch self {
            case .external: return "ext"
            case .ramS: return "RAM-S"
            case .ramM: return "RAM-M"
            }
        }
    }

    public var kind: Kind = .convolution
    public var inputRoute: Route = .external
    public var outputRoute: Route = .external
    public var residualRoute: Route = .external
    /// The quantization unit adds a residual (TFLite ADD) to the requantized result.
    public var fusedAdd = false
    /// The convolution's result is ADD's second operand (the residual is the first).
    public var resultIsSecondAddend = false

    /// Index of the network layer this instruction computes (TFLite operator index).
    public var layer: Int = 0
    public var inputHeight = 1, inputWidth = 1, inputChannels = 1
    public var outputHeight = 1, outputWidth = 1, outputChannels = 1
    public var kernelHeight = 1, kernelWidth = 1
    public var strideH = 1, strideW = 1
    /// Padding in rows/columns of the input (negative never occurs; decomposed pieces apply their
    /// own offsets of 3·piece on top). Bottom/right are what the last windows need.
    public var padTop = 0, padLeft = 0, padBottom = 0, padRight = 0
    public var depthMultiplier = 1
    /// 3×3 pieces per kernel (rows × columns of pieces), 1×1 for pointwise/FC.
    public var piecesH = 1, piecesW = 1
    /// Number of PC-channel (input) and PF-filter (output) slices the controller iterates.
    public var channelSlices = 1, filterSlices = 1
    /// Column tile: output columns [tileOutColumn, +tileOutColumns) from input columns
    /// [tileInColumn, +tileInColumns) (tileInColumn may be negative: left padding).
    public var tileOutColumn = 0, tileOutColumns = 1
    public var tileInColumn = 0, tileInColumns = 1

    public var inputAddress: UInt32 = 0
    public var outputAddress: UInt32 = 0
    public var weightAddress: UInt32 = 0
    /// Per-output-channel {bias, multiplier, shift} records, 12 bytes each, padded to the slices.
    public var parameterAddress: UInt32 = 0
    public var residualAddress: UInt32 = 0

    public var inputZeroPoint: Int32 = 0
    public var outputZeroPoint: Int32 = 0
    public var activationMin: Int32 = -128
    public var activationMax: Int32 = 127
    public var weightZeroPoint: Int32 = 0
    /// Hardware-assisted pruning: products whose |weight| is at most this are skipped (0: off,
    /// which keeps the result exact; the mapper always emits 0).
    public var pruningThreshold = 0
    public var batches = 1

    /// TFLite ADD parameters for a fused or standalone ADD (see `Reference.AddParameters`).
    public var add = AddFields()
    /// MEAN's folded multiplier and shift.
    public var meanMultiplier: Int32 = 0
    public var meanShift = 0
    /// TRANSPOSE/PAD: the 4-D input shape and the permutation.
    public var layoutShape = [1, 1, 1, 1]
    public var permutation = [0, 1, 2, 3]
    /// Position in the stream; the decoder checks it so swapped or dropped records are caught.
    public var sequence = 0

    public struct AddFields: Sendable, Equatable {
        public var input1Offset: Int32 = 0, input2Offset: Int32 = 0
        public var input1Multiplier: Int32 = 0, input2Multiplier: Int32 = 0, outputMultiplier: Int32 = 0
        public var input1Shift = 0, input2Shift = 0, outputShift = 0
        public var outputOffset: Int32 = 0
        public var activationMin: Int32 = -128, activationMax: Int32 = 127

        public init() {}

        public init(_ p: AddParameters) {
            input1Offset = p.input1Offset; input2Offset = p.input2Offset
            input1Multiplier = p.input1Multiplier; input2Multiplier = p.input2Multiplier; outputMultiplier = p.outputMultiplier
            input1Shift = p.input1Shift; input2Shift = p.input2Shift; outputShift = p.outputShift
            outputOffset = p.outputOffset; activationMin = p.activationMin; activationMax = p.activationMax
        }
    }

    public init() {}

    public var pieces: Int { piecesH * piecesW }
}

/// Why an instruction stream cannot be decoded (one line: the record and the field).
public struct InstructionDecodingError: Error, CustomStringConvertible, Equatable, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

// MARK: - Encoding

extension Instruction {
    /// Field ranges the encoder enforces and the decoder re-checks. Exceeding one is a mapper bug or
    /// a network the hardware cannot hold, so encoding throws rather than truncating.
    private struct Writer {
        var words = [UInt32](repeating: 0, count: 32)
        func field(_ name: String, _ v: Int, _ range: ClosedRange<Int>) throws -> UInt32 {
            guard range.contains(v) else { throw InstructionDecodingError("instruction field \(name) = \(v) outside \(range)") }
            return UInt32(truncatingIfNeeded: v)
        }
        mutating func set(_ w: Int, _ parts: [(String, Int, Int, ClosedRange<Int>)]) throws {
            // parts: (name, value, bit position, range); each part is masked to its width.
            var word: UInt32 = 0
            for (name, v, pos, range) in parts {
                let width = UInt32(bitWidthOf(range))
                let raw = try field(name, v, range)
                let mask: UInt32 = width == 32 ? .max : (1 << width) - 1
                word |= (raw & mask) << UInt32(pos)
            }
            words[w] = word
        }
    }

    fileprivate static func bitWidthOf(_ r: ClosedRange<Int>) -> Int {
        if r == u8 || r == i8 { return 8 }
        if r == u16 || r == i16 { return 16 }
        if r == u2 { return 2 }
        if r == flag { return 1 }
        return 32
    }

    fileprivate static let u8 = 0 ... 255, i8 = -128 ... 127, u16 = 0 ... 65535, i16 = -32768 ... 32767
    fileprivate static let u32 = 0 ... Int(UInt32.max), i32 = Int(Int32.min) ... Int(Int32.max), u2 = 0 ... 3, flag = 0 ... 1

    /// The 128 little-endian bytes of this instruction.
    public func encoded() throws -> [UInt8] {
        typealias I = Instruction
        var w = Writer()
        func b(_ x: Bool) -> Int { x ? 1 : 0 }
        try w.set(0, [("kind", Int(kind.rawValue), 0, I.u8),
                      ("inputRoute", Int(inputRoute.rawValue), 8, I.u2), ("outputRoute", Int(outputRoute.rawValue), 10, I.u2),
                      ("residualRoute", Int(residualRoute.rawValue), 12, I.u2),
                      ("fusedAdd", b(fusedAdd), 14, I.flag), ("resultIsSecondAddend", b(resultIsSecondAddend), 15, I.flag),
                      ("magic", Int(I.magic), 16, I.u16)])
        try w.set(1, [("layer", layer, 0, I.u32)])
        try w.set(2, [("inputHeight", inputHeight, 0, I.u16), ("inputWidth", inputWidth, 16, I.u16)])
        try w.set(3, [("inputChannels", inputChannels, 0, I.u32)])
        try w.set(4, [("outputHeight", outputHeight, 0, I.u16), ("outputWidth", outputWidth, 16, I.u16)])
        try w.set(5, [("outputChannels", outputChannels, 0, I.u32)])
        try w.set(6, [("kernelHeight", kernelHeight, 0, I.u8), ("kernelWidth", kernelWidth, 8, I.u8),
                      ("strideH", strideH, 16, I.u8), ("strideW", strideW, 24, I.u8)])
        try w.set(7, [("padTop", padTop, 0, I.i16), ("padLeft", padLeft, 16, I.i16)])
        try w.set(8, [("padBottom", padBottom, 0, I.i16), ("padRight", padRight, 16, I.i16)])
        try w.set(9, [("depthMultiplier", depthMultiplier, 0, I.u16), ("piecesH", piecesH, 16, I.u8), ("piecesW", piecesW, 24, I.u8)])
        try w.set(10, [("channelSlices", channelSlices, 0, I.u16), ("filterSlices", filterSlices, 16, I.u16)])
        try w.set(11, [("tileOutColumn", tileOutColumn, 0, I.u16), ("tileOutColumns", tileOutColumns, 16, I.u16)])
        try w.set(12, [("tileInColumn", tileInColumn, 0, I.i16), ("tileInColumns", tileInColumns, 16, I.u16)])
        try w.set(13, [("inputAddress", Int(inputAddress), 0, I.u32)])
        try w.set(14, [("outputAddress", Int(outputAddress), 0, I.u32)])
        try w.set(15, [("weightAddress", Int(weightAddress), 0, I.u32)])
        try w.set(16, [("parameterAddress", Int(parameterAddress), 0, I.u32)])
        try w.set(17, [("residualAddress", Int(residualAddress), 0, I.u32)])
        try w.set(18, [("inputZeroPoint", Int(inputZeroPoint), 0, I.i8), ("outputZeroPoint", Int(outputZeroPoint), 8, I.i8),
                       ("activationMin", Int(activationMin), 16, I.i8), ("activationMax", Int(activationMax), 24, I.i8)])
        try w.set(19, [("weightZeroPoint", Int(weightZeroPoint), 0, I.i8), ("pruningThreshold", pruningThreshold, 8, I.u8),
                       ("batches", batches, 16, I.u16)])
        try w.set(20, [("add.input1Offset", Int(add.input1Offset), 0, I.i16), ("add.input2Offset", Int(add.input2Offset), 16, I.i16)])
        try w.set(21, [("add.input1Multiplier", Int(add.input1Multiplier), 0, I.i32)])
        try w.set(22, [("add.input2Multiplier", Int(add.input2Multiplier), 0, I.i32)])
        try w.set(23, [("add.outputMultiplier", Int(add.outputMultiplier), 0, I.i32)])
        try w.set(24, [("add.input1Shift", add.input1Shift, 0, I.i8), ("add.input2Shift", add.input2Shift, 8, I.i8),
                       ("add.outputShift", add.outputShift, 16, I.i8), ("add.outputOffset", Int(add.outputOffset), 24, I.i8)])
        try w.set(25, [("add.activationMin", Int(add.activationMin), 0, I.i8), ("add.activationMax", Int(add.activationMax), 8, I.i8),
                       ("meanShift", meanShift, 16, I.i8)])
        try w.set(26, [("meanMultiplier", Int(meanMultiplier), 0, I.i32)])
        guard layoutShape.count == 4, permutation.count == 4 else { throw InstructionDecodingError("layout shape and permutation must have 4 entries") }
        try w.set(27, [("layoutShape[0]", layoutShape[0], 0, I.u16), ("layoutShape[1]", layoutShape[1], 16, I.u16)])
        try w.set(28, [("layoutShape[2]", layoutShape[2], 0, I.u16), ("layoutShape[3]", layoutShape[3], 16, I.u16)])
        try w.set(29, [("permutation[0]", permutation[0], 0, I.u8), ("permutation[1]", permutation[1], 8, I.u8),
                       ("permutation[2]", permutation[2], 16, I.u8), ("permutation[3]", permutation[3], 24, I.u8)])
        try w.set(30, [("sequence", sequence, 0, I.u32)])
        var bytes = [UInt8](); bytes.reserveCapacity(Instruction.byteCount)
        for word in w.words.prefix(31) { bytes += littleEndian(word) }
        bytes += littleEndian(Instruction.checksum(bytes))
        return bytes
    }

    /// FNV-1a over the first 124 bytes: any flipped bit, truncation or swapped record is caught.
    static func checksum<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        var h: UInt32 = 0x811C_9DC5
        for b in bytes { h = (h ^ UInt32(b)) &* 0x0100_0193 }
        return h
    }
}

@inline(__always) func littleEndian(_ w: UInt32) -> [UInt8] {
    [UInt8(w & 255), UInt8(w >> 8 & 255), UInt8(w >> 16 & 255), UInt8(w >> 24)]
}

// MARK: - Decoding

extension Instruction {
    /// Decodes one 128-byte record; `expectedSequence` is its position in the stream.
    public static func decode(_ bytes: ArraySlice<UInt8>, expectedSequence: Int) throws -> Instruction {
        let at = "instruction \(expectedSequence)"
        guard bytes.count == byteCount else { throw InstructionDecodingError("\(at): \(bytes.count) bytes, a record is \(byteCount)") }
        let base = bytes.startIndex
        var words = [UInt32](repeating: 0, count: 32)
        for i in 0 ..< 32 {
            let o = base + 4 * i
            words[i] = UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24
        }
        guard UInt16(words[0] >> 16) == magic else { throw InstructionDecodingError("\(at): bad magic 0x\(String(words[0] >> 16, radix: 16)), not a DSC instruction") }
        guard checksum(bytes.prefix(124)) == words[31] else { throw InstructionDecodingError("\(at): checksum mismatch (corrupt record)") }
        func u(_ w: Int, _ pos: Int, _ width: Int) -> Int {
            let v = words[w] >> UInt32(pos)
            return Int(width == 32 ? v : v & ((1 << UInt32(width)) - 1))
        }
        func s(_ w: Int, _ pos: Int, _ width: Int) -> Int {
            let v = u(w, pos, width)
            return v >= 1 << (width - 1) ? v - (1 << width) : v
        }
        var i = Instruction()
        guard let k = Kind(rawValue: UInt8(u(0, 0, 8))) else { throw InstructionDecodingError("\(at): unknown kind \(u(0, 0, 8))") }
        i.kind = k
        func route(_ name: String, _ pos: Int) throws -> Route {
            guard let r = Route(rawValue: UInt8(u(0, pos, 2))) else { throw InstructionDecodingError("\(at): \(name) route \(u(0, pos, 2)) is reserved") }
            return r
        }
        i.inputRoute = try route("input", 8)
        i.outputRoute = try route("output", 10)
        i.residualRoute = try route("residual", 12)
        i.fusedAdd = u(0, 14, 1) == 1
        i.resultIsSecondAddend = u(0, 15, 1) == 1
        i.layer = u(1, 0, 32)
        i.inputHeight = u(2, 0, 16); i.inputWidth = u(2, 16, 16); i.inputChannels = u(3, 0, 32)
        i.outputHeight = u(4, 0, 16); i.outputWidth = u(4, 16, 16); i.outputChannels = u(5, 0, 32)
        i.kernelHeight = u(6, 0, 8); i.kernelWidth = u(6, 8, 8); i.strideH = u(6, 16, 8); i.strideW = u(6, 24, 8)
        i.padTop = s(7, 0, 16); i.padLeft = s(7, 16, 16); i.padBottom = s(8, 0, 16); i.padRight = s(8, 16, 16)
        i.depthMultiplier = u(9, 0, 16); i.piecesH = u(9, 16, 8); i.piecesW = u(9, 24, 8)
        i.channelSlices = u(10, 0, 16); i.filterSlices = u(10, 16, 16)
        i.tileOutColumn = u(11, 0, 16); i.tileOutColumns = u(11, 16, 16)
        i.tileInColumn = s(12, 0, 16); i.tileInColumns = u(12, 16, 16)
        i.inputAddress = words[13]; i.outputAddress = words[14]; i.weightAddress = words[15]
        i.parameterAddress = words[16]; i.residualAddress = words[17]
        i.inputZeroPoint = Int32(s(18, 0, 8)); i.outputZeroPoint = Int32(s(18, 8, 8))
        i.activationMin = Int32(s(18, 16, 8)); i.activationMax = Int32(s(18, 24, 8))
        i.weightZeroPoint = Int32(s(19, 0, 8)); i.pruningThreshold = u(19, 8, 8); i.batches = u(19, 16, 16)
        i.add.input1Offset = Int32(s(20, 0, 16)); i.add.input2Offset = Int32(s(20, 16, 16))
        i.add.input1Multiplier = Int32(bitPattern: words[21]); i.add.input2Multiplier = Int32(bitPattern: words[22])
        i.add.outputMultiplier = Int32(bitPattern: words[23])
        i.add.input1Shift = s(24, 0, 8); i.add.input2Shift = s(24, 8, 8); i.add.outputShift = s(24, 16, 8)
        i.add.outputOffset = Int32(s(24, 24, 8))
        i.add.activationMin = Int32(s(25, 0, 8)); i.add.activationMax = Int32(s(25, 8, 8)); i.meanShift = s(25, 16, 8)
        i.meanMultiplier = Int32(bitPattern: words[26])
        i.layoutShape = [u(27, 0, 16), u(27, 16, 16), u(28, 0, 16), u(28, 16, 16)]
        i.permutation = [u(29, 0, 8), u(29, 8, 8), u(29, 16, 8), u(29, 24, 8)]
        i.sequence = u(30, 0, 32)
        guard i.sequence == expectedSequence else { throw InstructionDecodingError("\(at): sequence number \(i.sequence) (records out of order or missing)") }
        guard u(25, 24, 8) == 0 else { throw InstructionDecodingError("\(at): reserved bits are set") }
        try i.checkSemantics(at)
        return i
    }

    /// Decodes a whole stream (a multiple of 128 bytes, records numbered 0, 1, 2, ...).
    public static func decodeStream(_ bytes: [UInt8]) throws -> [Instruction] {
        guard bytes.count % byteCount == 0 else {
            throw InstructionDecodingError("instruction stream of \(bytes.count) bytes is not a whole number of \(byteCount)-byte records")
        }
        return try (0 ..< bytes.count / byteCount).map { try decode(bytes[$0 * byteCount ..< ($0 + 1) * byteCount], expectedSequence: $0) }
    }

    public static func encodeStream(_ instructions: [Instruction]) throws -> [UInt8] {
        var out = [UInt8](); out.reserveCapacity(instructions.count * byteCount)
        for (n, var i) in instructions.enumerated() { i.sequence = n; out += try i.encoded() }
        return out
    }

    /// Rules every record obeys whatever its kind: shapes at least 1, strides and slices present.
    func checkSemantics(_ at: String) throws {
        func rule(_ ok: Bool, _ m: String) throws { if !ok { throw InstructionDecodingError("\(at) (\(kind)): \(m)") } }
        try rule([inputHeight, inputWidth, inputChannels, outputHeight, outputWidth, outputChannels].allSatisfy { $0 >= 1 }, "a shape field is 0")
        try rule(kernelHeight >= 1 && kernelWidth >= 1 && strideH >= 1 && strideW >= 1, "kernel and stride must be at least 1")
        try rule(channelSlices >= 1 && filterSlices >= 1 && piecesH >= 1 && piecesW >= 1 && depthMultiplier >= 1, "slice, piece and multiplier counts must be at least 1")
        try rule(tileOutColumns >= 1 && tileInColumns >= 1 && tileOutColumn + tileOutColumns <= outputWidth, "column tile \(tileOutColumn)+\(tileOutColumns) outside \(outputWidth) output columns")
        try rule(activationMin <= activationMax, "activation range [\(activationMin), \(activationMax)] is empty")
        try rule(batches >= 1, "batches must be at least 1")
        if kind == .transpose { try rule(Set(permutation) == Set(0 ..< 4), "permutation \(permutation) is not one of 0...3") }
        if fusedAdd { try rule(add.activationMin <= add.activationMax, "fused ADD range is empty") }
    }
}
