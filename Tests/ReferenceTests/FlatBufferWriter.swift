import Foundation

/// A tiny flatbuffer writer for building .tflite files in tests. It lays objects out front to
/// back (each table's vtable just before it, children after their parent), which is valid
/// flatbuffer layout because uoffsets only need to point forward. Scalars take 4-byte slots.
indirect enum FBValue {
    case table([Int: FBField])
    case int32s([Int32])
    case int64s([Int64])
    case floats([Float])
    case bytes([UInt8])
    case string(String)
    case tables([FBValue])
}

enum FBField {
    case u8(UInt8)
    case i32(Int32)
    case f32(Float)
    case ref(FBValue)
}

struct FlatBufferWriter {
    private(set) var bytes = [UInt8]()

    /// A complete file: root offset, file identifier, then the root table.
    static func file(root: FBValue, identifier: String = "TFL3") -> Data {
        var w = FlatBufferWriter()
        w.bytes = [0, 0, 0, 0] + Array(identifier.utf8.prefix(4))
        let rootPos = w.write(root)
        w.patch(0, UInt32(rootPos))
        return Data(w.bytes)
    }

    private mutating func align() { while bytes.count % 4 != 0 { bytes.append(0) } }
    private mutating func u32(_ v: UInt32) { bytes += [UInt8(v & 255), UInt8(v >> 8 & 255), UInt8(v >> 16 & 255), UInt8(v >> 24)] }
    private mutating func u16(_ v: UInt16) { bytes += [UInt8(v & 255), UInt8(v >> 8)] }
    private mutating func patch(_ at: Int, _ v: UInt32) {
        for k in 0 ..< 4 { bytes[at + k] = UInt8(v >> (8 * UInt32(k)) & 255) }
    }

    /// Writes a value and returns its position (the table, or the vector's length word).
    mutating func write(_ v: FBValue) -> Int {
        align()
        switch v {
        case .int32s(let a):
            let p = bytes.count; u32(UInt32(a.count)); for x in a { u32(UInt32(bitPattern: x)) }; return p
        case .int64s(let a):
            let p = bytes.count; u32(UInt32(a.count))
            for x in a { let u = UInt64(bitPattern: x); u32(UInt32(u & 0xFFFF_FFFF)); u32(UInt32(u >> 32)) }
            return p
        case .floats(let a):
            let p = bytes.count; u32(UInt32(a.count)); for x in a { u32(x.bitPattern) }; return p
        case .bytes(let a):
            let p = bytes.count; u32(UInt32(a.count)); bytes += a; return p
        case .string(let s):
            let p = bytes.count; u32(UInt32(s.utf8.count)); bytes += Array(s.utf8) + [0]; return p
        case .tables(let items):
            let p = bytes.count
            u32(UInt32(items.count))
            let slots = (0 ..< items.count).map { bytes.count + 4 * $0 }
            for _ in items { u32(0) }
            for (slot, item) in zip(slots, items) { let c = write(item); patch(slot, UInt32(c - slot)) }
            return p
        case .table(let fields):
            let maxId = fields.keys.max() ?? -1
            let vtableSize = 4 + 2 * (maxId + 1)
            let vtablePos = bytes.count
            let tableSize = 4 + 4 * fields.count
            u16(UInt16(vtableSize)); u16(UInt16(tableSize))
            let ids = fields.keys.sorted()
            for id in 0 ... max(maxId, 0) where maxId >= 0 {
                if let k = ids.firstIndex(of: id) { u16(UInt16(4 + 4 * k)) } else { u16(0) }
            }
            align()
            let tablePos = bytes.count
            u32(UInt32(bitPattern: Int32(tablePos - vtablePos)))
            var refs = [(Int, FBValue)]()
            for id in ids {
                switch fields[id]! {
                case .u8(let x): bytes += [x, 0, 0, 0]
                case .i32(let x): u32(UInt32(bitPattern: x))
                case .f32(let x): u32(x.bitPattern)
                case .ref(let child): refs.append((bytes.count, child)); u32(0)
                }
            }
            for (slot, child) in refs { let c = write(child); patch(slot, UInt32(c - slot)) }
            return tablePos
        }
    }
}

/// Builds small TFLite models field by field (ids from TFLite's schema.fbs).
struct TFLiteModelBuilder {
    struct TensorSpec {
        var shape: [Int32]
        var type: UInt8  // 9 int8, 2 int32
        var data: [UInt8]?
        var scale: Float?
        var zeroPoint: Int64 = 0
    }

    var tensors = [TensorSpec]()
    var opcodes = [Int32]()
    var operators = [(opcode: Int, inputs: [Int32], outputs: [Int32], options: [Int: FBField]?)]()
    var inputs = [Int32]()
    var outputs = [Int32]()

    mutating func tensor(_ shape: [Int32], int8 scale: Float = 0.5, zeroPoint: Int64 = 0) -> Int32 {
        tensors.append(TensorSpec(shape: shape, type: 9, data: nil, scale: scale, zeroPoint: zeroPoint))
        return Int32(tensors.count - 1)
    }

    mutating func constant(_ shape: [Int32], int32 values: [Int32]) -> Int32 {
        let data = values.flatMap { v -> [UInt8] in let u = UInt32(bitPattern: v); return [UInt8(u & 255), UInt8(u >> 8 & 255), UInt8(u >> 16 & 255), UInt8(u >> 24)] }
        tensors.append(TensorSpec(shape: shape, type: 2, data: data, scale: nil))
        return Int32(tensors.count - 1)
    }

    mutating func int32Tensor(_ shape: [Int32]) -> Int32 {
        tensors.append(TensorSpec(shape: shape, type: 2, data: nil, scale: nil))
        return Int32(tensors.count - 1)
    }

    mutating func op(_ builtin: Int32, _ inputs: [Int32], _ outputs: [Int32], options: [Int: FBField]? = nil) {
        let index = opcodes.firstIndex(of: builtin) ?? { opcodes.append(builtin); return opcodes.count - 1 }()
        operators.append((index, inputs, outputs, options))
    }

    func build() -> Data {
        var buffers: [FBValue] = [.table([:])]
        var tensorTables = [FBValue]()
        for t in tensors {
            var fields: [Int: FBField] = [0: .ref(.int32s(t.shape)), 1: .u8(t.type), 3: .ref(.string("t\(tensorTables.count)"))]
            if let d = t.data {
                buffers.append(.table([0: .ref(.bytes(d))]))
                fields[2] = .i32(Int32(buffers.count - 1))
            }
            if let s = t.scale { fields[4] = .ref(.table([2: .ref(.floats([s])), 3: .ref(.int64s([t.zeroPoint]))])) }
            tensorTables.append(.table(fields))
        }
        let ops: [FBValue] = operators.map { o in
            var f: [Int: FBField] = [0: .i32(Int32(o.opcode)), 1: .ref(.int32s(o.inputs)), 2: .ref(.int32s(o.outputs))]
            if let options = o.options { f[4] = .ref(.table(options)) }
            return .table(f)
        }
        let subgraph = FBValue.table([0: .ref(.tables(tensorTables)), 1: .ref(.int32s(inputs)), 2: .ref(.int32s(outputs)), 3: .ref(.tables(ops))])
        let codes: [FBValue] = opcodes.map { .table([0: .u8(UInt8(min($0, 127))), 3: .i32($0)]) }
        return FlatBufferWriter.file(root: .table([0: .i32(3), 1: .ref(.tables(codes)), 2: .ref(.tables([subgraph])), 4: .ref(.tables(buffers))]))
    }
}
