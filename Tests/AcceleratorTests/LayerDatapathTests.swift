import Accelerator
import Foundation
import HDLKit
import Reference
import XCTest

/// The units composed into one convolution layer (reshape → engine → slice accumulator →
/// quantization), run in Verilator and compared element by element with the Reference model's
/// CONV_2D (tflite-micro's arithmetic). The test plays controller and DMA: it streams the input
/// once per (filter group, channel slice) pass, loads each pass's weights, and loads the
/// per-channel bias, multiplier and clamp into the quantization FIFOs.
final class LayerDatapathTests: XCTestCase {
    fileprivate static let config: AcceleratorConfig = {
        var c = AcceleratorConfig()
        c.pc = 4; c.pf = 4; c.pd = 2; c.maxRowWidth = 16
        return c
    }()

    func testRandomConv3x3LayersMatchTheReferenceBitForBit() throws {
        let sim = try Simulator(Design(top: LayerDatapath(config: Self.config).module()), backend: .verilator)
        var rng = DatapathRandom(state: 2026)
        let shapes: [(h: Int, w: Int, cin: Int, cout: Int, stride: Int, padding: Padding)] = [
            (6, 7, 6, 5, 1, .same), (6, 7, 6, 5, 1, .valid), (6, 7, 6, 5, 2, .same), (6, 7, 6, 5, 2, .valid),
            (7, 6, 3, 4, 2, .same), (5, 9, 8, 6, 1, .same), (8, 5, 4, 9, 2, .valid),
        ]
        for s in shapes {
            let layer = ConvLayerCase(h: s.h, w: s.w, cin: s.cin, cout: s.cout, stride: s.stride, padding: s.padding, rng: &rng)
            try check(layer, sim, context: "\(s.h)×\(s.w)×\(s.cin) → \(s.cout), stride \(s.stride), \(s.padding)")
        }
    }

    /// Depthwise 3×3 layers in the engine's depthwise mode (one window per cycle), one pass per
    /// PC-channel slice, in the same simulator build as the standard layers.
    func testRandomDepthwiseLayersMatchTheReferenceBitForBit() throws {
        let sim = try Simulator(Design(top: LayerDatapath(config: Self.config).module()), backend: .verilator)
        var rng = DatapathRandom(state: 3003)
        let shapes: [(h: Int, w: Int, c: Int, stride: Int, padding: Padding)] = [
            (6, 7, 6, 1, .same), (6, 7, 6, 2, .same), (7, 6, 8, 2, .valid), (5, 9, 3, 1, .valid), (8, 5, 4, 2, .same),
        ]
        for s in shapes {
            let layer = ConvLayerCase(h: s.h, w: s.w, cin: s.c, cout: s.c, stride: s.stride, padding: s.padding,
                                      depthwise: true, rng: &rng)
            try check(layer, sim, context: "depthwise \(s.h)×\(s.w)×\(s.c), stride \(s.stride), \(s.padding)")
        }
    }

    func testRejectsAnAccumulatorWithoutWords() {
        XCTAssertThrowsError(try LayerDatapath(config: Self.config, maxOutputs: 0)) { error in
            XCTAssertEqual("\(error)", "LayerDatapath maxOutputs 0: must be 1 to 4194304 output positions per stream")
        }
    }

    /// 1×1 layers in the engine's pointwise mode: PV pixels per cycle, the channel slices summed by
    /// the accumulator, partial last beats.
    func testPointwiseLayersAtPVPixelsPerCycleMatchTheReference() throws {
        let sim = try Simulator(Design(top: LayerDatapath(config: Self.config).module()), backend: .verilator)
        var rng = DatapathRandom(state: 4242)
        for (h, w, cin, cout) in [(6, 7, 6, 5), (5, 9, 8, 9), (4, 4, 3, 4), (7, 7, 12, 6)] {
            let layer = ConvLayerCase(h: h, w: w, cin: cin, cout: cout, stride: 1, padding: .same, pointwise: true, rng: &rng)
            try check(layer, sim, context: "pointwise (PV mode) \(h)×\(w)×\(cin) → \(cout)")
        }
    }

