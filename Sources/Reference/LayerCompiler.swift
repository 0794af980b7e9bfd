/// Checks one layer against its tensors and turns it into an interpreter step with precomputed
/// requantization parameters. All validation of shapes, types and constants lives here, so the
/// kernels only see consistent sizes.
struct LayerCompiler {
    let network: Network
    var here = ""

    init(network: Network) { self.network = network }

    private func fail(_ m: String) -> ReferenceError { .invalidNetwork("\(here): \(m)") }

    private func tensor(_ i: Int) throws -> Tensor {
        guard network.tensors.indices.contains(i) else { throw fail("tensor index \(i) out of range") }
        return network.tensors[i]
    }

    private func operand(_ layer: Layer, _ k: Int) throws -> Int {
        guard layer.inputs.count > k, layer.inputs[k] >= 0 else { throw fail("missing operand \(k)") }
        _ = try tensor(layer.inputs[k])
        return layer.inputs[k]
    }

    private func optionalOperand(_ layer: Layer, _ k: Int) throws -> Int? {
        guard layer.inputs.count > k, layer.inputs[k] >= 0 else { return nil }
        _ = try tensor(layer.inputs[k])
        return layer.inputs[k]
    }

    /// An int8 tensor with a usable per-tensor scale and an int8 zero point.
    private func activation(_ i: Int) throws -> (Tensor, scale: Float, zeroPoint: Int32) {
        let t = try tensor(i)
        guard t.type == .int8 else { throw ReferenceError.unsupported("\(here): tensor \(i) (\(t.name)) is \(t.type); only int8 activations are supported") }
        guard let q = t.quantization, q.scale.isFinite, q.scale > 0 else { throw fail("tensor \(i) (\(t.name)) has no quantization") }
        guard (-128 ... 127).contains(q.zeroPoint) else { throw fail("tensor \(i) (\(t.name)) zero point \(q.zeroPoint) outside int8") }
        guard t.shape.allSatisfy({ $0 >= 1 }) else { throw fail("tensor \(i) (\(t.name)) has an empty shape \(t.shape)") }
        return (t, q.scale, q.zeroPoint)
    }

    private func constantInt8(_ i: Int) throws -> (Tensor, [Int8]) {
        let t = try tensor(i)
        guard let d = t.int8Data else { throw ReferenceError.unsupported("\(here): tensor \(i) (\(t.name)) must be a constant int8 tensor") }
        guard d.count == t.elementCount else { throw fail("tensor \(i) holds \(d.count) values for shape \(t.shape)") }
        return (t, d)
    }

    private func constantInt32(_ i: Int) throws -> [Int32] {
        let t = try tensor(i)
        guard let d = t.int32Data else { throw ReferenceError.unsupported("\(here): tensor \(i) (\(t.name)) must be a constant int32 tensor") }
        guard d.count == t.elementCount else { throw fail("tensor \(i) holds \(d.count) values for shape \(t.shape)") }
        return d
    }

    private func output(_ layer: Layer) throws -> Int {
        guard layer.outputs.count == 1 else { throw fail("expected one output, got \(layer.outputs.count)") }
        _ = try tensor(layer.outputs[0])
        return layer.outputs[0]
    }

    private func clamp(_ layer: Layer, _ out: (Tensor, scale: Float, zeroPoint: Int32)) throws -> (Int32, Int32) {
        if case .unsupported = layer.op.activation {
            throw ReferenceError.unsupported("\(here): fused activation \(layer.op.activation)")
        }
        return layer.op.activation.range(scale: out.scale, zeroPoint: out.zeroPoint)
    }

    private func weightScales(_ w: Tensor, channels: Int, dimension: Int) throws -> [Float] {
        guard let q = w.quantization, !q.scales.isEmpty else { throw fail("weights \(w.name) have no quantization") }
        guard q.scales.count == 1 || (q.scales.count == channels && q.quantizedDimension == dimension) else {
            throw fail("weights \(w.name) have \(q.scales.count) scales along dimension \(q.quantizedDimension), expected 1 or \(channels) along \(dimension)")
        }
        guard q.scales.allSatisfy({ $0.isFinite && $0 >= 0 }) else { throw fail("weights \(w.name) have invalid scales") }
        return q.scales
    }

    private func bias(_ layer: Layer, channels: Int) throws -> [Int32]? {
        guard let b = try optionalOperand(layer, 2) else { return nil }
        let d = try constantInt32(b)
        guard d.count == channels else { throw fail("bias has \(d.count) values, expected \(channels)") }
        return d
    }

    private func expectShape(_ i: Int, _ shape: [Int]) throws {
        let t = try tensor(i)
        guard t.shape == shape else { throw fail("output \(t.name) has shape \(t.shape), the operator computes \(shape)") }
    }

