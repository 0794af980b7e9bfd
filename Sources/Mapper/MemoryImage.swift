/// The external memory image under construction: constants appended at aligned addresses, then
/// the activation arena placed after them by `Allocation`.
struct MemoryImage {
    private(set) var bytes: [UInt8] = []
    let alignment: Int

    init(alignment: Int) { self.alignment = max(1, alignment) }

    static func align(_ x: Int, _ a: Int) -> Int { (x + a - 1) / a * a }

    /// Appends `data` at the next aligned address and returns that address.
    mutating func append(_ data: [UInt8]) throws -> UInt32 {
        let at = MemoryImage.align(bytes.count, alignment)
        guard at + data.count <= Int(UInt32.max) else { throw MapperError("memory image exceeds the 32-bit address space") }
        bytes += [UInt8](repeating: 0, count: at - bytes.count)
        bytes += data
        return UInt32(at)
    }

    mutating func append(_ data: [Int8]) throws -> UInt32 { try append(data.map { UInt8(bitPattern: $0) }) }

    /// Grows the image with zeros to `size` bytes (the activation arena).
    mutating func reserve(upTo size: Int) {
        if size > bytes.count { bytes += [UInt8](repeating: 0, count: size - bytes.count) }
    }
}