    /// A 1×1 (pointwise) layer as a 3×3 one with only the centre tap, all pads 1 (SAME).
    func testPointwiseLayersAsTheCentreTapMatchTheReference() throws {
        let sim = try Simulator(Design(top: LayerDatapath(config: Self.config).module()), backend: .verilator)
        var rng = DatapathRandom(state: 1111)
        for (h, w, cin, cout) in [(6, 7, 6, 5), (5, 9, 8, 9)] {
            var layer = ConvLayerCase(h: h, w: w, cin: cin, cout: cout, stride: 1, padding: .same, rng: &rng)
            for i in layer.weights.indices where (i / cin) % 9 != 4 { layer.weights[i] = 0 }
            let pointwise = layer.weights.indices.filter { ($0 / cin) % 9 == 4 }.map { layer.weights[$0] }
            let p = ConvParameters(inputHeight: h, inputWidth: w, inputChannels: cin, outputHeight: h, outputWidth: w,
                                   outputChannels: cout, kernelHeight: 1, kernelWidth: 1,
                                   inputZeroPoint: layer.inZp, outputZeroPoint: layer.outZp, multipliers: layer.multipliers,
                                   shifts: layer.shifts, activationMin: layer.actMin, activationMax: layer.actMax)
            let expected = try Conv2D.run(p, input: layer.input, weights: pointwise, bias: layer.bias)
            let rtl = try check(layer, sim, context: "pointwise \(h)×\(w)×\(cin) → \(cout)")
            XCTAssertEqual(rtl, expected, "pointwise \(h)×\(w)×\(cin) → \(cout): the 1×1 CONV_2D of the Reference")
        }
    }
}

extension LayerDatapathTests {
    /// VWW's first layer (CONV_2D 3×3, stride 2, SAME, 3 → 8 channels, ReLU6, input zero point
    /// -128) on the top-left 12×16 crop of the person image: the RTL against the Reference on the
    /// crop, and the outputs whose windows lie inside the crop against the captured golden tensor
    /// of the whole image.
    func testVWWFirstConvolutionOnACropMatchesTheReferenceAndTheGolden() throws {
        let (net, sample) = try vww()
        guard let conv = net.layers.first(where: { if case .conv2D = $0.op { return true }; return false }),
              case .conv2D(let options) = conv.op else { return XCTFail("VWW has no CONV_2D") }
        let x = net.tensors[conv.inputs[0]], wt = net.tensors[conv.inputs[1]], y = net.tensors[conv.outputs[0]]
        let image = try Data(contentsOf: sample.appendingPathComponent("input.bin")).map { Int8(bitPattern: $0) }
        guard let xq = x.quantization, let wq = wt.quantization, let yq = y.quantization, let weights = wt.int8Data,
              x.shape == [1, 96, 96, 3], wt.shape == [8, 3, 3, 3], image.count == 96 * 96 * 3,
              options.strideH == 2, options.strideW == 2, options.padding == .same else {
            return XCTFail("VWW's first CONV_2D is not the 96×96×3 → 8, 3×3 stride-2 SAME layer this test crops")
        }
        let (h, w, cout) = (12, 16, 8)
        let crop = (0 ..< h).flatMap { r in (0 ..< w).flatMap { c in (0 ..< 3).map { image[(r * 96 + c) * 3 + $0] } } }
        let ms = FixedPoint.channelMultipliers(inputScale: xq.scale, weightScales: wq.scales, outputScale: yq.scale, channels: cout)
        let (lo, hi) = net.activationRange(of: conv)
        let bias = conv.inputs.count > 2 && conv.inputs[2] >= 0 ? net.tensors[conv.inputs[2]].int32Data ?? [] : []
        let layer = ConvLayerCase(h: h, w: w, cin: 3, cout: cout, stride: 2, padding: .same, input: crop, weights: weights,
                                  bias: bias.isEmpty ? Array(repeating: 0, count: cout) : bias,
                                  multipliers: ms.map(\.multiplier), shifts: ms.map(\.shift),
                                  inZp: xq.zeroPoint, outZp: yq.zeroPoint, actMin: lo, actMax: hi)
        let sim = try Simulator(Design(top: LayerDatapath(config: Self.config).module()), backend: .verilator)
        let rtl = try check(layer, sim, context: "VWW conv 0 on a 12×16 crop")

        let goldenURL = sample.appendingPathComponent("tensors/t\(conv.outputs[0]).bin")
        guard let golden = try? Data(contentsOf: goldenURL).map({ Int8(bitPattern: $0) }), golden.count == 48 * 48 * 8,
              rtl.count == layer.oh * layer.ow * cout else {
            print("LayerDatapath: no per-layer golden \(goldenURL.path); compared with the Reference only")
            return
        }
        // Output rows ≤ 4 and columns ≤ 6 read input rows ≤ 10 and columns ≤ 14: inside the crop.
        var compared = 0
        for oy in 0 ... 4 {
            for ox in 0 ... 6 {
                for f in 0 ..< cout {
                    XCTAssertEqual(rtl[(oy * layer.ow + ox) * cout + f], golden[(oy * 48 + ox) * cout + f], "golden (\(oy), \(ox), \(f))")
                    compared += 1
                }
            }
        }
        XCTAssertEqual(compared, 280)
    }

