import Reference

/// A network layer turned into one accelerator operation, before slicing and allocation: PAD and
/// RESHAPE are gone (fused into the consumer's padding, or aliased), ADD is fused into the producing
/// convolution where it can be, SOFTMAX is a host step. Tensor indices are storage tensors (a
/// RESHAPE's output is its input's storage).
struct LoweredLayer {
    enum Work {
        /// Standard, pointwise or depthwise: geometry with any fused PAD folded into padTop/padLeft.
        case convolution(Instruction.Kind, ConvParameters, weights: [Int8], bias: [Int32]?, depthMultiplier: Int)
        case fullyConnected(FullyConnectedParameters, weights: [Int8], bias: [Int32]?)
        case averagePool(PoolParameters)
        /// MEAN over H and W of an NHWC tensor, with tflite-micro's folded multiplier.
        case mean(height: Int, width: Int, channels: Int, inputZeroPoint: Int32, outputZeroPoint: Int32, multiplier: Int32, shift: Int)
        case add(AddParameters, elements: Int)
        case transpose(shape: [Int], perm: [Int])
        case pad(shape: [Int], top: Int, bottom: Int, left: Int, right: Int, value: Int8)
    }

    struct FusedAdd {
        var parameters: AddParameters
        var residual: Int
        var resultIsSecondAddend: Bool
        /// The ADD layer's own index, reported with the convolution's.
        var layer: Int
    }

    var layer: Int
    var work: Work
    var input: Int
    var output: Int
    var fusedAdd: FusedAdd?
    /// The TFLite tensor whose value this layer's output is (the ADD's output when fused).
    var outputName: String
}

/// The lowering result: accelerator layers in order plus the host's work.
struct LoweredNetwork {
    var layers: [LoweredLayer]
    var hostSteps: [(layer: Int, beta: Float, inputScale: Float, depth: Int, input: Int, output: Int)]
    /// Storage tensor of every TFLite tensor (itself unless it is a RESHAPE output).
    var storage: [Int]
    var networkInput: Int
    var networkOutput: Int
}

