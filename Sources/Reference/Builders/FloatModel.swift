import Foundation

/// A float network built in Swift, with batch norm still separate, that quantizes itself into an
/// int8 `Network` from calibration inputs, as the TFLite converter would. The builders for
/// MobileNet, DS-CNN and ResNet-8 produce one of these with seeded random weights.
public struct FloatModel: Sendable {
    public enum Op: Sendable {
        case input
        /// weights [O, KH, KW, I]
        case conv2D(weights: [Float], shape: [Int], bias: [Float]?, batchNorm: BatchNorm?, options: ConvOptions)
        /// weights [1, KH, KW, O]
        case depthwiseConv2D(weights: [Float], shape: [Int], bias: [Float]?, batchNorm: BatchNorm?, options: ConvOptions)
        /// weights [O, D]; the input is flattened to D per batch.
        case fullyConnected(weights: [Float], outputs: Int, bias: [Float]?, activation: FusedActivation)
        case add(activation: FusedActivation)
        case averagePool2D(PoolOptions)
        /// Mean over H and W of NHWC, giving [N, C] (global average pooling as Keras writes it).
        case globalMean
    }

    public struct Node: Sendable {
        public var op: Op
        public var inputs: [Int]
        public var shape: [Int]
        public var name: String
    }

    public private(set) var nodes: [Node]

    /// Node 0 is the input, NHWC (or [N, D]).
    public init(inputShape: [Int]) {
        nodes = [Node(op: .input, inputs: [], shape: inputShape, name: "input")]
    }

    public var output: Int { nodes.count - 1 }

    private mutating func append(_ op: Op, _ inputs: [Int], _ shape: [Int], _ name: String?) -> Int {
        nodes.append(Node(op: op, inputs: inputs, shape: shape, name: name ?? "n\(nodes.count)"))
        return nodes.count - 1
    }

    private func convShape(_ x: Int, kernelH: Int, kernelW: Int, channels: Int, _ o: ConvOptions) -> [Int] {
        let s = nodes[x].shape
        return [s[0], WindowGeometry.outputSize(input: s[1], kernel: kernelH, stride: o.strideH, dilation: o.dilationH, padding: o.padding),
                WindowGeometry.outputSize(input: s[2], kernel: kernelW, stride: o.strideW, dilation: o.dilationW, padding: o.padding), channels]
    }

    @discardableResult
    public mutating func conv2D(_ x: Int, weights: [Float], shape: [Int], bias: [Float]? = nil, batchNorm: BatchNorm? = nil,
                                options: ConvOptions, name: String? = nil) -> Int {
        append(.conv2D(weights: weights, shape: shape, bias: bias, batchNorm: batchNorm, options: options), [x],
               convShape(x, kernelH: shape[1], kernelW: shape[2], channels: shape[0], options), name)
    }

    @discardableResult
    public mutating func depthwiseConv2D(_ x: Int, weights: [Float], shape: [Int], bias: [Float]? = nil, batchNorm: BatchNorm? = nil,
                                         options: ConvOptions, name: String? = nil) -> Int {
        append(.depthwiseConv2D(weights: weights, shape: shape, bias: bias, batchNorm: batchNorm, options: options), [x],
               convShape(x, kernelH: shape[1], kernelW: shape[2], channels: shape[3], options), name)
    }

    @discardableResult
    public mutating func fullyConnected(_ x: Int, weights: [Float], outputs: Int, bias: [Float]? = nil,
                                        activation: FusedActivation = .none, name: String? = nil) -> Int {
        append(.fullyConnected(weights: weights, outputs: outputs, bias: bias, activation: activation), [x], [nodes[x].shape[0], outputs], name)
    }

    @discardableResult
    public mutating func add(_ a: Int, _ b: Int, activation: FusedActivation = .none, name: String? = nil) -> Int {
        append(.add(activation: activation), [a, b], nodes[a].shape, name)
    }

    @discardableResult
    public mutating func averagePool2D(_ x: Int, _ o: PoolOptions, name: String? = nil) -> Int {
        let s = nodes[x].shape
        return append(.averagePool2D(o), [x],
                      [s[0], WindowGeometry.outputSize(input: s[1], kernel: o.filterH, stride: o.strideH, padding: o.padding),
                       WindowGeometry.outputSize(input: s[2], kernel: o.filterW, stride: o.strideW, padding: o.padding), s[3]], name)
    }

    @discardableResult
    public mutating func globalMean(_ x: Int, name: String? = nil) -> Int {
        append(.globalMean, [x], [nodes[x].shape[0], nodes[x].shape[3]], name)
    }

    // MARK: float evaluation

    static func activate(_ v: Float, _ a: FusedActivation) -> Float {
        switch a {
        case .relu: return max(0, v)
        case .relu6: return min(max(0, v), 6)
        case .reluN1To1: return min(max(-1, v), 1)
        case .none, .unsupported: return v
        }
    }