    /// VWW's first DEPTHWISE_CONV_2D (3×3, stride 1, SAME, 8 channels) on the top-left 12×16 crop
    /// of its captured input (the first convolution's output for the person image): the RTL against
    /// the Reference on the crop, and the outputs whose windows lie inside the crop against the
    /// captured golden.
    func testVWWFirstDepthwiseOnACropMatchesTheReferenceAndTheGolden() throws {
        let (net, sample) = try vww()
        guard let dw = net.layers.first(where: { if case .depthwiseConv2D = $0.op { return true }; return false }),
              case .depthwiseConv2D(let options) = dw.op else { return XCTFail("VWW has no DEPTHWISE_CONV_2D") }
        let x = net.tensors[dw.inputs[0]], wt = net.tensors[dw.inputs[1]], y = net.tensors[dw.outputs[0]]
        let inputURL = sample.appendingPathComponent("tensors/t\(dw.inputs[0]).bin")
        let outputURL = sample.appendingPathComponent("tensors/t\(dw.outputs[0]).bin")
        guard let full = try? Data(contentsOf: inputURL).map({ Int8(bitPattern: $0) }),
              let golden = try? Data(contentsOf: outputURL).map({ Int8(bitPattern: $0) }) else {
            throw XCTSkip("no per-layer goldens \(inputURL.path), \(outputURL.path)")
        }
        guard let xq = x.quantization, let wq = wt.quantization, let yq = y.quantization, let weights = wt.int8Data,
              x.shape == [1, 48, 48, 8], wt.shape == [1, 3, 3, 8], full.count == 48 * 48 * 8, golden.count == 48 * 48 * 8,
              options.strideH == 1, options.strideW == 1, options.padding == .same else {
            return XCTFail("VWW's first DEPTHWISE_CONV_2D is not the 48×48×8, 3×3 stride-1 SAME layer this test crops")
        }
        let (h, w, c) = (12, 16, 8)
        let crop = (0 ..< h).flatMap { r in (0 ..< w).flatMap { col in (0 ..< c).map { full[(r * 48 + col) * c + $0] } } }
        let ms = FixedPoint.channelMultipliers(inputScale: xq.scale, weightScales: wq.scales, outputScale: yq.scale, channels: c)
        let (lo, hi) = net.activationRange(of: dw)
        let bias = dw.inputs.count > 2 && dw.inputs[2] >= 0 ? net.tensors[dw.inputs[2]].int32Data ?? [] : []
        let layer = ConvLayerCase(h: h, w: w, cin: c, cout: c, stride: 1, padding: .same, input: crop, weights: weights,
                                  bias: bias.isEmpty ? Array(repeating: 0, count: c) : bias,
                                  multipliers: ms.map(\.multiplier), shifts: ms.map(\.shift),
                                  inZp: xq.zeroPoint, outZp: yq.zeroPoint, actMin: lo, actMax: hi, depthwise: true)
        let sim = try Simulator(Design(top: LayerDatapath(config: Self.config).module()), backend: .verilator)
        let rtl = try check(layer, sim, context: "VWW depthwise 0 on a 12×16 crop")
        guard rtl.count == h * w * c else { return }
        // Output rows ≤ 10 and columns ≤ 14 read input rows ≤ 11 and columns ≤ 15: inside the crop.
        for oy in 0 ... 10 {
            for ox in 0 ... 14 {
                for ch in 0 ..< c {
                    XCTAssertEqual(rtl[(oy * w + ox) * c + ch], golden[(oy * 48 + ox) * c + ch], "golden (\(oy), \(ox), \(ch))")
                }
            }
        }
    }

