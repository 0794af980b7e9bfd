import Foundation

/// Reads a `.tflite` flatbuffer into a `Network`. Only the first subgraph is read (the models this
/// project targets have one). Shape arithmetic that Keras 3 emits in the graph (SHAPE,
/// STRIDED_SLICE, PACK, CONCATENATION on int32 constants) is evaluated here, because for a static
/// input it is constant; the results become constant tensors and the ops disappear.
public enum TFLiteReader {
    /// Largest element count accepted for one tensor; keeps every size computation far from overflow.
    static let maxElements = 1 << 31

    public static func read(contentsOf url: URL) throws -> Network {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ReferenceError.io("cannot read \(url.path): \(error.localizedDescription)")
        }
        return try read(data)
    }

    public static func read(_ data: Data) throws -> Network {
        let fb = FlatBuffer([UInt8](data))
        guard fb.bytes.count >= 8 else {
            throw ReferenceError.malformedModel("file is \(fb.bytes.count) bytes, too short to be a TFLite model")
        }
        guard Array(fb.bytes[4 ..< 8]) == Array("TFL3".utf8) else {
            throw ReferenceError.malformedModel("not a TFLite model (no TFL3 file identifier)")
        }
        let model = try fb.root()
        let version = try model.u32(TFLiteSchema.Model.version)
        guard version == 3 else { throw ReferenceError.malformedModel("schema version \(version), expected 3") }

        let opNames = try model.tables(TFLiteSchema.Model.operatorCodes).map(operatorName)
        let buffers = try model.tables(TFLiteSchema.Model.buffers)
        let subgraphs = try model.tables(TFLiteSchema.Model.subgraphs)
        guard let graph = subgraphs.first else { throw ReferenceError.malformedModel("model has no subgraph") }

        var tensors = [Tensor]()
        for (i, t) in try graph.tables(TFLiteSchema.SubGraph.tensors).enumerated() {
            tensors.append(try readTensor(t, index: i, buffers: buffers, fb: fb))
        }
        func checkedIndices(_ v: [Int32]?, _ what: String, allowAbsent: Bool) throws -> [Int] {
            try (v ?? []).map {
                let i = Int($0)
                if allowAbsent && i == -1 { return -1 }
                guard tensors.indices.contains(i) else {
                    throw ReferenceError.malformedModel("\(what) names tensor \(i), but there are \(tensors.count) tensors")
                }
                return i
            }
        }
        let inputs = try checkedIndices(try graph.int32s(TFLiteSchema.SubGraph.inputs), "subgraph input", allowAbsent: false)
        let outputs = try checkedIndices(try graph.int32s(TFLiteSchema.SubGraph.outputs), "subgraph output", allowAbsent: false)

        var layers = [Layer]()
        for (n, op) in try graph.tables(TFLiteSchema.SubGraph.operators).enumerated() {
            let opcode = Int(try op.u32(TFLiteSchema.Operator.opcodeIndex))
            guard opNames.indices.contains(opcode) else {
                throw ReferenceError.malformedModel("operator \(n) uses opcode \(opcode), but there are \(opNames.count) operator codes")
            }
            let (code, name) = opNames[opcode]
            let ins = try checkedIndices(try op.int32s(TFLiteSchema.Operator.inputs), "operator \(n) (\(name)) input", allowAbsent: true)
            let outs = try checkedIndices(try op.int32s(TFLiteSchema.Operator.outputs), "operator \(n) (\(name)) output", allowAbsent: false)
            let options = try op.table(TFLiteSchema.Operator.builtinOptions)
            if try ConstantFolding.fold(code: code, options: options, inputs: ins, outputs: outs, tensors: &tensors) {
                continue
            }
            let parsed = try operatorFrom(code: code, name: name, options: options, operatorIndex: n)
            layers.append(Layer(parsed, inputs: ins, outputs: outs))
        }
        return Network(tensors: tensors, layers: layers, inputs: inputs, outputs: outputs)
    }

    private static func operatorName(_ t: FBTable) throws -> (Int, String) {
        let deprecated = Int(Int8(bitPattern: try t.u8(TFLiteSchema.OperatorCode.deprecatedBuiltinCode)))
        let builtin = Int(try t.i32(TFLiteSchema.OperatorCode.builtinCode))
        // Files from before the int32 field hold the code only in the byte field, newer ones in both
        // (with 127 as a placeholder in the byte), so the larger of the two is the real code.
        let code = max(deprecated, builtin)
        if code == TFLiteSchema.Op.custom {
            return (code, "CUSTOM(\(try t.string(TFLiteSchema.OperatorCode.customCode) ?? "?"))")
        }
        return (code, TFLiteSchema.name(ofBuiltin: code))
    }

    private static func readTensor(_ t: FBTable, index: Int, buffers: [FBTable], fb: FlatBuffer) throws -> Tensor {
        let name = try t.string(TFLiteSchema.Tensor.name) ?? "t\(index)"
        let dims = try t.int32s(TFLiteSchema.Tensor.shape) ?? []
        var count = 1
        for d in dims {
            guard d >= 0 else { throw ReferenceError.malformedModel("tensor \(index) (\(name)) has negative dimension \(d)") }
            count = count.multipliedReportingOverflow(by: Int(d)).partialValue
            guard count <= maxElements else {
                throw ReferenceError.malformedModel("tensor \(index) (\(name)) shape \(dims) is too large")
            }
        }
        let rawType = Int(try t.u8(TFLiteSchema.Tensor.type))
        guard let type = ElementType(rawValue: rawType) else {
            throw ReferenceError.malformedModel("tensor \(index) (\(name)) has unknown type \(rawType)")
        }
        var quant: Quantization?
        if let q = try t.table(TFLiteSchema.Tensor.quantization) {
            let scales = try q.floats(TFLiteSchema.Quantization.scale) ?? []
            let zps = try q.int64s(TFLiteSchema.Quantization.zeroPoint) ?? []
            let dim = Int(try q.i32(TFLiteSchema.Quantization.quantizedDimension))
            if !scales.isEmpty {
                guard zps.allSatisfy({ $0 >= Int64(Int32.min) && $0 <= Int64(Int32.max) }) else {
                    throw ReferenceError.malformedModel("tensor \(index) (\(name)) has a zero point outside int32")
                }
                quant = Quantization(scales: scales, zeroPoints: zps.map { Int32($0) }, quantizedDimension: dim)
            }
        }
        var data: TensorData?
        let bufferIndex = Int(try t.u32(TFLiteSchema.Tensor.buffer))
        if bufferIndex != 0 {
            guard buffers.indices.contains(bufferIndex) else {
                throw ReferenceError.malformedModel("tensor \(index) (\(name)) uses buffer \(bufferIndex), but there are \(buffers.count) buffers")
            }
            let bytes = try bufferBytes(buffers[bufferIndex], index: bufferIndex, fb: fb)
            if !bytes.isEmpty {
                let needed = count * type.byteSize
                guard bytes.count == needed || type == .string || type == .int4 else {
                    throw ReferenceError.malformedModel("tensor \(index) (\(name)) needs \(needed) bytes, buffer \(bufferIndex) holds \(bytes.count)")
                }
                data = decode(bytes, as: type)
            }
        }
        return Tensor(name: name, shape: dims.map { Int($0) }, type: type, quantization: quant, data: data)
    }

    private static func bufferBytes(_ b: FBTable, index: Int, fb: FlatBuffer) throws -> ArraySlice<UInt8> {
        if let d = try b.bytes(TFLiteSchema.Buffer.data), !d.isEmpty { return d }
        // Models over 2 GB keep buffers after the flatbuffer, addressed from the start of the file.
        let offset = try b.u64(TFLiteSchema.Buffer.offset)
        let size = try b.u64(TFLiteSchema.Buffer.size)
        guard offset > 1 else { return [] }
        guard offset <= UInt64(fb.bytes.count), size <= UInt64(fb.bytes.count) - offset else {
            throw ReferenceError.malformedModel("buffer \(index) at offset \(offset), size \(size) lies outside the file")
        }
        return fb.bytes[Int(offset) ..< Int(offset + size)]
    }

    static func decode(_ bytes: ArraySlice<UInt8>, as type: ElementType) -> TensorData {
        switch type {
        case .int8:
            return .int8(bytes.map { Int8(bitPattern: $0) })
        case .int32:
            var out = [Int32](repeating: 0, count: bytes.count / 4)
            let base = bytes.startIndex
            for i in out.indices {
                let p = base + 4 * i
                out[i] = Int32(bitPattern: UInt32(bytes[p]) | UInt32(bytes[p + 1]) << 8 | UInt32(bytes[p + 2]) << 16 | UInt32(bytes[p + 3]) << 24)
            }
            return .int32(out)
        default:
            return .raw(Array(bytes))
        }
    }

    private static func padding(_ raw: UInt8, _ where_: String) throws -> Padding {
        switch raw {
        case 0: return .same
        case 1: return .valid
        default: throw ReferenceError.malformedModel("\(where_) has unknown padding \(raw)")
        }
    }

    private static func activation(_ raw: UInt8) -> FusedActivation {
        switch raw {
        case 0: return .none
        case 1: return .relu
        case 2: return .reluN1To1
        case 3: return .relu6
        default: return .unsupported(Int(raw))
        }
    }

    private static func operatorFrom(code: Int, name: String, options o: FBTable?, operatorIndex n: Int) throws -> Operator {
        typealias S = TFLiteSchema
        let here = "operator \(n) (\(name))"
        switch code {
        case S.Op.conv2D:
            guard let o else { throw ReferenceError.malformedModel("\(here) has no options") }
            return .conv2D(ConvOptions(
                strideH: Int(try o.i32(S.Conv2DOptions.strideH)), strideW: Int(try o.i32(S.Conv2DOptions.strideW)),
                dilationH: Int(try o.i32(S.Conv2DOptions.dilationH, 1)), dilationW: Int(try o.i32(S.Conv2DOptions.dilationW, 1)),
                padding: try padding(try o.u8(S.Conv2DOptions.padding), here),
                activation: activation(try o.u8(S.Conv2DOptions.activation))))
        case S.Op.depthwiseConv2D:
            guard let o else { throw ReferenceError.malformedModel("\(here) has no options") }
            return .depthwiseConv2D(ConvOptions(
                strideH: Int(try o.i32(S.DepthwiseConv2DOptions.strideH)), strideW: Int(try o.i32(S.DepthwiseConv2DOptions.strideW)),
                dilationH: Int(try o.i32(S.DepthwiseConv2DOptions.dilationH, 1)), dilationW: Int(try o.i32(S.DepthwiseConv2DOptions.dilationW, 1)),
                padding: try padding(try o.u8(S.DepthwiseConv2DOptions.padding), here),
                activation: activation(try o.u8(S.DepthwiseConv2DOptions.activation))))
        case S.Op.averagePool2D:
            guard let o else { throw ReferenceError.malformedModel("\(here) has no options") }
            return .averagePool2D(PoolOptions(
                filterH: Int(try o.i32(S.Pool2DOptions.filterH)), filterW: Int(try o.i32(S.Pool2DOptions.filterW)),
                strideH: Int(try o.i32(S.Pool2DOptions.strideH)), strideW: Int(try o.i32(S.Pool2DOptions.strideW)),
                padding: try padding(try o.u8(S.Pool2DOptions.padding), here),
                activation: activation(try o.u8(S.Pool2DOptions.activation))))
        case S.Op.fullyConnected:
            let format = try o?.u8(S.FullyConnectedOptions.weightsFormat) ?? 0
            guard format == 0 else { return .unsupported("FULLY_CONNECTED(shuffled weights)") }
            return .fullyConnected(activation: activation(try o?.u8(S.FullyConnectedOptions.activation) ?? 0),
                                   keepNumDims: try o?.bool(S.FullyConnectedOptions.keepNumDims) ?? false)
        case S.Op.add:
            return .add(activation: activation(try o?.u8(S.AddOptions.activation) ?? 0))
        case S.Op.mean:
            return .mean(keepDims: try o?.bool(S.ReducerOptions.keepDims) ?? false)
        case S.Op.pad: return .pad
        case S.Op.reshape: return .reshape
        case S.Op.transpose: return .transpose
        case S.Op.softmax:
            return .softmax(beta: try o?.f32(S.SoftmaxOptions.beta) ?? 0)
        default:
            return .unsupported(name)
        }
    }
}

extension Network {
    /// Reads a `.tflite` model; see `TFLiteReader`.
    public init(tflite data: Data) throws {
        self = try TFLiteReader.read(data)
    }
}
