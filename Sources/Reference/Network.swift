import Foundation

/// Element types, numbered as in the TFLite schema's `TensorType` so the reader can map them directly.
public enum ElementType: Int, Sendable, Equatable, CustomStringConvertible {
    case float32 = 0, float16 = 1, int32 = 2, uint8 = 3, int64 = 4, string = 5, bool = 6, int16 = 7
    case complex64 = 8, int8 = 9, float64 = 10, complex128 = 11, uint64 = 12, resource = 13, variant = 14
    case uint32 = 15, uint16 = 16, int4 = 17, bfloat16 = 18

    public var byteSize: Int {
        switch self {
        case .int8, .uint8, .bool, .int4: return 1
        case .int16, .uint16, .float16, .bfloat16: return 2
        case .int32, .uint32, .float32: return 4
        case .int64, .uint64, .float64, .complex64: return 8
        case .complex128: return 16
        case .string, .resource, .variant: return 1
        }
    }

    public var description: String {
        switch self {
        case .float32: return "float32"
        case .float16: return "float16"
        case .int32: return "int32"
        case .uint8: return "uint8"
        case .int64: return "int64"
        case .string: return "string"
        case .bool: return "bool"
        case .int16: return "int16"
        case .complex64: return "complex64"
        case .int8: return "int8"
        case .float64: return "float64"
        case .complex128: return "complex128"
        case .uint64: return "uint64"
        case .resource: return "resource"
        case .variant: return "variant"
        case .uint32: return "uint32"
        case .uint16: return "uint16"
        case .int4: return "int4"
        case .bfloat16: return "bfloat16"
        }
    }
}

/// Affine quantization: real = scale * (q - zeroPoint). One scale means per tensor; several mean per
/// channel along `quantizedDimension`.
public struct Quantization: Sendable, Equatable {
    public var scales: [Float]
    public var zeroPoints: [Int32]
    public var quantizedDimension: Int

    public init(scales: [Float], zeroPoints: [Int32], quantizedDimension: Int = 0) {
        self.scales = scales
        self.zeroPoints = zeroPoints
        self.quantizedDimension = quantizedDimension
    }

    public init(scale: Float, zeroPoint: Int32) {
        self.init(scales: [scale], zeroPoints: [zeroPoint], quantizedDimension: 0)
    }

    public var scale: Float { scales.first ?? 0 }
    public var zeroPoint: Int32 { zeroPoints.first ?? 0 }
    public var isPerChannel: Bool { scales.count > 1 }

    /// Scale of channel `c`, falling back to the tensor-wide scale when quantized per tensor.
    public func scale(channel c: Int) -> Float { scales.count > 1 ? scales[c] : scale }
}

/// Contents of a constant tensor.
public enum TensorData: Sendable, Equatable {
    case int8([Int8])
    case int32([Int32])
    /// Any other element type, kept as the little-endian bytes of the file.
    case raw([UInt8])

    public var byteCount: Int {
        switch self {
        case .int8(let v): return v.count
        case .int32(let v): return 4 * v.count
        case .raw(let v): return v.count
        }
    }

    /// The little-endian bytes, the layout of a .tflite buffer and of a tensor dump.
    public var bytes: [UInt8] {
        switch self {
        case .int8(let v): return v.map { UInt8(bitPattern: $0) }
        case .int32(let v):
            var out = [UInt8](); out.reserveCapacity(4 * v.count)
            for x in v { let u = UInt32(bitPattern: x); out += [UInt8(u & 255), UInt8(u >> 8 & 255), UInt8(u >> 16 & 255), UInt8(u >> 24)] }
            return out
        case .raw(let v): return v
        }
    }
}

/// One tensor of a network: its shape (NHWC for images), element type, quantization and, for
/// constants (weights, biases, shape operands), its data.
public struct Tensor: Sendable {
    public var name: String
    public var shape: [Int]
    public var type: ElementType
    public var quantization: Quantization?
    public var data: TensorData?