    /// Folded (weights, bias) of a conv node; bias defaults to zeros.
    static func folded(_ weights: [Float], _ bias: [Float]?, _ bn: BatchNorm?, channels: Int, channelOf: (Int) -> Int) -> ([Float], [Float]) {
        guard let bn else { return (weights, bias ?? [Float](repeating: 0, count: channels)) }
        let r = Quantizer.foldBatchNorm(weights: weights, bias: bias, batchNorm: bn, channelOf: channelOf)
        return (r.weights, r.bias)
    }

    /// Every node's float output for one input (BN applied by folding, which is exact in reals).
    public func forward(_ input: [Float]) -> [[Float]] {
        var out = [[Float]]()
        for node in nodes {
            switch node.op {
            case .input:
                out.append(input)
            case let .conv2D(weights, shape, bias, bn, o), let .depthwiseConv2D(weights, shape, bias, bn, o):
                let depthwise: Bool
                if case .depthwiseConv2D = node.op { depthwise = true } else { depthwise = false }
                let x = out[node.inputs[0]], s = nodes[node.inputs[0]].shape
                let channels = node.shape[3]
                let kSize = shape[1] * shape[2] * shape[3]
                let (w, b) = Self.folded(weights, bias, bn, channels: channels, channelOf: depthwise ? { $0 % channels } : { $0 / kSize })
                let (oh, ow) = (node.shape[1], node.shape[2])
                let padTop = WindowGeometry.padBefore(input: s[1], kernel: shape[1], stride: o.strideH, dilation: o.dilationH, output: oh)
                let padLeft = WindowGeometry.padBefore(input: s[2], kernel: shape[2], stride: o.strideW, dilation: o.dilationW, output: ow)
                var y = [Float](repeating: 0, count: node.shape.reduce(1, *))
                let mult = channels / s[3]
                for n in 0 ..< s[0] {
                    for oy in 0 ..< oh {
                        for ox in 0 ..< ow {
                            for c in 0 ..< channels {
                                var acc = b[c]
                                for ky in 0 ..< shape[1] {
                                    let iy = oy * o.strideH - padTop + ky * o.dilationH
                                    guard iy >= 0 && iy < s[1] else { continue }
                                    for kx in 0 ..< shape[2] {
                                        let ix = ox * o.strideW - padLeft + kx * o.dilationW
                                        guard ix >= 0 && ix < s[2] else { continue }
                                        let base = ((n * s[1] + iy) * s[2] + ix) * s[3]
                                        if depthwise {
                                            acc += w[(ky * shape[2] + kx) * channels + c] * x[base + c / mult]
                                        } else {
                                            for i in 0 ..< s[3] { acc += w[((c * shape[1] + ky) * shape[2] + kx) * s[3] + i] * x[base + i] }
                                        }
                                    }
                                }
                                y[((n * oh + oy) * ow + ox) * channels + c] = Self.activate(acc, o.activation)
                            }
                        }
                    }
                }
                out.append(y)
            case let .fullyConnected(w, outputs, bias, activation):
                let x = out[node.inputs[0]]
                let batches = node.shape[0], depth = x.count / batches
                var y = [Float](repeating: 0, count: batches * outputs)
                for n in 0 ..< batches {
                    for o in 0 ..< outputs {
                        var acc = bias?[o] ?? 0
                        for d in 0 ..< depth { acc += w[o * depth + d] * x[n * depth + d] }
                        y[n * outputs + o] = Self.activate(acc, activation)
                    }
                }
                out.append(y)
            case .add(let activation):
                let a = out[node.inputs[0]], b = out[node.inputs[1]]
                out.append(zip(a, b).map { Self.activate($0 + $1, activation) })
            case .averagePool2D(let o):
                let x = out[node.inputs[0]], s = nodes[node.inputs[0]].shape
                let (oh, ow) = (node.shape[1], node.shape[2])
                let padTop = WindowGeometry.padBefore(input: s[1], kernel: o.filterH, stride: o.strideH, output: oh)
                let padLeft = WindowGeometry.padBefore(input: s[2], kernel: o.filterW, stride: o.strideW, output: ow)
                var y = [Float](repeating: 0, count: node.shape.reduce(1, *))
                for n in 0 ..< s[0] {
                    for oy in 0 ..< oh {
                        for ox in 0 ..< ow {
                            for c in 0 ..< s[3] {
                                var sum: Float = 0, count: Float = 0
                                for fy in 0 ..< o.filterH {
                                    for fx in 0 ..< o.filterW {
                                        let iy = oy * o.strideH - padTop + fy, ix = ox * o.strideW - padLeft + fx
                                        guard iy >= 0 && iy < s[1] && ix >= 0 && ix < s[2] else { continue }
                                        sum += x[((n * s[1] + iy) * s[2] + ix) * s[3] + c]
                                        count += 1
                                    }
                                }
                                y[((n * oh + oy) * ow + ox) * s[3] + c] = Self.activate(count > 0 ? sum / count : 0, o.activation)
                            }
                        }
                    }
                }
                out.append(y)
            case .globalMean:
                let x = out[node.inputs[0]], s = nodes[node.inputs[0]].shape
                var y = [Float](repeating: 0, count: s[0] * s[3])
                for n in 0 ..< s[0] {
                    for p in 0 ..< s[1] * s[2] {
                        for c in 0 ..< s[3] { y[n * s[3] + c] += x[(n * s[1] * s[2] + p) * s[3] + c] }
                    }
                }
                out.append(y.map { $0 / Float(s[1] * s[2]) })
            }
        }
        return out
    }