    mutating func compile(_ layer: Layer, index: Int) throws -> Interpreter.Step {
        here = "layer \(index) (\(layer.op.name))"
        switch layer.op {
        case .conv2D(let o), .depthwiseConv2D(let o):
            let depthwise: Bool
            if case .depthwiseConv2D = layer.op { depthwise = true } else { depthwise = false }
            let x = try activation(try operand(layer, 0))
            let (w, wd) = try constantInt8(try operand(layer, 1))
            let outIndex = try output(layer)
            let y = try activation(outIndex)
            guard x.0.shape.count == 4, w.shape.count == 4 else { throw fail("input \(x.0.shape) and weights \(w.shape) must be 4-D") }
            let channels = depthwise ? w.shape[3] : w.shape[0]
            if depthwise {
                guard w.shape[0] == 1, channels % x.0.shape[3] == 0 else {
                    throw fail("depthwise weights \(w.shape) do not fit input \(x.0.shape)")
                }
            } else {
                guard w.shape[3] == x.0.shape[3] else { throw fail("weights \(w.shape) do not fit input \(x.0.shape)") }
            }
            guard w.quantization?.zeroPoints.allSatisfy({ $0 == 0 }) ?? true else {
                throw ReferenceError.unsupported("\(here): weights with non-zero zero points")
            }
            let scales = try weightScales(w, channels: channels, dimension: depthwise ? 3 : 0)
            let m = FixedPoint.channelMultipliers(inputScale: x.scale, weightScales: scales, outputScale: y.scale, channels: channels)
            let (lo, hi) = try clamp(layer, y)
            let p = try ConvParameters(input: x.0.shape, outputChannels: channels, kernelHeight: w.shape[1], kernelWidth: w.shape[2],
                                       options: o, inputZeroPoint: x.zeroPoint, outputZeroPoint: y.zeroPoint,
                                       multipliers: m.map(\.multiplier), shifts: m.map(\.shift), activationMin: lo, activationMax: hi)
            guard p.outputHeight >= 1, p.outputWidth >= 1 else { throw fail("kernel \(w.shape) is larger than input \(x.0.shape)") }
            try expectShape(outIndex, p.outputShape)
            let b = try bias(layer, channels: channels)
            return depthwise ? .depthwise(p, input: layer.inputs[0], weights: wd, bias: b, output: outIndex)
                             : .conv(p, input: layer.inputs[0], weights: wd, bias: b, output: outIndex)

        case .fullyConnected:
            let x = try activation(try operand(layer, 0))
            let (w, wd) = try constantInt8(try operand(layer, 1))
            let outIndex = try output(layer)
            let y = try activation(outIndex)
            guard w.shape.count == 2, w.shape[1] >= 1 else { throw fail("weights must be [outputs, depth], got \(w.shape)") }
            let depth = w.shape[1], outputs = w.shape[0]
            guard x.0.elementCount % depth == 0 else { throw fail("input \(x.0.shape) does not divide into rows of \(depth)") }
            let batches = x.0.elementCount / depth
            guard y.0.elementCount == batches * outputs else { throw fail("output \(y.0.shape) does not hold \(batches)x\(outputs)") }
            let scales = try weightScales(w, channels: outputs, dimension: 0)
            let wzp = w.quantization?.zeroPoint ?? 0
            guard (-128 ... 127).contains(wzp), scales.count == 1 || (w.quantization?.zeroPoints.allSatisfy { $0 == 0 } ?? true) else {
                throw ReferenceError.unsupported("\(here): weight zero points \(w.quantization?.zeroPoints ?? [])")
            }
            let m = FixedPoint.channelMultipliers(inputScale: x.scale, weightScales: scales, outputScale: y.scale, channels: scales.count)
            let (lo, hi) = try clamp(layer, y)
            let p = FullyConnectedParameters(batches: batches, inputDepth: depth, outputDepth: outputs, inputZeroPoint: x.zeroPoint,
                                             weightZeroPoint: scales.count == 1 ? wzp : 0, outputZeroPoint: y.zeroPoint,
                                             multipliers: m.map(\.multiplier), shifts: m.map(\.shift), activationMin: lo, activationMax: hi)
            return .fullyConnected(p, input: layer.inputs[0], weights: wd, bias: try bias(layer, channels: outputs), output: outIndex)

        case .add:
            let a = try activation(try operand(layer, 0))
            let b = try activation(try operand(layer, 1))
            let outIndex = try output(layer)
            let y = try activation(outIndex)
            guard a.0.elementCount == b.0.elementCount, a.0.elementCount == y.0.elementCount else {
                throw ReferenceError.unsupported("\(here): broadcasting \(a.0.shape) + \(b.0.shape) -> \(y.0.shape)")
            }
            let (lo, hi) = try clamp(layer, y)
            let p = try AddParameters(input1Scale: a.scale, input1ZeroPoint: a.zeroPoint, input2Scale: b.scale, input2ZeroPoint: b.zeroPoint,
                                      outputScale: y.scale, outputZeroPoint: y.zeroPoint, activationMin: lo, activationMax: hi)
            return .add(p, layer.inputs[0], layer.inputs[1], output: outIndex)

        case .averagePool2D(let o):
            let x = try activation(try operand(layer, 0))
            let outIndex = try output(layer)
            let y = try activation(outIndex)
            guard x.0.shape.count == 4 else { throw fail("input must be NHWC, got \(x.0.shape)") }
            guard o.filterH >= 1, o.filterW >= 1, o.strideH >= 1, o.strideW >= 1 else { throw fail("filter and strides must be at least 1: \(o)") }
            let (lo, hi) = try clamp(layer, y)
            let s = x.0.shape
            let p = PoolParameters(batches: s[0], inputHeight: s[1], inputWidth: s[2], channels: s[3], filterHeight: o.filterH, filterWidth: o.filterW,
                                   strideH: o.strideH, strideW: o.strideW, padding: o.padding, activationMin: lo, activationMax: hi)
            guard p.outputHeight >= 1, p.outputWidth >= 1 else { throw fail("filter \(o.filterH)x\(o.filterW) is larger than input \(s)") }
            try expectShape(outIndex, p.outputShape)
            return .averagePool(p, input: layer.inputs[0], output: outIndex)

        case .mean:
            let x = try activation(try operand(layer, 0))
            let axesRaw = try constantInt32(try operand(layer, 1))
            let outIndex = try output(layer)
            let y = try activation(outIndex)
            let rank = x.0.shape.count
            var axes = [Int]()
            for a in axesRaw {
                let r = a < 0 ? Int(a) + rank : Int(a)
                guard (0 ..< rank).contains(r) else { throw fail("axis \(a) out of range for rank \(rank)") }
                if !axes.contains(r) { axes.append(r) }
            }
            guard !axes.isEmpty else { throw ReferenceError.unsupported("\(here): MEAN over no axes") }
            let p = MeanParameters(inputShape: x.0.shape, axes: axes, inputScale: x.scale, inputZeroPoint: x.zeroPoint,
                                   outputScale: y.scale, outputZeroPoint: y.zeroPoint)
            guard y.0.elementCount == p.outputCount else { throw fail("output \(y.0.shape) does not hold \(p.outputCount) means") }
            return .mean(p, input: layer.inputs[0], output: outIndex)

        case .pad:
            let x = try activation(try operand(layer, 0))
            let raw = try constantInt32(try operand(layer, 1))
            let outIndex = try output(layer)
            let y = try activation(outIndex)
            let rank = x.0.shape.count
            guard raw.count == 2 * rank else { throw fail("paddings hold \(raw.count) values for rank \(rank)") }
            guard raw.allSatisfy({ $0 >= 0 && $0 <= 1 << 20 }) else { throw fail("paddings \(raw) out of range") }
            let paddings = (0 ..< rank).map { (before: Int(raw[2 * $0]), after: Int(raw[2 * $0 + 1])) }
            if layer.inputs.count > 2, layer.inputs[2] >= 0 {
                throw ReferenceError.unsupported("\(here): PAD with a constant value operand")
            }
            try expectShape(outIndex, zip(x.0.shape, paddings).map { $0 + $1.before + $1.after })
            return .pad(shape: x.0.shape, paddings: paddings, value: Int8(truncatingIfNeeded: y.zeroPoint), input: layer.inputs[0], output: outIndex)

        case .transpose:
            let x = try activation(try operand(layer, 0))
            let perm = try constantInt32(try operand(layer, 1)).map { Int($0) }
            let outIndex = try output(layer)
            _ = try activation(outIndex)
            let rank = x.0.shape.count
            guard perm.count == rank, Set(perm) == Set(0 ..< rank) else { throw fail("permutation \(perm) does not fit rank \(rank)") }
            try expectShape(outIndex, perm.map { x.0.shape[$0] })
            return .transpose(shape: x.0.shape, perm: perm, input: layer.inputs[0], output: outIndex)

        case .reshape:
            let x = try activation(try operand(layer, 0))
            let outIndex = try output(layer)
            let y = try activation(outIndex)
            guard x.0.elementCount == y.0.elementCount else { throw fail("reshape \(x.0.shape) -> \(y.0.shape) changes the element count") }
            return .copy(input: layer.inputs[0], output: outIndex)

        case .softmax(let beta):
            let x = try activation(try operand(layer, 0))
            let outIndex = try output(layer)
            let y = try activation(outIndex)
            guard x.0.elementCount == y.0.elementCount, let depth = x.0.shape.last else { throw fail("output \(y.0.shape) differs from input \(x.0.shape)") }
            guard y.zeroPoint == -128, abs(Double(y.scale) - 1.0 / 256) < 1e-9 else {
                throw ReferenceError.unsupported("\(here): int8 softmax output must have scale 1/256 and zero point -128")
            }
            return .softmax(SoftmaxParameters(beta: Double(beta), inputScale: Double(x.scale)), depth: depth, input: layer.inputs[0], output: outIndex)

        case .unsupported(let name):
            throw ReferenceError.unsupported("operator \(name) (layer \(index)) is not implemented by the reference model")
        }
    }
}