    public init(name: String, shape: [Int], type: ElementType = .int8, quantization: Quantization? = nil, data: TensorData? = nil) {
        self.name = name
        self.shape = shape
        self.type = type
        self.quantization = quantization
        self.data = data
    }

    public var isConstant: Bool { data != nil }
    public var elementCount: Int { shape.reduce(1, *) }

    public var int8Data: [Int8]? { if case .int8(let v) = data { return v }; return nil }
    public var int32Data: [Int32]? { if case .int32(let v) = data { return v }; return nil }
}

public enum Padding: String, Sendable, Equatable {
    case same = "SAME"
    case valid = "VALID"
}

/// Fused activations; in int8 they are only a clamp of the output range.
public enum FusedActivation: Sendable, Equatable, CustomStringConvertible {
    case none, relu, reluN1To1, relu6
    /// TANH, SIGN_BIT and anything newer: kept so the reader can name it, refused by the interpreter.
    case unsupported(Int)

    public var description: String {
        switch self {
        case .none: return "NONE"
        case .relu: return "RELU"
        case .reluN1To1: return "RELU_N1_TO_1"
        case .relu6: return "RELU6"
        case .unsupported(let c): return "activation#\(c)"
        }
    }

    /// The clamp that this activation means for an int8 output, computed as TFLite's
    /// `CalculateActivationRangeQuantized` does (float division, rounding half away from zero).
    public func range(scale: Float, zeroPoint: Int32) -> (min: Int32, max: Int32) {
        func quantize(_ f: Float) -> Int32 {
            let q = Double((f / scale).rounded(.toNearestOrAwayFromZero)) + Double(zeroPoint)
            guard q.isFinite else { return q > 0 ? Int32.max : Int32.min }
            return Int32(max(-2_147_483_648.0, min(2_147_483_647.0, q)))
        }
        let lo: Int32 = -128, hi: Int32 = 127
        switch self {
        case .none, .unsupported: return (lo, hi)
        case .relu: return (max(lo, quantize(0)), hi)
        case .relu6: return (max(lo, quantize(0)), min(hi, quantize(6)))
        case .reluN1To1: return (max(lo, quantize(-1)), min(hi, quantize(1)))
        }
    }
}

public struct ConvOptions: Sendable, Equatable {
    public var strideH: Int
    public var strideW: Int
    public var dilationH: Int
    public var dilationW: Int
    public var padding: Padding
    public var activation: FusedActivation

    public init(strideH: Int = 1, strideW: Int = 1, dilationH: Int = 1, dilationW: Int = 1, padding: Padding = .same, activation: FusedActivation = .none) {
        self.strideH = strideH
        self.strideW = strideW
        self.dilationH = dilationH
        self.dilationW = dilationW
        self.padding = padding
        self.activation = activation
    }

    public init(stride: Int, padding: Padding, activation: FusedActivation = .none) {
        self.init(strideH: stride, strideW: stride, padding: padding, activation: activation)
    }
}

public struct PoolOptions: Sendable, Equatable {
    public var filterH: Int
    public var filterW: Int
    public var strideH: Int
    public var strideW: Int
    public var padding: Padding
    public var activation: FusedActivation

    public init(filterH: Int, filterW: Int, strideH: Int = 1, strideW: Int = 1, padding: Padding = .valid, activation: FusedActivation = .none) {
        self.filterH = filterH
        self.filterW = filterW
        self.strideH = strideH
        self.strideW = strideW
        self.padding = padding
        self.activation = activation
    }
}

