import Accelerator
import Foundation
import HDLKit
import Reference
import XCTest


/// One channel's requantization as a model defines it.
private struct ChannelRequantization: Hashable {
    var bias: Int32, multiplier: Int32, shift: Int, zeroPoint: Int32, actMin: Int32, actMax: Int32
}

/// The quantization parameters of every model in ../shared/models: each conv, depthwise and FC
/// channel's (bias, M, shift, zero point, clamp), each MEAN's folded constants, each ADD's.
private struct ModelParameters {
    var channels: [ChannelRequantization] = []
    var adds: [(model: String, params: AddParameters)] = []

    static func load() throws -> ModelParameters {
        let root: URL
        if let env = ProcessInfo.processInfo.environment["DSC_MODELS"], !env.isEmpty {
            root = URL(fileURLWithPath: env)
        } else {
            root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("shared/models")
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        let models = names.sorted().filter { FileManager.default.fileExists(atPath: root.appendingPathComponent("\($0)/model.tflite").path) }
        guard !models.isEmpty else { throw XCTSkip("no models in \(root.path) (set DSC_MODELS to the models folder)") }
        var out = ModelParameters()
        for name in models {
            let net = try TFLiteReader.read(contentsOf: root.appendingPathComponent("\(name)/model.tflite"))
            for layer in net.layers {
                let q = { (i: Int) -> Quantization? in layer.inputs.indices.contains(i) && layer.inputs[i] >= 0 ? net.tensors[layer.inputs[i]].quantization : nil }
                guard let output = layer.outputs.first.flatMap({ net.tensors[$0].quantization }) else { continue }
                let (lo, hi) = net.activationRange(of: layer)
                switch layer.op {
                case .conv2D, .depthwiseConv2D, .fullyConnected:
                    guard let input = q(0), let weights = q(1) else { continue }
                    let w = net.tensors[layer.inputs[1]]
                    let channels: Int
                    if case .depthwiseConv2D = layer.op { channels = w.shape.last ?? 1 } else { channels = w.shape.first ?? 1 }
                    let bias = layer.inputs.count > 2 && layer.inputs[2] >= 0 ? net.tensors[layer.inputs[2]].int32Data : nil
                    let ms = FixedPoint.channelMultipliers(inputScale: input.scale, weightScales: weights.scales,
                                                           outputScale: output.scale, channels: channels)
                    for c in 0 ..< channels {
                        out.channels.append(ChannelRequantization(bias: bias.map { $0.indices.contains(c) ? $0[c] : 0 } ?? 0,
                                                                  multiplier: ms[c].multiplier, shift: ms[c].shift,
                                                                  zeroPoint: output.zeroPoint, actMin: lo, actMax: hi))
                    }
                case .add:
                    guard let a = q(0), let b = q(1) else { continue }
                    if let p = try? AddParameters(input1Scale: a.scale, input1ZeroPoint: a.zeroPoint, input2Scale: b.scale,
                                                  input2ZeroPoint: b.zeroPoint, outputScale: output.scale, outputZeroPoint: output.zeroPoint,
                                                  activationMin: lo, activationMax: hi) {
                        out.adds.append((name, p))
                    }
                case .mean:
                    guard let input = q(0), let axes = net.tensors[layer.inputs[1]].int32Data else { continue }
                    let shape = net.tensors[layer.inputs[0]].shape
                    let p = MeanParameters(inputShape: shape, axes: axes.map { Int($0) < 0 ? Int($0) + shape.count : Int($0) },
                                           inputScale: input.scale, inputZeroPoint: input.zeroPoint,
                                           outputScale: output.scale, outputZeroPoint: output.zeroPoint)
                    let count = p.reducedCount
                    var (m, s) = FixedPoint.quantizeMultiplier(Double(p.inputScale) / Double(p.outputScale))
                    let extra = min(63 - UInt64(count).leadingZeroBitCount, 32, 31 + s)
                    m = Int32(truncatingIfNeeded: (Int64(m) << Int64(max(extra, 0))) / Int64(count))
                    s -= extra
                    out.channels.append(ChannelRequantization(bias: 0 &- p.inputZeroPoint &* Int32(truncatingIfNeeded: count),
                                                              multiplier: m, shift: s, zeroPoint: p.outputZeroPoint, actMin: -128, actMax: 127))
                default: continue
                }
            }
        }
        return out
    }
}

/// The hardware against the reference with the parameters the shared models actually carry,
/// VWW's zero-weight channels (M = 0, shifts down to -31, biases of ±2^30) among them.
final class QuantizationUnitSharedModelTests: XCTestCase {
    func testRequantizerWithEveryModelsParameters() throws {
        let params = try ModelParameters.load()
        let unique = Array(Set(params.channels)).sorted { ($0.multiplier, $0.shift, $0.bias) < ($1.multiplier, $1.shift, $1.bias) }
        let extreme = unique.filter { $0.multiplier == 0 || $0.shift <= -20 || $0.shift > 0 || $0.bias.magnitude >= 1 << 29 }
        XCTAssertTrue(unique.contains { $0.multiplier == 0 }, "expected zero multipliers in the shared models")
        XCTAssertTrue(unique.contains { $0.bias.magnitude >= 1 << 29 }, "expected ±2^30 biases in the shared models")
        var rng = SplitMix(state: 41)
        // Every extreme channel, and an even sample of the rest (there are tens of thousands).
        let ordinary = unique.filter { !extreme.contains($0) }
        let sample = extreme + stride(from: 0, to: ordinary.count, by: max(1, ordinary.count / 6000)).map { ordinary[$0] }

        let pixels = 4
        let rq = try Requantizer(config: .paper, pixels: pixels)
        let sim = try Simulator(Design(top: rq.module), backend: .verilator)
        var stimulus: [[String: Int]] = []
        var expected: [[Int]] = []
        for p in sample {
            var c: [String: Int] = ["in_valid": 1, "bias": Int(p.bias), "multiplier": Int(p.multiplier), "shift": p.shift,
                                    "zero_point": Int(p.zeroPoint), "act_min": Int(p.actMin), "act_max": Int(p.actMax)]
            var want: [Int] = []
            for i in 0 ..< pixels {
                // Lane 0 at the int32 limits, the others where a layer's accumulators land.
                var acc: Int32
                if i == 0 {
                    acc = [Int32.min, Int32.max, 0, Int32(truncatingIfNeeded: rng.next())][rng.below(4)]
                } else {
                    let scale: Double = Double(p.multiplier) / 2_147_483_648.0 * pow(2.0, Double(p.shift))
                    let target: Double = Double(rng.below(512)) - 256
                    let sum: Double = scale > 0 ? (target / scale).rounded() : Double(rng.below(1 << 20) - (1 << 19))
                    acc = abs(sum) < 2e9 ? Int32(sum) &- p.bias : Int32(truncatingIfNeeded: rng.next())
                }
                c["acc_\(i)"] = Int(acc)
                want.append(Int(FixedPoint.requantize(acc: acc &+ p.bias, multiplier: p.multiplier, shift: p.shift,
                                                      outputZeroPoint: p.zeroPoint, min: p.actMin, max: p.actMax)))
            }
            stimulus.append(c)
            expected.append(want)
        }
        stimulus += Array(repeating: ["in_valid": 0], count: rq.latency)
        let out = try sim.run(stimulus)
        for s in 0 ..< sample.count {
            for i in 0 ..< pixels where out[s + rq.latency]["y_\(i)"] != expected[s][i] {
                XCTFail("channel \(sample[s]) lane \(i) acc \(stimulus[s]["acc_\(i)"]!): hardware \(out[s + rq.latency]["y_\(i)"]!), reference \(expected[s][i])")
                return
            }
        }
    }