    /// VWW's network and its person sample, or a skip naming the folder when the models are absent.
    fileprivate func vww() throws -> (Network, URL) {
        let root: URL
        if let env = ProcessInfo.processInfo.environment["DSC_MODELS"], !env.isEmpty {
            root = URL(fileURLWithPath: env)
        } else {
            root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/models")
        }
        let model = root.appendingPathComponent("vww_96_int8/model.tflite")
        guard FileManager.default.fileExists(atPath: model.path) else {
            throw XCTSkip("no \(model.path) (set DSC_MODELS to the shared models folder)")
        }
        return (try TFLiteReader.read(contentsOf: model), root.appendingPathComponent("vww_96_int8/person_bmp_rgb"))
    }

    /// Runs one layer through the RTL and compares it with the Reference; returns the RTL's output.
    @discardableResult
    fileprivate func check(_ layer: ConvLayerCase, _ sim: Simulator, context: String) throws -> [Int8] {
        let datapath = try LayerDatapath(config: Self.config)
        let expected = try layer.reference()
        let run = try LayerRun(layer: layer, config: Self.config).simulate(sim)
        XCTAssertTrue(run.everyPixelTaken, "\(context): the reshape unit takes every pixel when the schedule says")
        XCTAssertTrue(run.everyStartTaken, "\(context): every pass's start is taken")
        XCTAssertEqual(run.output.count, expected.count, "\(context): output elements")
        let mismatches = zip(run.output, expected).enumerated().filter { $0.element.0 != $0.element.1 }
        XCTAssertTrue(mismatches.isEmpty, "\(context): \(mismatches.count) of \(expected.count) differ, first at index "
                      + "\(mismatches.first.map { "\($0.offset): RTL \($0.element.0), reference \($0.element.1)" } ?? "")")
        let clamped = expected.filter { Int32($0) == layer.actMin || Int32($0) == layer.actMax }.count
        let pv = Self.config.pv
        let schedule = layer.passes * (layer.pointwise ? (layer.h * layer.w + pv - 1) / pv
                                                        : ReshapeUnit.inputCycles(height: layer.h, width: layer.w, padBottom: layer.padBottom))
        let latency = layer.pointwise ? datapath.pointwiseLatency : layer.depthwise ? datapath.depthwiseLatency : datapath.latency
        print("LayerDatapath \(context): \(layer.passes) passes, last result in cycle \(run.lastResultCycle), "
              + "cycles of input \(schedule), latency \(latency), \(clamped) of \(expected.count) outputs clamped")
        XCTAssertLessThanOrEqual(run.lastResultCycle, schedule + 2 + 3 + latency,
                                 "\(context): the slices stream back to back (the schedule plus the pipeline)")
        return run.output
    }
}

