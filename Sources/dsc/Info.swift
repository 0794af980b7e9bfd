import ArgumentParser
import Foundation
import Reference

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the layers of a .tflite model with shapes, options and MACs.")

    @Argument(help: "The .tflite model.")
    var model: String

    func run() throws {
        let network = try failing { try readModel(model) }
        print(LayerReport.render(network))
    }
}

/// The text of `dsc info`: one line per layer, then totals and the unsupported operators.
enum LayerReport {
    static func shape(_ s: [Int]) -> String { "[" + s.map(String.init).joined(separator: "x") + "]" }

    static func render(_ network: Network) -> String {
        var lines = [String]()
        let inputs = network.inputs.map { "t\($0) \(network.tensors[$0].type) \(shape(network.tensors[$0].shape)) zp \(network.tensors[$0].quantization?.zeroPoint ?? 0)" }
        let outputs = network.outputs.map { "t\($0) \(network.tensors[$0].type) \(shape(network.tensors[$0].shape))" }
        lines.append("inputs: \(inputs.joined(separator: ", "))  outputs: \(outputs.joined(separator: ", "))")
        let stats = network.statistics()
        for (i, layer) in network.layers.enumerated() {
            var parts = [String(format: "%3d", i), layer.op.name.padding(toLength: 18, withPad: " ", startingAt: 0)]
            let ins = layer.inputs.filter { network.tensors.indices.contains($0) && !network.tensors[$0].isConstant }
            let inShapes = ins.map { shape(network.tensors[$0].shape) }.joined(separator: "+")
            let outShapes = layer.outputs.filter { network.tensors.indices.contains($0) }.map { shape(network.tensors[$0].shape) }.joined(separator: ",")
            parts.append("\(inShapes) -> \(outShapes)")
            let weights = layer.inputs.count > 1 && network.tensors.indices.contains(layer.inputs[1]) ? network.tensors[layer.inputs[1]] : nil
            switch layer.op {
            case .conv2D(let o), .depthwiseConv2D(let o):
                if let w = weights, w.shape.count == 4 {
                    parts.append("k\(w.shape[1])x\(w.shape[2])")
                    if case .depthwiseConv2D = layer.op, let x = ins.first, let c = network.tensors[x].shape.last, c > 0, w.shape[3] / c > 1 {
                        parts.append("mult \(w.shape[3] / c)")
                    }
                }
                parts.append("s\(o.strideH)x\(o.strideW) \(o.padding.rawValue)")
                if o.dilationH != 1 || o.dilationW != 1 { parts.append("dil \(o.dilationH)x\(o.dilationW)") }
            case .averagePool2D(let o):
                parts.append("k\(o.filterH)x\(o.filterW) s\(o.strideH)x\(o.strideW) \(o.padding.rawValue)")
            case .mean(let keep):
                if let a = layer.inputs.count > 1 ? network.tensors[layer.inputs[1]].int32Data : nil { parts.append("axes \(a)") }
                parts.append(keep ? "keep_dims" : "")
            case .pad:
                if let p = layer.inputs.count > 1 ? network.tensors[layer.inputs[1]].int32Data : nil { parts.append("pads \(p)") }
            case .transpose:
                if let p = layer.inputs.count > 1 ? network.tensors[layer.inputs[1]].int32Data : nil { parts.append("perm \(p)") }
            default:
                break
            }
            if !layer.op.isSupported {
                parts.append("UNSUPPORTED")
            } else {
                switch layer.op {
                case .conv2D, .depthwiseConv2D, .fullyConnected, .add, .averagePool2D:
                    let r = network.activationRange(of: layer)
                    parts.append("\(layer.op.activation) clamp [\(r.min), \(r.max)]")
                default:
                    break
                }
                if let w = weights, let q = w.quantization, w.isConstant {
                    switch layer.op {
                    case .conv2D, .depthwiseConv2D, .fullyConnected: parts.append(q.isPerChannel ? "per-channel" : "per-tensor")
                    default: break
                    }
                }
            }
            if stats[i].macs > 0 { parts.append("MACs \(stats[i].macs)") }
            lines.append(parts.filter { !$0.isEmpty }.joined(separator: "  "))
        }
        let macs = stats.reduce(0) { $0 + $1.macs }
        let params = stats.reduce(0) { $0 + $1.parameters }
        lines.append("total: \(network.layers.count) layers, \(macs) MACs (\(String(format: "%.2f", Double(macs) / 1e6))M), \(params) parameters")
        let unsupported = network.unsupportedOperators
        lines.append(unsupported.isEmpty ? "unsupported operators: none"
                                         : "unsupported operators: \(Array(Set(unsupported)).sorted().joined(separator: ", "))")
        return lines.joined(separator: "\n")
    }
}
