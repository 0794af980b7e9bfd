import Foundation

/// A bounds-checked reader for the flatbuffer wire format. Every offset read from the file is
/// validated before it is followed, so a truncated or mutated file produces a thrown
/// `ReferenceError.malformedModel`, never an out-of-bounds trap.
struct FlatBuffer: Sendable {
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    private func check(_ at: Int, _ size: Int, _ what: @autoclosure () -> String) throws {
        guard at >= 0, size >= 0, at <= bytes.count, size <= bytes.count - at else {
            throw ReferenceError.malformedModel("\(what()) at byte \(at) runs past the end of the \(bytes.count)-byte file")
        }
    }

    func u8(_ at: Int) throws -> UInt8 {
        try check(at, 1, "byte")
        return bytes[at]
    }

    func u16(_ at: Int) throws -> UInt16 {
        try check(at, 2, "uint16")
        return UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8
    }

    func u32(_ at: Int) throws -> UInt32 {
        try check(at, 4, "uint32")
        return UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
    }

    func i32(_ at: Int) throws -> Int32 { Int32(bitPattern: try u32(at)) }

    func u64(_ at: Int) throws -> UInt64 {
        try check(at, 8, "uint64")
        return UInt64(try u32(at)) | UInt64(try u32(at + 4)) << 32
    }

    func f32(_ at: Int) throws -> Float { Float(bitPattern: try u32(at)) }

    /// Follows a uoffset stored at `at` (offsets are relative to where they are stored).
    func follow(_ at: Int) throws -> Int {
        let off = Int(try u32(at))
        let target = at + off
        try check(target, 0, "offset target")
        return target
    }

    func table(at pos: Int) throws -> FBTable {
        let soff = Int(try i32(pos))
        let vt = pos - soff
        try check(vt, 4, "vtable")
        let vtSize = Int(try u16(vt))
        guard vtSize >= 4, vtSize % 2 == 0 else {
            throw ReferenceError.malformedModel("vtable at byte \(vt) has bad size \(vtSize)")
        }
        try check(vt, vtSize, "vtable")
        let tableSize = Int(try u16(vt + 2))
        try check(pos, tableSize, "table")
        return FBTable(fb: self, pos: pos, vtable: vt, vtableSize: vtSize, tableSize: tableSize)
    }

    func root() throws -> FBTable {
        guard bytes.count >= 8 else {
            throw ReferenceError.malformedModel("file is \(bytes.count) bytes, too short for a flatbuffer")
        }
        return try table(at: try follow(0))
    }
}

/// A flatbuffer table; field ids are the order of fields in the schema (a union takes two ids).
struct FBTable: Sendable {
    let fb: FlatBuffer
    let pos: Int
    let vtable: Int
    let vtableSize: Int
    let tableSize: Int

    /// Absolute position of a field, or nil when the field is absent (and takes its default).
    func field(_ id: Int) throws -> Int? {
        let entry = 4 + 2 * id
        guard entry + 2 <= vtableSize else { return nil }
        let off = Int(try fb.u16(vtable + entry))
        guard off != 0 else { return nil }
        guard off < tableSize || tableSize == 0 else {
            throw ReferenceError.malformedModel("field \(id) of table at byte \(pos) lies outside the table")
        }
        return pos + off
    }

    func u8(_ id: Int, _ def: UInt8 = 0) throws -> UInt8 {
        guard let p = try field(id) else { return def }
        return try fb.u8(p)
    }

    func bool(_ id: Int, _ def: Bool = false) throws -> Bool {
        guard let p = try field(id) else { return def }
        return try fb.u8(p) != 0
    }

    func i32(_ id: Int, _ def: Int32 = 0) throws -> Int32 {
        guard let p = try field(id) else { return def }
        return try fb.i32(p)
    }

    func u32(_ id: Int, _ def: UInt32 = 0) throws -> UInt32 {
        guard let p = try field(id) else { return def }
        return try fb.u32(p)
    }

    func u64(_ id: Int, _ def: UInt64 = 0) throws -> UInt64 {
        guard let p = try field(id) else { return def }
        return try fb.u64(p)
    }

    func f32(_ id: Int, _ def: Float = 0) throws -> Float {
        guard let p = try field(id) else { return def }
        return try fb.f32(p)
    }

    func table(_ id: Int) throws -> FBTable? {
        guard let p = try field(id) else { return nil }
        return try fb.table(at: try fb.follow(p))
    }

    func vector(_ id: Int, elementSize: Int) throws -> FBVector? {
        guard let p = try field(id) else { return nil }
        let start = try fb.follow(p)
        let count = Int(try fb.u32(start))
        guard count <= (fb.bytes.count - start - 4) / max(elementSize, 1) else {
            throw ReferenceError.malformedModel("vector of \(count) elements at byte \(start) runs past the end of the file")
        }
        return FBVector(fb: fb, start: start + 4, count: count, elementSize: elementSize)
    }

    func string(_ id: Int) throws -> String? {
        guard let v = try vector(id, elementSize: 1) else { return nil }
        return String(decoding: fb.bytes[v.start ..< v.start + v.count], as: UTF8.self)
    }

    func int32s(_ id: Int) throws -> [Int32]? {
        guard let v = try vector(id, elementSize: 4) else { return nil }
        return try (0 ..< v.count).map { try fb.i32(v.start + 4 * $0) }
    }

    func floats(_ id: Int) throws -> [Float]? {
        guard let v = try vector(id, elementSize: 4) else { return nil }
        return try (0 ..< v.count).map { try fb.f32(v.start + 4 * $0) }
    }

    func int64s(_ id: Int) throws -> [Int64]? {
        guard let v = try vector(id, elementSize: 8) else { return nil }
        return try (0 ..< v.count).map { Int64(bitPattern: try fb.u64(v.start + 8 * $0)) }
    }

    func bytes(_ id: Int) throws -> ArraySlice<UInt8>? {
        guard let v = try vector(id, elementSize: 1) else { return nil }
        return fb.bytes[v.start ..< v.start + v.count]
    }

    func tables(_ id: Int) throws -> [FBTable] {
        guard let v = try vector(id, elementSize: 4) else { return [] }
        return try (0 ..< v.count).map { try fb.table(at: try fb.follow(v.start + 4 * $0)) }
    }
}

struct FBVector: Sendable {
    let fb: FlatBuffer
    let start: Int
    let count: Int
    let elementSize: Int
}
