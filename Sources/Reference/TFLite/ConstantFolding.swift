/// Evaluates int32 shape arithmetic whose operands are all known when the input shape is static.
/// Keras 3 computes reshape targets this way (SHAPE → STRIDED_SLICE → PACK → RESHAPE); folding it
/// keeps the network a plain chain of int8 layers.
enum ConstantFolding {
    /// Returns true when the operator was evaluated and its outputs became constants.
    static func fold(code: Int, options: FBTable?, inputs: [Int], outputs: [Int], tensors: inout [Tensor]) throws -> Bool {
        guard outputs.count == 1 else { return false }
        let out = outputs[0]
        guard tensors[out].type == .int32 else { return false }
        let value: [Int32]?
        switch code {
        case TFLiteSchema.Op.shape:
            guard inputs.count == 1, inputs[0] >= 0 else { return false }
            value = tensors[inputs[0]].shape.map { Int32(truncatingIfNeeded: $0) }
        case TFLiteSchema.Op.stridedSlice:
            value = try stridedSlice1D(options: options, inputs: inputs, tensors: tensors)
        case TFLiteSchema.Op.pack:
            let axis = Int(try options?.i32(TFLiteSchema.PackOptions.axis) ?? 0)
            value = join(inputs: inputs, axis: axis, stacking: true, tensors: tensors)
        case TFLiteSchema.Op.concatenation:
            let axis = Int(try options?.i32(TFLiteSchema.ConcatenationOptions.axis) ?? 0)
            value = join(inputs: inputs, axis: axis, stacking: false, tensors: tensors)
        default:
            return false
        }
        guard let value, value.count == tensors[out].elementCount else { return false }
        tensors[out].data = .int32(value)
        return true
    }

    private static func constant(_ i: Int, _ tensors: [Tensor]) -> [Int32]? {
        guard i >= 0, tensors.indices.contains(i) else { return nil }
        return tensors[i].int32Data
    }

    /// STRIDED_SLICE of a 1-D constant, the form shape arithmetic takes.
    private static func stridedSlice1D(options: FBTable?, inputs: [Int], tensors: [Tensor]) throws -> [Int32]? {
        guard inputs.count == 4, let input = constant(inputs[0], tensors), tensors[inputs[0]].shape.count == 1,
              let begin = constant(inputs[1], tensors), let end = constant(inputs[2], tensors),
              let strides = constant(inputs[3], tensors), begin.count == 1, end.count == 1, strides.count == 1
        else { return nil }
        typealias S = TFLiteSchema.StridedSliceOptions
        let beginMask = try options?.i32(S.beginMask) ?? 0
        let endMask = try options?.i32(S.endMask) ?? 0
        let shrink = try options?.i32(S.shrinkAxisMask) ?? 0
        let ellipsis = try options?.i32(S.ellipsisMask) ?? 0
        let newAxis = try options?.i32(S.newAxisMask) ?? 0
        let offset = try options?.bool(S.offset) ?? false
        guard ellipsis == 0, newAxis == 0, !offset else { return nil }
        let n = input.count
        let stride = Int(strides[0])
        guard stride != 0 else { return nil }
        func normalize(_ v: Int) -> Int { v < 0 ? v + n : v }
        var b = normalize(Int(begin[0]))
        if shrink & 1 != 0 {
            guard (0 ..< n).contains(b) else { return nil }
            return [input[b]]
        }
        var e = normalize(Int(end[0]))
        if stride > 0 {
            b = beginMask & 1 != 0 ? 0 : min(max(b, 0), n)
            e = endMask & 1 != 0 ? n : min(max(e, 0), n)
        } else {
            b = beginMask & 1 != 0 ? n - 1 : min(max(b, -1), n - 1)
            e = endMask & 1 != 0 ? -1 : min(max(e, -1), n - 1)
        }
        var result = [Int32]()
        var i = b
        while stride > 0 ? i < e : i > e {
            result.append(input[i])
            i += stride
        }
        return result
    }

    /// PACK (stacking, a new axis) and CONCATENATION (an existing axis) of int32 constants.
    private static func join(inputs: [Int], axis: Int, stacking: Bool, tensors: [Tensor]) -> [Int32]? {
        guard !inputs.isEmpty else { return nil }
        var values = [[Int32]]()
        for i in inputs {
            guard let v = constant(i, tensors) else { return nil }
            values.append(v)
        }
        let shape = tensors[inputs[0]].shape
        let rank = stacking ? shape.count + 1 : shape.count
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0, a < max(rank, 1) else { return nil }
        // Every operand splits into `outer` blocks; block k of each operand goes out in operand order.
        let outer = shape.prefix(a).reduce(1, *)
        guard outer > 0 else { return [] }
        var result = [Int32]()
        for k in 0 ..< outer {
            for v in values {
                guard v.count % outer == 0 else { return nil }
                let inner = v.count / outer
                result += v[k * inner ..< (k + 1) * inner]
            }
        }
        return result
    }
}
