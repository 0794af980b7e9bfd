/// Data movement without arithmetic: PAD, TRANSPOSE and RESHAPE.
public enum Layout {
    /// PAD of any rank; `paddings[d]` is (before, after) for dimension d. TFLite pads quantized
    /// tensors with the output zero point, i.e. with real zero.
    public static func pad(_ input: [Int8], shape: [Int], paddings: [(before: Int, after: Int)], value: Int8) throws -> [Int8] {
        guard paddings.count == shape.count, paddings.allSatisfy({ $0.before >= 0 && $0.after >= 0 && $0.before <= 1 << 20 && $0.after <= 1 << 20 }) else {
            throw ReferenceError.invalidNetwork("PAD paddings do not fit shape \(shape)")
        }
        guard input.count == shape.reduce(1, *) else {
            throw ReferenceError.invalidInput("PAD input has \(input.count) elements, expected \(shape.reduce(1, *))")
        }
        let outShape = zip(shape, paddings).map { $0 + $1.before + $1.after }
        var out = [Int8](repeating: value, count: outShape.reduce(1, *))
        guard !input.isEmpty else { return out }
        let rank = shape.count
        // Copy innermost rows; the row's destination is found from the outer indices.
        let inner = shape.last ?? 1
        let rows = input.count / max(inner, 1)
        var index = [Int](repeating: 0, count: max(rank - 1, 0))
        for r in 0 ..< rows {
            var dst = 0
            for d in 0 ..< rank - 1 { dst = dst * outShape[d] + index[d] + paddings[d].before }
            dst = dst * (outShape.last ?? 1) + (paddings.last?.before ?? 0)
            for c in 0 ..< inner { out[dst + c] = input[r * inner + c] }
            var d = rank - 2
            while d >= 0 {
                index[d] += 1
                if index[d] < shape[d] { break }
                index[d] = 0
                d -= 1
            }
        }
        return out
    }

    /// TRANSPOSE: output dimension i is input dimension perm[i].
    public static func transpose<T>(_ input: [T], shape: [Int], perm: [Int]) throws -> [T] {
        let rank = shape.count
        guard perm.count == rank, Set(perm) == Set(0 ..< rank) else {
            throw ReferenceError.invalidNetwork("TRANSPOSE permutation \(perm) does not fit shape \(shape)")
        }
        guard input.count == shape.reduce(1, *) else {
            throw ReferenceError.invalidInput("TRANSPOSE input has \(input.count) elements, expected \(shape.reduce(1, *))")
        }
        guard let first = input.first else { return [] }
        var inStrides = [Int](repeating: 1, count: rank)
        for d in stride(from: rank - 2, through: 0, by: -1) { inStrides[d] = inStrides[d + 1] * shape[d + 1] }
        let outShape = perm.map { shape[$0] }
        let strides = perm.map { inStrides[$0] }
        var out = [T](repeating: first, count: input.count)
        var index = [Int](repeating: 0, count: rank)
        var src = 0
        for i in 0 ..< input.count {
            out[i] = input[src]
            var d = rank - 1
            while d >= 0 {
                index[d] += 1
                src += strides[d]
                if index[d] < outShape[d] { break }
                src -= strides[d] * index[d]
                index[d] = 0
                d -= 1
            }
        }
        return out
    }
}
