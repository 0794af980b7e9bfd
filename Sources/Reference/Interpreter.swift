import Foundation

/// Every int8 tensor of one inference, by tensor index (TFLite's index for a read model):
/// activations as computed, constants as stored in the network.
public struct TensorValues: Sendable {
    public let network: Network
    /// Activations computed by the run; nil for constants and tensors no layer wrote.
    public var activations: [[Int8]?]

    /// The int8 contents of tensor `index`, computed or constant.
    public subscript(index: Int) -> [Int8]? {
        guard activations.indices.contains(index) else { return nil }
        return activations[index] ?? network.tensors[index].int8Data
    }

    /// The raw little-endian bytes of tensor `index` in its own type: the layout of a .tflite
    /// buffer and of the `tensors/t<index>.bin` goldens.
    public func bytes(of index: Int) -> [UInt8]? {
        if let a = activations.indices.contains(index) ? activations[index] : nil { return a.map { UInt8(bitPattern: $0) } }
        return network.tensors.indices.contains(index) ? network.tensors[index].data?.bytes : nil
    }
}

/// Runs a `Network` with the reference kernels. Construction checks every layer against its
/// tensors and precomputes the requantization parameters; a network that constructs runs without
/// traps for any input of the right size.
public struct Interpreter: Sendable {
    public let network: Network
    let steps: [Step]

    enum Step: Sendable {
        case conv(ConvParameters, input: Int, weights: [Int8], bias: [Int32]?, output: Int)
        case depthwise(ConvParameters, input: Int, weights: [Int8], bias: [Int32]?, output: Int)
        case fullyConnected(FullyConnectedParameters, input: Int, weights: [Int8], bias: [Int32]?, output: Int)
        case add(AddParameters, Int, Int, output: Int)
        case averagePool(PoolParameters, input: Int, output: Int)
        case mean(MeanParameters, input: Int, output: Int)
        case pad(shape: [Int], paddings: [(before: Int, after: Int)], value: Int8, input: Int, output: Int)
        case transpose(shape: [Int], perm: [Int], input: Int, output: Int)
        case copy(input: Int, output: Int)
        case softmax(SoftmaxParameters, depth: Int, input: Int, output: Int)

        var output: Int {
            switch self {
            case .conv(_, _, _, _, let o), .depthwise(_, _, _, _, let o), .fullyConnected(_, _, _, _, let o): return o
            case .add(_, _, _, let o), .averagePool(_, _, let o), .mean(_, _, let o): return o
            case .pad(_, _, _, _, let o), .transpose(_, _, _, let o), .copy(_, let o), .softmax(_, _, _, let o): return o
            }
        }
    }

    public init(_ network: Network) throws {
        self.network = network
        var compiler = LayerCompiler(network: network)
        steps = try network.layers.enumerated().map { try compiler.compile($0.element, index: $0.offset) }
    }

    /// Runs a single-input network and returns its first output.
    public func run(input: [Int8]) throws -> [Int8] {
        let values = try runAll(inputs: [input])
        guard let o = network.outputs.first, let out = values[o] else {
            throw ReferenceError.invalidNetwork("network output was never computed")
        }
        return out
    }

    /// Runs the network and keeps every tensor.
    public func runAll(inputs: [[Int8]]) throws -> TensorValues {
        guard inputs.count == network.inputs.count else {
            throw ReferenceError.invalidInput("network takes \(network.inputs.count) inputs, got \(inputs.count)")
        }
        var values = [[Int8]?](repeating: nil, count: network.tensors.count)
        for (i, data) in zip(network.inputs, inputs) {
            let t = network.tensors[i]
            guard data.count == t.elementCount else {
                throw ReferenceError.invalidInput("input \(t.name) needs \(t.elementCount) bytes (\(t.type) \(t.shape)), got \(data.count)")
            }
            values[i] = data
        }
        func read(_ i: Int) throws -> [Int8] {
            if let v = values[i] ?? network.tensors[i].int8Data { return v }
            throw ReferenceError.invalidNetwork("tensor \(i) (\(network.tensors[i].name)) is read before any layer writes it")
        }
        for step in steps {
            let result: [Int8]
            switch step {
            case let .conv(p, input, weights, bias, _):
                result = try Conv2D.run(p, input: try read(input), weights: weights, bias: bias)
            case let .depthwise(p, input, weights, bias, _):
                result = try DepthwiseConv2D.run(p, input: try read(input), weights: weights, bias: bias)
            case let .fullyConnected(p, input, weights, bias, _):
                result = try FullyConnected.run(p, input: try read(input), weights: weights, bias: bias)
            case let .add(p, a, b, _):
                result = try Add.run(p, try read(a), try read(b))
            case let .averagePool(p, input, _):
                result = try AveragePool2D.run(p, input: try read(input))
            case let .mean(p, input, _):
                result = try Mean.run(p, input: try read(input))
            case let .pad(shape, paddings, value, input, _):
                result = try Layout.pad(try read(input), shape: shape, paddings: paddings, value: value)
            case let .transpose(shape, perm, input, _):
                result = try Layout.transpose(try read(input), shape: shape, perm: perm)
            case let .copy(input, _):
                result = try read(input)
            case let .softmax(p, depth, input, _):
                result = try Softmax.run(p, input: try read(input), depth: depth)
            }
            values[step.output] = result
        }
        return TensorValues(network: network, activations: values)
    }
}

extension Network {
    /// Runs the reference model on a single input and returns the first output.
    public func run(input: [Int8]) throws -> [Int8] {
        try Interpreter(self).run(input: input)
    }

    /// Runs the reference model and returns every tensor, by tensor index.
    public func runAll(input: [Int8]) throws -> TensorValues {
        try Interpreter(self).runAll(inputs: [input])
    }
}