/// A CONV_2D 3×3 layer: its tensors, requantization and the geometry TFLite derives from them.
private struct ConvLayerCase {
    var h, w, cin, cout, stride: Int
    var padding: Padding
    var input: [Int8]          // HWC
    var weights: [Int8]        // [O, 3, 3, I]
    var bias: [Int32]
    var multipliers: [Int32], shifts: [Int]
    var inZp, outZp: Int32
    var actMin, actMax: Int32
    /// DEPTHWISE_CONV_2D (multiplier 1, weights [1, 3, 3, C]) instead of CONV_2D.
    var depthwise = false
    /// CONV_2D 1×1, stride 1 (weights [O, 1, 1, I]) run in the engine's pointwise mode.
    var pointwise = false

    var kernel: Int { pointwise ? 1 : 3 }
    var oh: Int { WindowGeometry.outputSize(input: h, kernel: kernel, stride: stride, padding: padding) }
    var ow: Int { WindowGeometry.outputSize(input: w, kernel: kernel, stride: stride, padding: padding) }
    var padTop: Int { WindowGeometry.padBefore(input: h, kernel: kernel, stride: stride, output: oh) }
    var padLeft: Int { WindowGeometry.padBefore(input: w, kernel: kernel, stride: stride, output: ow) }
    var padBottom: Bool { max((oh - 1) * stride + 3 - h, 0) - padTop == 1 }
    var padRight: Bool { max((ow - 1) * stride + 3 - w, 0) - padLeft == 1 }

    var slices: Int { (cin + LayerDatapathTests.config.pc - 1) / LayerDatapathTests.config.pc }
    /// Result groups: PF filters each, or one per channel slice for depthwise.
    var groups: Int { depthwise ? slices : (cout + LayerDatapathTests.config.pf - 1) / LayerDatapathTests.config.pf }
    /// Output channels per group.
    var perGroup: Int { depthwise ? LayerDatapathTests.config.pc : LayerDatapathTests.config.pf }
    var passes: Int { depthwise ? slices : slices * groups }

    func reference() throws -> [Int8] {
        let p = ConvParameters(inputHeight: h, inputWidth: w, inputChannels: cin, outputHeight: oh, outputWidth: ow,
                               outputChannels: cout, kernelHeight: kernel, kernelWidth: kernel, strideH: stride, strideW: stride,
                               padTop: padTop, padLeft: padLeft, inputZeroPoint: inZp, outputZeroPoint: outZp,
                               multipliers: multipliers, shifts: shifts, activationMin: actMin, activationMax: actMax)
        return depthwise ? try DepthwiseConv2D.run(p, input: input, weights: weights, bias: bias)
                         : try Conv2D.run(p, input: input, weights: weights, bias: bias)
    }
}

extension ConvLayerCase {
    /// Random int8 tensors, per-channel multipliers from random scales, a random input zero point,
    /// and a ReLU6-style clamp or none.
    init(h: Int, w: Int, cin: Int, cout: Int, stride: Int, padding: Padding, depthwise: Bool = false, pointwise: Bool = false,
         rng: inout DatapathRandom) {
        let q = (0 ..< cout).map { _ in FixedPoint.quantizeMultiplier(0.00008 + Double(rng.below(1000)) / 1_000_000) }
        let outZp = Int32(rng.below(64)) - 32
        let relu = rng.below(2) == 0
        self.init(h: h, w: w, cin: cin, cout: cout, stride: stride, padding: padding,
                  input: (0 ..< h * w * cin).map { _ in rng.int8() },
                  weights: (0 ..< (depthwise ? 9 * cout : cout * (pointwise ? 1 : 9) * cin)).map { _ in rng.int8() },
                  bias: (0 ..< cout).map { _ in Int32(rng.below(20_000)) - 10_000 },
                  multipliers: q.map(\.multiplier), shifts: q.map(\.shift),
                  inZp: Int32(rng.below(256)) - 128, outZp: outZp,
                  actMin: relu ? outZp : -128, actMax: relu ? min(127, outZp + 90) : 127, depthwise: depthwise,
                  pointwise: pointwise)
    }
}