    // MARK: quantization

    /// The int8 network: per-channel symmetric conv weights (BN folded), per-tensor or per-channel
    /// FC weights, activation ranges from running `calibration` inputs through `forward`.
    public func quantized(calibration: [[Float]], perChannelFullyConnected: Bool = false) throws -> Network {
        guard !calibration.isEmpty else { throw ReferenceError.invalidInput("quantization needs at least one calibration input") }
        let inputCount = nodes[0].shape.reduce(1, *)
        var lo = [Float](repeating: 0, count: nodes.count), hi = [Float](repeating: 0, count: nodes.count)
        for sample in calibration {
            guard sample.count == inputCount else {
                throw ReferenceError.invalidInput("calibration input has \(sample.count) values, the model takes \(inputCount)")
            }
            for (i, values) in forward(sample).enumerated() {
                lo[i] = min(lo[i], values.min() ?? 0)
                hi[i] = max(hi[i], values.max() ?? 0)
            }
        }
        var net = Network()
        var tensorOf = [Int](), quantOf = [Quantization]()
        for (i, node) in nodes.enumerated() {
            var q = Quantizer.activationQuantization(min: lo[i], max: hi[i])
            switch node.op {
            case .averagePool2D:
                q = quantOf[node.inputs[0]]  // TFLite's int8 average pool keeps the input's quantization
            default:
                break
            }
            quantOf.append(q)
            let t = net.addTensor(Tensor(name: node.name, shape: node.shape, type: .int8, quantization: q))
            tensorOf.append(t)
            let x = node.inputs.first.map { tensorOf[$0] } ?? -1
            let inScale = node.inputs.first.map { quantOf[$0].scale } ?? 1
            switch node.op {
            case .input:
                net.inputs = [t]
            case let .conv2D(weights, shape, bias, bn, o), let .depthwiseConv2D(weights, shape, bias, bn, o):
                let depthwise: Bool
                if case .depthwiseConv2D = node.op { depthwise = true } else { depthwise = false }
                let channels = node.shape[3]
                let kSize = shape[1] * shape[2] * shape[3]
                let channelOf: (Int) -> Int = depthwise ? { $0 % channels } : { $0 / kSize }
                let (w, b) = Self.folded(weights, bias, bn, channels: channels, channelOf: channelOf)
                let (wq, scales) = Quantizer.quantizeWeightsPerChannel(w, channels: channels, channelOf: channelOf)
                let wt = net.addTensor(Tensor(name: node.name + "/weights", shape: shape, type: .int8,
                                              quantization: Quantization(scales: scales, zeroPoints: [Int32](repeating: 0, count: channels),
                                                                         quantizedDimension: depthwise ? 3 : 0),
                                              data: .int8(wq)))
                let bt = net.addTensor(Tensor(name: node.name + "/bias", shape: [channels], type: .int32,
                                              data: .int32(Quantizer.quantizeBias(b, inputScale: inScale, weightScales: scales))))
                net.addLayer(depthwise ? .depthwiseConv2D(o) : .conv2D(o), inputs: [x, wt, bt], outputs: [t])
            case let .fullyConnected(weights, outputs, bias, activation):
                let depth = weights.count / outputs
                let (wq, scales): ([Int8], [Float])
                if perChannelFullyConnected {
                    (wq, scales) = Quantizer.quantizeWeightsPerChannel(weights, channels: outputs, channelOf: { $0 / depth })
                } else {
                    (wq, scales) = Quantizer.quantizeWeightsPerChannel(weights, channels: 1, channelOf: { _ in 0 })
                }
                let wt = net.addTensor(Tensor(name: node.name + "/weights", shape: [outputs, depth], type: .int8,
                                              quantization: Quantization(scales: scales, zeroPoints: [Int32](repeating: 0, count: scales.count)),
                                              data: .int8(wq)))
                let bt = net.addTensor(Tensor(name: node.name + "/bias", shape: [outputs], type: .int32,
                                              data: .int32(Quantizer.quantizeBias(bias ?? [Float](repeating: 0, count: outputs), inputScale: inScale, weightScales: scales))))
                net.addLayer(.fullyConnected(activation: activation, keepNumDims: false), inputs: [x, wt, bt], outputs: [t])
            case .add(let activation):
                net.addLayer(.add(activation: activation), inputs: [x, tensorOf[node.inputs[1]]], outputs: [t])
            case .averagePool2D(let o):
                net.addLayer(.averagePool2D(o), inputs: [x], outputs: [t])
            case .globalMean:
                let axes = net.addTensor(Tensor(name: node.name + "/axes", shape: [2], type: .int32, data: .int32([1, 2])))
                net.addLayer(.mean(keepDims: false), inputs: [x, axes], outputs: [t])
            }
        }
        net.outputs = [tensorOf[output]]
        return net
    }
}
