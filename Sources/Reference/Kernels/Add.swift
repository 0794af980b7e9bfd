/// ADD of two int8 tensors of the same shape (the residual connection), element by element with
/// TFLite's `AddElementwise` arithmetic; see `AddParameters`.
public enum Add {
    public static func run(_ p: AddParameters, _ a: [Int8], _ b: [Int8]) throws -> [Int8] {
        guard a.count == b.count else {
            throw ReferenceError.invalidNetwork("ADD operands have \(a.count) and \(b.count) elements; broadcasting is not supported")
        }
        var out = [Int8](repeating: 0, count: a.count)
        for i in 0 ..< a.count { out[i] = p.add(a[i], b[i]) }
        return out
    }
}