/// The controller's part: the cycle-by-cycle stimulus of one layer and the reading of its results.
private struct LayerRun {
    let layer: ConvLayerCase
    let config: AcceleratorConfig

    struct Result {
        var output: [Int8] = []
        var everyPixelTaken = true
        var everyStartTaken = true
        var lastResultCycle = 0
    }

    func simulate(_ sim: Simulator) throws -> Result {
        let l = layer, pc = config.pc, pf = config.pf, pd = config.pd, pv = config.pv, lanes = max(pf, pc)
        // Cycles per pass: the reshape unit's stream, or PV pixels per beat in pointwise mode.
        let beats = (l.h * l.w + pv - 1) / pv
        let n = l.pointwise ? beats : ReshapeUnit.inputCycles(height: l.h, width: l.w, padBottom: l.padBottom)
        precondition(l.pointwise ? n >= 2 : n >= 16, "the weight loading below assumes longer passes")
        let first = l.pointwise ? 4 : 1  // the cycle pass 0 begins
        let total = first + n * l.passes + 64
        var stimulus = [[String: Int]](repeating: [:], count: total)
        stimulus[0] = ["height": l.h, "width": l.w, "stride2": l.stride == 2 ? 1 : 0,
                       "pad_top": l.padTop, "pad_bottom": l.padBottom ? 1 : 0, "pad_left": l.padLeft, "pad_right": l.padRight ? 1 : 0,
                       "in_zp": Int(l.inZp), "out_zp": Int(l.outZp), "param_clear": 1, "depthwise": l.depthwise ? 1 : 0,
                       "pointwise": l.pointwise ? 1 : 0, "px_valid": 0]
        for t in 1 ..< total { stimulus[t] = ["start": 0, "in_valid": 0, "w_load": 0, "w_swap": 0, "param_clear": 0,
                                              "bias_push": 0, "bound_push": 0, "mult_push": 0, "px_valid": 0, "px_end": 0] }
        // Quantization FIFOs: one entry per output channel, each group padded to the unit's lanes.
        for entry in 0 ..< l.groups * lanes {
            let j = entry % lanes, oc = entry / lanes * l.perGroup + j
            let real = j < l.perGroup && oc < l.cout
            stimulus[1 + entry].merge(["bias_push": 1, "bound_push": 1, "mult_push": 1,
                                    "bias_data": real ? Int(l.bias[oc]) : 0,
                                    "bound_min": Int(l.actMin), "bound_max": Int(l.actMax),
                                    "mult_multiplier": real ? Int(l.multipliers[oc]) : 0, "mult_shift": real ? l.shifts[oc] : 0]) { $1 }
        }
        // Passes: filter group g, channel slice s; pass p's pixels are taken in cycles 1 + p·n + i.
        func weights(pass p: Int) -> [String: Int] {
            if l.depthwise {
                var d = ["w_load": 1, "w_first": 1, "w_last": 1]
                for f in 0 ..< pf { for k in 0 ..< 9 { for c in 0 ..< pc {
                    let ch = p * pc + c
                    d["w_\(f)_\(k)_\(c)"] = f < pd && ch < l.cin ? Int(l.weights[k * l.cout + ch]) : 0
                } } }
                return d
            }
            let g = p / l.slices, s = p % l.slices
            var d = ["w_load": 1, "w_first": s == 0 ? 1 : 0, "w_last": s == l.slices - 1 ? 1 : 0]
            for f in 0 ..< pf { for k in 0 ..< 9 { for c in 0 ..< pc {
                let oc = g * pf + f, ic = s * pc + c
                let real = oc < l.cout && ic < l.cin
                // Pointwise: the tap lanes are pixels, each with the filter's one weight per channel.
                d["w_\(f)_\(k)_\(c)"] = !real ? 0 : Int(l.pointwise ? l.weights[oc * l.cin + ic] : l.weights[(oc * 9 + k) * l.cin + ic])
            } } }
            return d
        }
        stimulus[0].merge(weights(pass: 0)) { $1 }
        stimulus[1]["w_swap"] = 1
        if l.pointwise {
            // Pass p's beats in cycles first + p·n + i; the next pass's weights with its first beat.
            for p in 0 ..< l.passes {
                if p + 1 < l.passes { stimulus[first + p * n].merge(weights(pass: p + 1)) { $1 } }
                let s = p % l.slices
                for i in 0 ..< beats {
                    var d = ["px_valid": 1, "px_end": i == beats - 1 ? 1 : 0]
                    for v in 0 ..< pv {
                        for c in 0 ..< pc {
                            let pixel = i * pv + v, ic = s * pc + c
                            d["px_\(v)_\(c)"] = pixel < l.h * l.w && ic < l.cin ? Int(l.input[pixel * l.cin + ic]) : (pixel * 29 + c) % 256 - 128
                        }
                    }
                    stimulus[first + p * n + i].merge(d) { $1 }
                }
            }
        }
        for p in 0 ..< l.passes where !l.pointwise {
            if p == 0 { stimulus[0]["start"] = 1 }
            if p > 0 { stimulus[1 + (p - 1) * n]["start"] = 1 }
            // The next pass's weights, after this pass's swap and before its last window.
            if p + 1 < l.passes { stimulus[1 + p * n + 8].merge(weights(pass: p + 1)) { $1 } }
            let s = p % l.slices
            for i in 0 ..< l.h * l.w {
                var d = ["in_valid": 1]
                for c in 0 ..< pc {
                    let ic = s * pc + c
                    d["x_\(c)"] = ic < l.cin ? Int(l.input[i * l.cin + ic]) : (i * 37 + c) % 256 - 128  // unused lanes: junk
                }
                stimulus[1 + p * n + i].merge(d) { $1 }
            }
        }

        let out = try sim.run(stimulus)
        var r = Result()
        var results: [[Int]] = []
        for (t, o) in out.enumerated() {
            if stimulus[t]["in_valid"] == 1 && o["in_ready"] != 1 { r.everyPixelTaken = false }
            if stimulus[t]["start"] == 1 && o["start_ready"] != 1 { r.everyStartTaken = false }
            if o["out_valid"] == 1 {
                for v in 0 ..< (l.pointwise ? pv : 1) { results.append((0 ..< lanes).map { o["y_\(v)_\($0)"] ?? 0 }) }
                r.lastResultCycle = t
            }
        }
        // Results come group by group, each in raster order: reorder to NHWC.
        let pixels = l.oh * l.ow
        if l.pointwise {
            // Each group's last beat may be partial: drop its extra pixels.
            results = (0 ..< l.groups).flatMap { g in results.dropFirst(g * beats * pv).prefix(pixels) }
        }
        guard results.count == pixels * l.groups else {
            r.output = []
            return r
        }
        r.output = [Int8](repeating: 0, count: pixels * l.cout)
        for g in 0 ..< l.groups {
            for px in 0 ..< pixels {
                for j in 0 ..< l.perGroup where g * l.perGroup + j < l.cout {
                    r.output[px * l.cout + g * l.perGroup + j] = Int8(truncatingIfNeeded: results[g * pixels + px][j])
                }
            }
        }
        return r
    }
}

private typealias DatapathRandom = SplitMix
private extension SplitMix {
    mutating func int8() -> Int8 { Int8(truncatingIfNeeded: below(256)) }
}
