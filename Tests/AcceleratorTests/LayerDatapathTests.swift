import Accelerator
import HDLKit
import Reference
import XCTest

/// The units composed into one convolution layer (reshape → engine → slice accumulator →
/// quantization), run in Verilator and compared element by element with the Reference model's
/// CONV_2D (tflite-micro's arithmetic). The test plays controller and DMA: it streams the input
/// once per (filter group, channel slice) pass, loads each pass's weights, and loads the
/// per-channel bias, multiplier and clamp into the quantization FIFOs.
final class LayerDatapathTests: XCTestCase {
    private static let config: AcceleratorConfig = {
        var c = AcceleratorConfig()
        c.pc = 4; c.pf = 4; c.pd = 2; c.maxRowWidth = 16
        return c
    }()

    func testRandomConv3x3LayersMatchTheReferenceBitForBit() throws {
        let datapath = try LayerDatapath(config: Self.config)
        let sim = try Simulator(Design(top: datapath.module()), backend: .verilator)
        var rng = DatapathRandom(state: 2026)
        let shapes: [(h: Int, w: Int, cin: Int, cout: Int, stride: Int, padding: Padding)] = [
            (6, 7, 6, 5, 1, .same), (6, 7, 6, 5, 1, .valid), (6, 7, 6, 5, 2, .same), (6, 7, 6, 5, 2, .valid),
            (7, 6, 3, 4, 2, .same), (5, 9, 8, 6, 1, .same), (8, 5, 4, 9, 2, .valid),
        ]
        for s in shapes {
            let layer = RandomConvLayer(h: s.h, w: s.w, cin: s.cin, cout: s.cout, stride: s.stride, padding: s.padding, rng: &rng)
            let context = "\(s.h)×\(s.w)×\(s.cin) → \(s.cout), stride \(s.stride), \(s.padding)"
            let expected = try layer.reference()
            let run = try LayerRun(layer: layer, config: Self.config).simulate(sim)
            XCTAssertTrue(run.everyPixelTaken, "\(context): the reshape unit takes every pixel when the schedule says")
            XCTAssertTrue(run.everyStartTaken, "\(context): every pass's start is taken")
            XCTAssertEqual(run.output.count, expected.count, "\(context): output elements")
            let mismatches = zip(run.output, expected).enumerated().filter { $0.element.0 != $0.element.1 }
            XCTAssertTrue(mismatches.isEmpty, "\(context): \(mismatches.count) of \(expected.count) differ, first at index "
                          + "\(mismatches.first.map { "\($0.offset): RTL \($0.element.0), reference \($0.element.1)" } ?? "")")
            let schedule = ReshapeUnit.inputCycles(height: s.h, width: s.w, padBottom: layer.padBottom) * layer.passes
            print("LayerDatapath \(context): \(layer.passes) passes, last result in cycle \(run.lastResultCycle), "
                  + "(H+pad_bottom)·W·passes = \(schedule), latency \(datapath.latency)")
            XCTAssertLessThanOrEqual(run.lastResultCycle, schedule + 2 + 3 + datapath.latency,
                                     "\(context): the slices stream back to back (the schedule plus the pipeline)")
        }
    }
}

/// A CONV_2D 3×3 layer with random int8 tensors, per-channel multipliers from random scales, a
/// random input zero point, and a ReLU6-style clamp or none.
private struct RandomConvLayer {
    let h, w, cin, cout, stride: Int
    let padding: Padding
    let input: [Int8]          // HWC
    let weights: [Int8]        // [O, 3, 3, I]
    let bias: [Int32]
    let multipliers: [Int32], shifts: [Int]
    let inZp, outZp: Int32
    let actMin, actMax: Int32
    let oh, ow, padTop, padLeft: Int
    let padBottom, padRight: Bool

    init(h: Int, w: Int, cin: Int, cout: Int, stride: Int, padding: Padding, rng: inout DatapathRandom) {
        self.h = h; self.w = w; self.cin = cin; self.cout = cout; self.stride = stride; self.padding = padding
        input = (0 ..< h * w * cin).map { _ in rng.int8() }
        weights = (0 ..< cout * 9 * cin).map { _ in rng.int8() }
        bias = (0 ..< cout).map { _ in Int32(rng.below(20_000)) - 10_000 }
        let q = (0 ..< cout).map { _ in FixedPoint.quantizeMultiplier(0.0004 + Double(rng.below(1000)) / 100_000) }
        multipliers = q.map(\.multiplier); shifts = q.map(\.shift)
        inZp = Int32(rng.below(256)) - 128
        outZp = Int32(rng.below(64)) - 32
        if rng.below(2) == 0 { actMin = -128; actMax = 127 } else { actMin = outZp; actMax = min(127, outZp + 90) }
        oh = WindowGeometry.outputSize(input: h, kernel: 3, stride: stride, padding: padding)
        ow = WindowGeometry.outputSize(input: w, kernel: 3, stride: stride, padding: padding)
        padTop = WindowGeometry.padBefore(input: h, kernel: 3, stride: stride, output: oh)
        padLeft = WindowGeometry.padBefore(input: w, kernel: 3, stride: stride, output: ow)
        padBottom = max((oh - 1) * stride + 3 - h, 0) - padTop == 1
        padRight = max((ow - 1) * stride + 3 - w, 0) - padLeft == 1
    }