enum Lowering {
    static func lower(_ network: Network) throws -> LoweredNetwork {
        // The reference interpreter's construction is the one place a network is checked; a network
        // it refuses cannot be mapped either, and its message already names the layer.
        for (n, layer) in network.layers.enumerated() {
            if case .unsupported(let name) = layer.op {
                throw MapperError("layer \(n) (\(name)): operator not supported by the accelerator or the host")
            }
        }
        do { _ = try Interpreter(network) } catch { throw MapperError("\(error)") }
        guard network.inputs.count == 1, network.outputs.count >= 1 else {
            throw MapperError("network has \(network.inputs.count) inputs and \(network.outputs.count) outputs; the mapper takes one input")
        }

        let tensors = network.tensors
        var consumers = [[Int]](repeating: [], count: tensors.count)
        var producer = [Int](repeating: -1, count: tensors.count)
        for (n, l) in network.layers.enumerated() {
            for i in l.inputs where i >= 0 { consumers[i].append(n) }
            for o in l.outputs { producer[o] = n }
        }
        let outputs = Set(network.outputs)

        var storage = Array(tensors.indices)
        // A fused PAD: consumers read the PAD's input with this much extra padding.
        var fusedPad = [Int: (source: Int, top: Int, bottom: Int, left: Int, right: Int)]()
        var fusedAddInto = [Int: LoweredLayer.FusedAdd]()   // keyed by the producing layer index
        var skipLayers = Set<Int>()
        var lowered = [LoweredLayer]()
        var host: [(layer: Int, beta: Float, inputScale: Float, depth: Int, input: Int, output: Int)] = []

        func here(_ n: Int) -> String { "layer \(n) (\(network.layers[n].op.name))" }
        func quant(_ t: Int) -> (scale: Float, zeroPoint: Int32) {
            (tensors[t].quantization?.scale ?? 1, tensors[t].quantization?.zeroPoint ?? 0)
        }

        // Decide ADD fusion first: an ADD whose operand is produced by a convolution or FC that
        // nothing else reads, the other operand being ready before that producer runs.
        for (n, l) in network.layers.enumerated() {
            guard case .add = l.op, l.inputs.count == 2 else { continue }
            var best: (producer: Int, second: Bool)?
            for (k, t) in l.inputs.enumerated() {
                let p = producer[t]
                guard p >= 0, consumers[t] == [n], !outputs.contains(t) else { continue }
                switch network.layers[p].op {
                case .conv2D, .depthwiseConv2D, .fullyConnected: break
                default: continue
                }
                let other = l.inputs[1 - k]
                guard producer[other] < p, fusedAddInto[p] == nil else { continue }
                if best == nil || p > best!.producer { best = (p, k == 1) }
            }
            guard let b = best else { continue }
            let a = quant(l.inputs[0]), c = quant(l.inputs[1]), y = quant(l.outputs[0])
            let range = network.activationRange(of: l)
            let params: AddParameters
            do {
                params = try AddParameters(input1Scale: a.scale, input1ZeroPoint: a.zeroPoint, input2Scale: c.scale, input2ZeroPoint: c.zeroPoint,
                                           outputScale: y.scale, outputZeroPoint: y.zeroPoint, activationMin: range.min, activationMax: range.max)
            } catch { throw MapperError("\(here(n)): \(error)") }
            fusedAddInto[b.producer] = .init(parameters: params, residual: l.inputs[b.second ? 0 : 1], resultIsSecondAddend: b.second, layer: n)
            skipLayers.insert(n)
        }

        for (n, l) in network.layers.enumerated() where !skipLayers.contains(n) {
            let out = l.outputs[0]
            func src(_ t: Int) -> Int { storage[t] }
            switch l.op {
            case .reshape:
                storage[out] = src(l.inputs[0])

            case .pad:
                let x = tensors[l.inputs[0]]
                let raw = tensors[l.inputs[1]].int32Data ?? []
                let p = (0 ..< x.shape.count).map { (Int(raw[2 * $0]), Int(raw[2 * $0 + 1])) }
                let spatialOnly = x.shape.count == 4 && p[0] == (0, 0) && p[3] == (0, 0)
                let allConv = !consumers[out].isEmpty && consumers[out].allSatisfy {
                    switch network.layers[$0].op {
                    case .conv2D, .depthwiseConv2D: return network.layers[$0].inputs[0] == out
                    default: return false
                    }
                }
                guard spatialOnly else { throw MapperError("\(here(n)): padding \(p) of batch or channel dimensions is not supported") }
                if allConv && !outputs.contains(out) && fusedPad[l.inputs[0]] == nil {
                    fusedPad[out] = (src(l.inputs[0]), p[1].0, p[1].1, p[2].0, p[2].1)
                } else {
                    let zp = quant(out).zeroPoint
                    lowered.append(.init(layer: n, work: .pad(shape: x.shape, top: p[1].0, bottom: p[1].1, left: p[2].0, right: p[2].1, value: Int8(truncatingIfNeeded: zp)),
                                         input: src(l.inputs[0]), output: out, outputName: tensors[out].name))
                }

            case .transpose:
                let x = tensors[l.inputs[0]]
                let perm = (tensors[l.inputs[1]].int32Data ?? []).map { Int($0) }
                guard x.shape.count <= 4 else { throw MapperError("\(here(n)): TRANSPOSE of rank \(x.shape.count); at most 4 is supported") }
                let lead = 4 - x.shape.count
                let shape4 = [Int](repeating: 1, count: lead) + x.shape
                let perm4 = Array(0 ..< lead) + perm.map { $0 + lead }
                lowered.append(.init(layer: n, work: .transpose(shape: shape4, perm: perm4), input: src(l.inputs[0]), output: out, outputName: tensors[out].name))

            case .conv2D(let o), .depthwiseConv2D(let o):
                let depthwise: Bool
                if case .depthwiseConv2D = l.op { depthwise = true } else { depthwise = false }
                guard o.dilationH == 1, o.dilationW == 1 else { throw MapperError("\(here(n)): dilation \(o.dilationH)x\(o.dilationW) is not supported") }
                var inTensor = l.inputs[0]
                var extra = (top: 0, bottom: 0, left: 0, right: 0)
                if let f = fusedPad[inTensor] { extra = (f.top, f.bottom, f.left, f.right); inTensor = f.source }
                let padded = tensors[l.inputs[0]], x = tensors[inTensor], w = tensors[l.inputs[1]], y = tensors[out]
                guard x.shape[0] == 1 else { throw MapperError("\(here(n)): batch \(x.shape[0]); the accelerator runs one image at a time") }
                let xq = quant(l.inputs[0]), yq = quant(out)
                let channels = depthwise ? w.shape[3] : w.shape[0]
                let scales = w.quantization?.scales ?? [1]
                let m = FixedPoint.channelMultipliers(inputScale: xq.scale, weightScales: scales, outputScale: yq.scale, channels: channels)
                let range = network.activationRange(of: l)
                var p: ConvParameters
                do {
                    p = try ConvParameters(input: padded.shape, outputChannels: channels, kernelHeight: w.shape[1], kernelWidth: w.shape[2], options: o,
                                           inputZeroPoint: xq.zeroPoint, outputZeroPoint: yq.zeroPoint, multipliers: m.map(\.multiplier), shifts: m.map(\.shift),
                                           activationMin: range.min, activationMax: range.max)
                } catch { throw MapperError("\(here(n)): \(error)") }
                p.inputHeight = x.shape[1]; p.inputWidth = x.shape[2]
                p.padTop += extra.top; p.padLeft += extra.left
                guard p.outputShape == y.shape else { throw MapperError("\(here(n)): output \(y.shape) differs from computed \(p.outputShape)") }
                let pointwise = !depthwise && p.kernelHeight == 1 && p.kernelWidth == 1 && p.padTop == 0 && p.padLeft == 0
                if !pointwise {
                    guard p.strideH <= 2, p.strideW <= 2 else {
                        throw MapperError("\(here(n)): stride \(p.strideH)x\(p.strideW); the reshape unit supports strides 1 and 2")
                    }
                }
                let kind: Instruction.Kind = depthwise ? .depthwise : (pointwise ? .pointwise : .convolution)
                let bias = l.inputs.count > 2 && l.inputs[2] >= 0 ? tensors[l.inputs[2]].int32Data : nil
                var lowerd = LoweredLayer(layer: n, work: .convolution(kind, p, weights: w.int8Data ?? [], bias: bias, depthMultiplier: depthwise ? channels / x.shape[3] : 1),
                                          input: src(inTensor), output: out, outputName: tensors[out].name)
                if let f = fusedAddInto[n] {
                    lowerd.fusedAdd = f
                    let addOut = network.layers[f.layer].outputs[0]
                    lowerd.output = addOut
                    lowerd.outputName = tensors[addOut].name
                    lowerd.fusedAdd?.residual = src(f.residual)
                }
                lowered.append(lowerd)

            case .fullyConnected:
                let x = tensors[l.inputs[0]], w = tensors[l.inputs[1]]
                let xq = quant(l.inputs[0]), yq = quant(out)
                let depth = w.shape[1], outs = w.shape[0]
                let scales = w.quantization?.scales ?? [1]
                let m = FixedPoint.channelMultipliers(inputScale: xq.scale, weightScales: scales, outputScale: yq.scale, channels: scales.count)
                let range = network.activationRange(of: l)
                let p = FullyConnectedParameters(batches: x.elementCount / depth, inputDepth: depth, outputDepth: outs, inputZeroPoint: xq.zeroPoint,
                                                 weightZeroPoint: scales.count == 1 ? (w.quantization?.zeroPoint ?? 0) : 0, outputZeroPoint: yq.zeroPoint,
                                                 multipliers: m.map(\.multiplier), shifts: m.map(\.shift), activationMin: range.min, activationMax: range.max)
                let bias = l.inputs.count > 2 && l.inputs[2] >= 0 ? tensors[l.inputs[2]].int32Data : nil
                var lowerd = LoweredLayer(layer: n, work: .fullyConnected(p, weights: w.int8Data ?? [], bias: bias), input: src(l.inputs[0]), output: out, outputName: tensors[out].name)
                if let f = fusedAddInto[n] {
                    lowerd.fusedAdd = f
                    lowerd.output = network.layers[f.layer].outputs[0]
                    lowerd.outputName = tensors[lowerd.output].name
                    lowerd.fusedAdd?.residual = src(f.residual)
                }
                lowered.append(lowerd)

            case .add:
                let a = quant(l.inputs[0]), c = quant(l.inputs[1]), y = quant(out)
                let range = network.activationRange(of: l)
                let params: AddParameters
                do {
                    params = try AddParameters(input1Scale: a.scale, input1ZeroPoint: a.zeroPoint, input2Scale: c.scale, input2ZeroPoint: c.zeroPoint,
                                               outputScale: y.scale, outputZeroPoint: y.zeroPoint, activationMin: range.min, activationMax: range.max)
                } catch { throw MapperError("\(here(n)): \(error)") }
                var lowerd = LoweredLayer(layer: n, work: .add(params, elements: tensors[out].elementCount), input: src(l.inputs[0]), output: out, outputName: tensors[out].name)
                lowerd.fusedAdd = .init(parameters: params, residual: src(l.inputs[1]), resultIsSecondAddend: false, layer: n)
                lowered.append(lowerd)

            case .averagePool2D(let o):
                let x = tensors[l.inputs[0]]
                guard x.shape.count == 4, x.shape[0] == 1 else { throw MapperError("\(here(n)): input \(x.shape) must be 1xHxWxC") }
                let range = network.activationRange(of: l)
                let p = PoolParameters(batches: 1, inputHeight: x.shape[1], inputWidth: x.shape[2], channels: x.shape[3], filterHeight: o.filterH, filterWidth: o.filterW,
                                       strideH: o.strideH, strideW: o.strideW, padding: o.padding, activationMin: range.min, activationMax: range.max)
                lowered.append(.init(layer: n, work: .averagePool(p), input: src(l.inputs[0]), output: out, outputName: tensors[out].name))

            case .mean:
                let x = tensors[l.inputs[0]]
                let rank = x.shape.count
                let axes = Set((tensors[l.inputs[1]].int32Data ?? []).map { Int($0) < 0 ? Int($0) + rank : Int($0) })
                guard rank == 4, x.shape[0] == 1, axes == [1, 2] else {
                    throw MapperError("\(here(n)): MEAN over axes \(axes.sorted()) of \(x.shape); the pooling unit averages height and width of 1xHxWxC")
                }
                let xq = quant(l.inputs[0]), yq = quant(out)
                let count = x.shape[1] * x.shape[2]
                // tflite-micro folds 1/count into the multiplier (see Reference.Mean); the pooling unit
                // receives the folded pair from the instruction.
                var (multiplier, shift) = FixedPoint.quantizeMultiplier(Double(xq.scale) / Double(yq.scale))
                let log2Count = 63 - UInt64(count).leadingZeroBitCount
                let extra = min(log2Count, 32, 31 + shift)
                multiplier = Int32(truncatingIfNeeded: (Int64(multiplier) << Int64(max(extra, 0))) / Int64(count))
                shift -= extra
                lowered.append(.init(layer: n, work: .mean(height: x.shape[1], width: x.shape[2], channels: x.shape[3], inputZeroPoint: xq.zeroPoint,
                                                           outputZeroPoint: yq.zeroPoint, multiplier: multiplier, shift: shift),
                                     input: src(l.inputs[0]), output: out, outputName: tensors[out].name))

            case .softmax(let beta):
                guard consumers[out].isEmpty, outputs.contains(out) else {
                    throw MapperError("\(here(n)): softmax runs on the host, so it must be the network's last step (its output feeds layer \(consumers[out].first.map(String.init) ?? "?"))")
                }
                let x = tensors[l.inputs[0]]
                host.append((n, beta, quant(l.inputs[0]).scale, x.shape.last ?? 1, src(l.inputs[0]), out))

            case .unsupported(let name):
                throw MapperError("layer \(n) (\(name)): operator not supported by the accelerator")
            }
        }
        // A host step's input must come from the device, not from another host step.
        for h in host where host.contains(where: { $0.output == h.input }) {
            throw MapperError("layer \(h.layer) (SOFTMAX): reads another softmax; only one host step per output is supported")
        }
        return LoweredNetwork(layers: lowered, hostSteps: host, storage: storage, networkInput: network.inputs[0], networkOutput: network.outputs[0])
    }
}