    /// Every distinct ADD of every model, over every conv output value.
    func testResidualAdderWithEveryModelsAdd() throws {
        let params = try ModelParameters.load()
        guard !params.adds.isEmpty else { throw XCTSkip("no ADD layers in the shared models") }
        // ADDs sharing all parameters need running once.
        var seen = Set<String>()
        let adds = params.adds.filter { seen.insert("\($0.params)").inserted }
        let lanes = 32
        let adder = try ResidualAdder(config: .paper, lanes: lanes)
        let sim = try Simulator(Design(top: adder.module), backend: .verilator)
        var stimulus: [[String: Int]] = []
        var expected: [[Int]] = []
        // Every y against a quarter of the shortcut values, a different quarter for each ADD in
        // turn, so the ADDs together see all 65536 pairs and the test stays within its budget.
        let pairsPerAdd = 256 * 64
        for (index, (_, p)) in adds.enumerated() {
            let phase = index % 4
            let ports: [String: Int] = [
                "in_valid": 1, "add": 1,
                "y_offset": Int(p.input1Offset), "y_multiplier": Int(p.input1Multiplier), "y_shift": p.input1Shift,
                "s_offset": Int(p.input2Offset), "s_multiplier": Int(p.input2Multiplier), "s_shift": p.input2Shift,
                "out_multiplier": Int(p.outputMultiplier), "out_shift": p.outputShift, "out_offset": Int(p.outputOffset),
                "act_min": Int(p.activationMin), "act_max": Int(p.activationMax),
            ]
            for beat in 0 ..< pairsPerAdd / lanes {
                var c = ports
                var want: [Int] = []
                for i in 0 ..< lanes {
                    let pair = beat * lanes + i
                    let y = Int8(truncatingIfNeeded: pair >> 6)
                    let s = Int8(truncatingIfNeeded: (pair & 63) * 4 + phase)
                    c["y_\(i)"] = Int(y)
                    c["s_\(i)"] = Int(s)
                    want.append(Int(p.add(y, s)))
                }
                stimulus.append(c)
                expected.append(want)
            }
        }
        stimulus += Array(repeating: ["in_valid": 0], count: adder.latency)
        let out = try sim.run(stimulus)
        for s in 0 ..< expected.count {
            for i in 0 ..< lanes where out[s + adder.latency]["out_\(i)"] != expected[s][i] {
                XCTFail("ADD \(adds[s / (pairsPerAdd / lanes)].model) pair \(s * lanes + i): hardware \(out[s + adder.latency]["out_\(i)"]!), reference \(expected[s][i])")
                return
            }
        }
    }
}