/// The operations of a network. Operands are tensor indices in `Layer.inputs`, in TFLite's order:
/// - conv2D: input NHWC, weights [O, KH, KW, I] (per-channel along 0), optional int32 bias [O]
/// - depthwiseConv2D: input NHWC, weights [1, KH, KW, I*multiplier] (per-channel along 3), optional bias
/// - fullyConnected: input (flattened to [batches, depth]), weights [O, depth], optional bias
/// - add: two int8 tensors of the same shape
/// - averagePool2D: input NHWC
/// - mean: input, constant int32 axes
/// - pad: input, constant int32 paddings [rank, 2]
/// - reshape: input (and TFLite's optional shape operand); the output tensor's shape is the target
/// - transpose: input, constant int32 permutation
/// - softmax: input, over the last dimension
public enum Operator: Sendable, Equatable {
    case conv2D(ConvOptions)
    case depthwiseConv2D(ConvOptions)
    case fullyConnected(activation: FusedActivation, keepNumDims: Bool)
    case add(activation: FusedActivation)
    case averagePool2D(PoolOptions)
    case mean(keepDims: Bool)
    case pad
    case reshape
    case transpose
    case softmax(beta: Float)
    /// An operator the reference model does not implement, by its TFLite name.
    case unsupported(String)

    /// The TFLite builtin name.
    public var name: String {
        switch self {
        case .conv2D: return "CONV_2D"
        case .depthwiseConv2D: return "DEPTHWISE_CONV_2D"
        case .fullyConnected: return "FULLY_CONNECTED"
        case .add: return "ADD"
        case .averagePool2D: return "AVERAGE_POOL_2D"
        case .mean: return "MEAN"
        case .pad: return "PAD"
        case .reshape: return "RESHAPE"
        case .transpose: return "TRANSPOSE"
        case .softmax: return "SOFTMAX"
        case .unsupported(let n): return n
        }
    }

    public var activation: FusedActivation {
        switch self {
        case .conv2D(let o), .depthwiseConv2D(let o): return o.activation
        case .fullyConnected(let a, _), .add(let a): return a
        case .averagePool2D(let o): return o.activation
        default: return .none
        }
    }

    public var isSupported: Bool { if case .unsupported = self { return false }; return true }
}

public struct Layer: Sendable, Equatable {
    public var op: Operator
    /// Tensor indices; -1 marks an absent optional operand (a conv without bias).
    public var inputs: [Int]
    public var outputs: [Int]

    public init(_ op: Operator, inputs: [Int], outputs: [Int]) {
        self.op = op
        self.inputs = inputs
        self.outputs = outputs
    }
}

/// A network of int8 layers, independent of TFLite: the reader builds one from a .tflite file and
/// Swift code (tests, builders, the mapper) can build one directly. Tensor indices are the TFLite
/// tensor indices when read from a file, so intermediate results can be named the way TFLite names them.
public struct Network: Sendable {
    public var tensors: [Tensor]
    public var layers: [Layer]
    public var inputs: [Int]
    public var outputs: [Int]

    public init(tensors: [Tensor] = [], layers: [Layer] = [], inputs: [Int] = [], outputs: [Int] = []) {
        self.tensors = tensors
        self.layers = layers
        self.inputs = inputs
        self.outputs = outputs
    }

    /// Appends a tensor and returns its index.
    @discardableResult
    public mutating func addTensor(_ t: Tensor) -> Int {
        tensors.append(t)
        return tensors.count - 1
    }

    public mutating func addLayer(_ op: Operator, inputs: [Int], outputs: [Int]) {
        layers.append(Layer(op, inputs: inputs, outputs: outputs))
    }

    /// Layers the interpreter cannot run, by name.
    public var unsupportedOperators: [String] {
        layers.compactMap { if case .unsupported(let n) = $0.op { return n }; return nil }
    }

    /// The clamp a layer applies to its output, from its fused activation and output quantization.
    public func activationRange(of layer: Layer) -> (min: Int32, max: Int32) {
        guard let o = layer.outputs.first, tensors.indices.contains(o), let q = tensors[o].quantization else {
            return (-128, 127)
        }
        return layer.op.activation.range(scale: q.scale, zeroPoint: q.zeroPoint)
    }
}