    var slices: Int { (cin + 3) / 4 }
    var groups: Int { (cout + 3) / 4 }
    var passes: Int { slices * groups }

    func reference() throws -> [Int8] {
        let p = ConvParameters(inputHeight: h, inputWidth: w, inputChannels: cin, outputHeight: oh, outputWidth: ow,
                               outputChannels: cout, kernelHeight: 3, kernelWidth: 3, strideH: stride, strideW: stride,
                               padTop: padTop, padLeft: padLeft, inputZeroPoint: inZp, outputZeroPoint: outZp,
                               multipliers: multipliers, shifts: shifts, activationMin: actMin, activationMax: actMax)
        return try Conv2D.run(p, input: input, weights: weights, bias: bias)
    }
}

/// The controller's part: the cycle-by-cycle stimulus of one layer and the reading of its results.
private struct LayerRun {
    let layer: RandomConvLayer
    let config: AcceleratorConfig

    struct Result {
        var output: [Int8] = []
        var everyPixelTaken = true
        var everyStartTaken = true
        var lastResultCycle = 0
    }

    func simulate(_ sim: Simulator) throws -> Result {
        let l = layer, pc = config.pc, pf = config.pf
        let n = ReshapeUnit.inputCycles(height: l.h, width: l.w, padBottom: l.padBottom)
        precondition(n >= 16, "the weight loading below assumes passes of at least 16 cycles")
        let total = 1 + n * l.passes + 64
        var stimulus = [[String: Int]](repeating: [:], count: total)
        stimulus[0] = ["height": l.h, "width": l.w, "stride2": l.stride == 2 ? 1 : 0,
                       "pad_top": l.padTop, "pad_bottom": l.padBottom ? 1 : 0, "pad_left": l.padLeft, "pad_right": l.padRight ? 1 : 0,
                       "in_zp": Int(l.inZp), "out_zp": Int(l.outZp), "param_clear": 1]
        for t in 1 ..< total { stimulus[t] = ["start": 0, "in_valid": 0, "w_load": 0, "w_swap": 0, "param_clear": 0,
                                              "bias_push": 0, "bound_push": 0, "mult_push": 0] }
        // Quantization FIFOs: one entry per output channel, the last group padded to PF.
        for oc in 0 ..< l.groups * pf {
            let real = oc < l.cout
            stimulus[1 + oc].merge(["bias_push": 1, "bound_push": 1, "mult_push": 1,
                                    "bias_data": real ? Int(l.bias[oc]) : 0,
                                    "bound_min": Int(l.actMin), "bound_max": Int(l.actMax),
                                    "mult_multiplier": real ? Int(l.multipliers[oc]) : 0, "mult_shift": real ? l.shifts[oc] : 0]) { $1 }
        }
        // Passes: filter group g, channel slice s; pass p's pixels are taken in cycles 1 + p·n + i.
        func weights(pass p: Int) -> [String: Int] {
            let g = p / l.slices, s = p % l.slices
            var d = ["w_load": 1, "w_first": s == 0 ? 1 : 0, "w_last": s == l.slices - 1 ? 1 : 0]
            for f in 0 ..< pf { for k in 0 ..< 9 { for c in 0 ..< pc {
                let oc = g * pf + f, ic = s * pc + c
                d["w_\(f)_\(k)_\(c)"] = oc < l.cout && ic < l.cin ? Int(l.weights[(oc * 9 + k) * l.cin + ic]) : 0
            } } }
            return d
        }
        stimulus[0].merge(weights(pass: 0)) { $1 }
        stimulus[1]["w_swap"] = 1
        stimulus[0]["start"] = 1
        for p in 0 ..< l.passes {
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
                results.append((0 ..< pf).map { o["y_\($0)"] ?? 0 })
                r.lastResultCycle = t
            }
        }
        // Results come group by group, each in raster order: reorder to NHWC.
        let pixels = l.oh * l.ow
        guard results.count == pixels * l.groups else {
            r.output = []
            return r
        }
        r.output = [Int8](repeating: 0, count: pixels * l.cout)
        for g in 0 ..< l.groups {
            for px in 0 ..< pixels {
                for f in 0 ..< pf where g * pf + f < l.cout {
                    r.output[px * l.cout + g * pf + f] = Int8(truncatingIfNeeded: results[g * pixels + px][f])
                }
            }
        }
        return r
    }
}

private struct DatapathRandom {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func int8() -> Int8 { Int8(truncatingIfNeeded: below(256)) }
}
