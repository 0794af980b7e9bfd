import Accelerator
import HDLKit
import Reference
import XCTest

/// The convolution engine in Verilator, driven with random vectors and with whole tiny layers cut
/// into PK × PC × PF slices the way the mapper will, at several parameter sets. Every output is
/// compared with sums computed here (Σ w·(x - zp)) and, for the layers, with Reference's kernels
/// after accumulation, bias and Reference's requantization.
final class ConvolutionEngineTests: XCTestCase {
    /// Small enough to build in seconds each (a PF = 16 engine is a 10 MB C++ model), none with 16 in it.
    fileprivate static let configs: [AcceleratorConfig] = [
        engineConfig(pc: 4, pf: 4, pd: 2, packing: false),
        engineConfig(pc: 8, pf: 8, pd: 3, packing: true),
    ]

    func testRandomVectorsInEveryModeMatchTheSums() throws {
        for config in Self.configs {
            var rng = SplitMix64(seed: 1)
            let bench = try EngineBench(config)
            let vectors = (0 ..< 240).map { i in randomVector(config, mode: ConvolutionMode.allCases[i / 60], threshold: 0, rng: &rng) }
            let result = try bench.run(vectors)
            for (i, v) in vectors.enumerated() {
                for ((f, j), expected) in expectedSums(v, config) {
                    XCTAssertEqual(result.sums[i][f][j], expected, "\(config.pc)x\(config.pf) vector \(i) \(v.mode) sum_\(f)_\(j)")
                }
            }
            XCTAssertEqual(result.activity, vectors.map { enabledProducts($0, config) }.reduce(0, +), "activity counter")
        }
    }

    func testModeSwitchesBetweenLayersKeepEveryResult() throws {
        let config = Self.configs[0]
        var rng = SplitMix64(seed: 2)
        let bench = try EngineBench(config)
        let order: [ConvolutionMode] = [.depthwise, .standard, .pointwise, .depthwise, .fullyConnected, .pointwise, .standard]
        let vectors = order.flatMap { mode in (0 ..< 3).map { _ in randomVector(config, mode: mode, threshold: 0, rng: &rng) } }
        let result = try bench.run(vectors)
        for (i, v) in vectors.enumerated() {
            for ((f, j), expected) in expectedSums(v, config) { XCTAssertEqual(result.sums[i][f][j], expected, "vector \(i) \(v.mode)") }
        }
    }

    func testLatencyIsWhatTheEngineSays() throws {
        let config = Self.configs[0]
        let engine = try ConvolutionEngine(config)
        let bench = try EngineBench(config)
        var rng = SplitMix64(seed: 3)
        for mode in ConvolutionMode.allCases {
            let v = randomVector(config, mode: mode, threshold: 0, rng: &rng)
            var cycles = [bench.inputs(v, valid: true)]
            cycles += Array(repeating: ["valid": 0], count: engine.maxLatency + 2)
            let out = try bench.sim.run(cycles)
            XCTAssertEqual(out.firstIndex { $0["valid_out"] == 1 }, engine.latency(mode), "\(mode)")
            XCTAssertEqual(out.filter { $0["valid_out"] == 1 }.count, 1)
        }
        XCTAssertEqual(engine.latency(.standard), 1 + 2 * 4, "products, then two units of three levels plus a final adder")
        XCTAssertEqual(engine.latency(.pointwise), 1 + 4)
    }

    func testStandardConvolutionLayersMatchReference() throws {
        for config in Self.configs {
            for stride in [1, 2] {
                var rng = SplitMix64(seed: UInt64(10 + stride))
                try checkStandardLayer(config, height: 5, width: 5, channels: config.pc + 3, filters: config.pf + 1, stride: stride, rng: &rng)
            }
        }
    }

    func testDepthwiseLayersMatchReference() throws {
        for config in Self.configs {
            for stride in [1, 2] {
                var rng = SplitMix64(seed: UInt64(20 + stride))
                try checkDepthwiseLayer(config, height: 5, width: 6, channels: config.pc + 3, stride: stride, rng: &rng)
            }
        }
    }

    func testPointwiseLayersMatchReference() throws {
        for config in Self.configs {
            var rng = SplitMix64(seed: 30)
            try checkPointwiseLayer(config, height: 4, width: 5, channels: config.pc + 3, filters: config.pf + 2, rng: &rng)
        }
    }

    func testFullyConnectedLayersMatchReference() throws {
        for config in Self.configs {
            var rng = SplitMix64(seed: 40)
            try checkFullyConnectedLayer(config, inputs: 2 * config.pk * config.pc + 5, outputs: config.pf + 3, rng: &rng)
        }
    }

    func testOddParallelismWithPackingMatchesTheSums() throws {
        // PF odd leaves one lane unpaired; PD = PF uses every lane in depthwise mode.
        for config in [engineConfig(pc: 3, pf: 5, pd: 5, packing: true), engineConfig(pc: 5, pf: 3, pd: 2, packing: false)] {
            var rng = SplitMix64(seed: 50)
            let bench = try EngineBench(config)
            let vectors = (0 ..< 120).map { i in randomVector(config, mode: ConvolutionMode.allCases[i / 30], threshold: i % 3 == 0 ? 40 : 0, rng: &rng) }
            let result = try bench.run(vectors)
            for (i, v) in vectors.enumerated() {
                for ((f, j), expected) in expectedSums(v, config) {
                    XCTAssertEqual(result.sums[i][f][j], expected, "pc \(config.pc) pf \(config.pf) vector \(i) \(v.mode) sum_\(f)_\(j)")
                }
            }
            XCTAssertEqual(result.activity, vectors.map { enabledProducts($0, config) }.reduce(0, +))
            var rng2 = SplitMix64(seed: 51)
            try checkDepthwiseLayer(config, height: 4, width: 4, channels: config.pc + 1, stride: 1, rng: &rng2)
        }
    }

    func testDefaultConfigurationIsThePapers() throws {
        let engine = try ConvolutionEngine(.paper)
        XCTAssertEqual(engine.multipliers, 2304)
        XCTAssertEqual(engine.tree.unitCount, 9, "the paper's nine basic units")
        XCTAssertEqual(engine.lanes, 16)
        var packed = AcceleratorConfig.paper
        packed.dspPacking = true
        XCTAssertEqual(try ConvolutionEngine(packed).dsps, 1152)
        XCTAssertEqual(engine.dsps, 2304)
    }

    func testInvalidConfigurationIsRejectedByTheEngine() {
        var c = AcceleratorConfig.paper
        c.pd = 17
        XCTAssertThrowsError(try ConvolutionEngine(c)) { e in
            XCTAssertEqual("\(e)", "--pd 17: depthwise windows run on filter lanes, so PD must not exceed PF (16)")
        }
    }

    // MARK: layers

    private func checkStandardLayer(_ c: AcceleratorConfig, height: Int, width: Int, channels: Int, filters: Int, stride: Int,
                                    rng: inout SplitMix64) throws {
        let zp = Int.random(in: -128 ... 127, using: &rng)
        let input = (0 ..< height * width * channels).map { _ in randomActivation(zp, &rng) }
        let weights = (0 ..< filters * 9 * channels).map { _ in randomWeight(&rng) }
        let bias = (0 ..< filters).map { _ in Int32.random(in: -20000 ... 20000, using: &rng) }
        let q = (0 ..< filters).map { _ in FixedPoint.quantizeMultiplier(Double.random(in: 0.0005 ... 0.01, using: &rng)) }
        let oh = (height + stride - 1) / stride, ow = (width + stride - 1) / stride
        let pt = WindowGeometry.padBefore(input: height, kernel: 3, stride: stride, output: oh)
        let pl = WindowGeometry.padBefore(input: width, kernel: 3, stride: stride, output: ow)
        let outZp = Int32.random(in: -20 ... 20, using: &rng)
        let p = ConvParameters(inputHeight: height, inputWidth: width, inputChannels: channels, outputHeight: oh, outputWidth: ow,
                               outputChannels: filters, kernelHeight: 3, kernelWidth: 3, strideH: stride, strideW: stride,
                               padTop: pt, padLeft: pl, inputZeroPoint: Int32(zp), outputZeroPoint: outZp,
                               multipliers: q.map(\.multiplier), shifts: q.map(\.shift))
        let expected = try Conv2D.run(p, input: input, weights: weights, bias: bias)

        var vectors: [EngineVector] = [], targets: [[(out: Int, f: Int, j: Int)]] = []
        for oy in 0 ..< oh { for ox in 0 ..< ow {
            for fs in 0 ..< ceilDiv(filters, c.pf) { for cs in 0 ..< ceilDiv(channels, c.pc) {
                var v = garbageVector(c, mode: .standard, zp: zp, rng: &rng)
                for k in 0 ..< 9 {
                    let iy = oy * stride - pt + k / 3, ix = ox * stride - pl + k % 3
                    for ch in 0 ..< c.pc {
                        let ic = cs * c.pc + ch
                        let inside = iy >= 0 && iy < height && ix >= 0 && ix < width && ic < channels
                        v.x[0][k][ch] = inside ? Int(input[(iy * width + ix) * channels + ic]) : zp   // padding is in_zp
                        for f in 0 ..< c.pf {
                            let o = fs * c.pf + f
                            v.w[f][k][ch] = o < filters && ic < channels ? Int(weights[(o * 9 + k) * channels + ic]) : 0
                        }
                    }
                }
                vectors.append(v)
                targets.append((0 ..< c.pf).compactMap { f in
                    let o = fs * c.pf + f
                    return o < filters ? ((oy * ow + ox) * filters + o, f, 0) : nil
                })
            } }
        } }
        try runLayer(c, vectors, targets, outputs: expected.count, bias: { bias[$0 % filters] },
                     requantize: { out, acc in FixedPoint.requantize(acc: acc, multiplier: q[out % filters].multiplier, shift: q[out % filters].shift,
                                                                     outputZeroPoint: outZp, min: -128, max: 127) },
                     expected: expected, label: "conv3x3 s\(stride) pc\(c.pc) pf\(c.pf)")
    }

    private func checkDepthwiseLayer(_ c: AcceleratorConfig, height: Int, width: Int, channels: Int, stride: Int, rng: inout SplitMix64) throws {
        let zp = Int.random(in: -128 ... 127, using: &rng)
        let input = (0 ..< height * width * channels).map { _ in randomActivation(zp, &rng) }
        let weights = (0 ..< 9 * channels).map { _ in randomWeight(&rng) }   // [1, 3, 3, C]
        let bias = (0 ..< channels).map { _ in Int32.random(in: -5000 ... 5000, using: &rng) }
        let q = (0 ..< channels).map { _ in FixedPoint.quantizeMultiplier(Double.random(in: 0.002 ... 0.05, using: &rng)) }
        let oh = (height + stride - 1) / stride, ow = (width + stride - 1) / stride
        let pt = WindowGeometry.padBefore(input: height, kernel: 3, stride: stride, output: oh)
        let pl = WindowGeometry.padBefore(input: width, kernel: 3, stride: stride, output: ow)
        let outZp = Int32.random(in: -20 ... 20, using: &rng)
        let p = ConvParameters(inputHeight: height, inputWidth: width, inputChannels: channels, outputHeight: oh, outputWidth: ow,
                               outputChannels: channels, kernelHeight: 3, kernelWidth: 3, strideH: stride, strideW: stride,
                               padTop: pt, padLeft: pl, inputZeroPoint: Int32(zp), outputZeroPoint: outZp,
                               multipliers: q.map(\.multiplier), shifts: q.map(\.shift), activationMin: max(-128, outZp), activationMax: 127)
        let expected = try DepthwiseConv2D.run(p, input: input, weights: weights, bias: bias)

        var vectors: [EngineVector] = [], targets: [[(out: Int, f: Int, j: Int)]] = []
        let pixels = oh * ow
        for group in 0 ..< ceilDiv(pixels, c.pd) { for cs in 0 ..< ceilDiv(channels, c.pc) {
            var v = garbageVector(c, mode: .depthwise, zp: zp, rng: &rng)
            var t: [(out: Int, f: Int, j: Int)] = []
            for d in 0 ..< c.pd {
                let pixel = group * c.pd + d
                let oy = pixel / ow, ox = pixel % ow
                for k in 0 ..< 9 {
                    let iy = oy * stride - pt + k / 3, ix = ox * stride - pl + k % 3
                    for ch in 0 ..< c.pc {
                        let ic = cs * c.pc + ch
                        let inside = pixel < pixels && iy >= 0 && iy < height && ix >= 0 && ix < width && ic < channels
                        v.x[d][k][ch] = inside ? Int(input[(iy * width + ix) * channels + ic]) : zp
                        // The weight buffer repeats the channel's taps in every depthwise lane.
                        v.w[d][k][ch] = ic < channels ? Int(weights[k * channels + ic]) : 0
                    }
                }
                for ch in 0 ..< c.pc where pixel < pixels && cs * c.pc + ch < channels { t.append((pixel * channels + cs * c.pc + ch, d, ch)) }
            }
            vectors.append(v)
            targets.append(t)
        } }
        try runLayer(c, vectors, targets, outputs: expected.count, bias: { bias[$0 % channels] },
                     requantize: { out, acc in FixedPoint.requantize(acc: acc, multiplier: q[out % channels].multiplier, shift: q[out % channels].shift,
                                                                     outputZeroPoint: outZp, min: max(-128, outZp), max: 127) },
                     expected: expected, label: "depthwise s\(stride) pc\(c.pc) pd\(c.pd)")
    }

    private func checkPointwiseLayer(_ c: AcceleratorConfig, height: Int, width: Int, channels: Int, filters: Int, rng: inout SplitMix64) throws {
        let zp = Int.random(in: -128 ... 127, using: &rng)
        let input = (0 ..< height * width * channels).map { _ in randomActivation(zp, &rng) }
        let weights = (0 ..< filters * channels).map { _ in randomWeight(&rng) }   // [O, 1, 1, C]
        let bias = (0 ..< filters).map { _ in Int32.random(in: -5000 ... 5000, using: &rng) }
        let q = (0 ..< filters).map { _ in FixedPoint.quantizeMultiplier(Double.random(in: 0.002 ... 0.03, using: &rng)) }
        let outZp = Int32.random(in: -20 ... 20, using: &rng)
        let p = ConvParameters(inputHeight: height, inputWidth: width, inputChannels: channels, outputHeight: height, outputWidth: width,
                               outputChannels: filters, kernelHeight: 1, kernelWidth: 1, inputZeroPoint: Int32(zp), outputZeroPoint: outZp,
                               multipliers: q.map(\.multiplier), shifts: q.map(\.shift))
        let expected = try Conv2D.run(p, input: input, weights: weights, bias: bias)

        var vectors: [EngineVector] = [], targets: [[(out: Int, f: Int, j: Int)]] = []
        let pixels = height * width
        for group in 0 ..< ceilDiv(pixels, c.pv) { for fs in 0 ..< ceilDiv(filters, c.pf) { for cs in 0 ..< ceilDiv(channels, c.pc) {
            var v = garbageVector(c, mode: .pointwise, zp: zp, rng: &rng)
            var t: [(out: Int, f: Int, j: Int)] = []
            for pv in 0 ..< c.pv {
                let pixel = group * c.pv + pv
                for ch in 0 ..< c.pc {
                    let ic = cs * c.pc + ch
                    v.x[0][pv][ch] = pixel < pixels && ic < channels ? Int(input[pixel * channels + ic]) : zp
                    for f in 0 ..< c.pf {
                        let o = fs * c.pf + f
                        v.w[f][pv][ch] = o < filters && ic < channels ? Int(weights[o * channels + ic]) : 0
                    }
                }
                for f in 0 ..< c.pf where pixel < pixels && fs * c.pf + f < filters { t.append((pixel * filters + fs * c.pf + f, f, pv)) }
            }
            vectors.append(v)
            targets.append(t)
        } } }
        try runLayer(c, vectors, targets, outputs: expected.count, bias: { bias[$0 % filters] },
                     requantize: { out, acc in FixedPoint.requantize(acc: acc, multiplier: q[out % filters].multiplier, shift: q[out % filters].shift,
                                                                     outputZeroPoint: outZp, min: -128, max: 127) },
                     expected: expected, label: "pointwise pc\(c.pc) pf\(c.pf)")
    }

    private func checkFullyConnectedLayer(_ c: AcceleratorConfig, inputs: Int, outputs: Int, rng: inout SplitMix64) throws {
        let zp = Int.random(in: -128 ... 127, using: &rng)
        let input = (0 ..< inputs).map { _ in randomActivation(zp, &rng) }
        let weights = (0 ..< outputs * inputs).map { _ in randomWeight(&rng) }
        let bias = (0 ..< outputs).map { _ in Int32.random(in: -5000 ... 5000, using: &rng) }
        let q = FixedPoint.quantizeMultiplier(0.004)
        let outZp = Int32.random(in: -20 ... 20, using: &rng)
        let p = FullyConnectedParameters(inputDepth: inputs, outputDepth: outputs, inputZeroPoint: Int32(zp), outputZeroPoint: outZp,
                                         multipliers: [q.multiplier], shifts: [q.shift])
        let expected = try FullyConnected.run(p, input: input, weights: weights, bias: bias)

        var vectors: [EngineVector] = [], targets: [[(out: Int, f: Int, j: Int)]] = []
        let slice = c.pk * c.pc
        for fs in 0 ..< ceilDiv(outputs, c.pf) { for s in 0 ..< ceilDiv(inputs, slice) {
            var v = garbageVector(c, mode: .fullyConnected, zp: zp, rng: &rng)
            for k in 0 ..< c.pk { for ch in 0 ..< c.pc {
                let i = s * slice + k * c.pc + ch
                v.x[0][k][ch] = i < inputs ? Int(input[i]) : zp
                for f in 0 ..< c.pf {
                    let o = fs * c.pf + f
                    v.w[f][k][ch] = o < outputs && i < inputs ? Int(weights[o * inputs + i]) : 0
                }
            } }
            vectors.append(v)
            targets.append((0 ..< c.pf).compactMap { f in fs * c.pf + f < outputs ? (fs * c.pf + f, f, 0) : nil })
        } }
        try runLayer(c, vectors, targets, outputs: expected.count, bias: { bias[$0] },
                     requantize: { _, acc in FixedPoint.requantize(acc: acc, multiplier: q.multiplier, shift: q.shift,
                                                                   outputZeroPoint: outZp, min: -128, max: 127) },
                     expected: expected, label: "fully connected pc\(c.pc) pf\(c.pf)")
    }

    /// Runs the slices, accumulates each slice's sums into its outputs (as the output buffer will),
    /// adds the bias once, requantizes with Reference's arithmetic and compares every output.
    private func runLayer(_ c: AcceleratorConfig, _ vectors: [EngineVector], _ targets: [[(out: Int, f: Int, j: Int)]], outputs: Int,
                          bias: (Int) -> Int32, requantize: (Int, Int32) -> Int8, expected: [Int8], label: String) throws {
        let result = try EngineBench(c).run(vectors)
        var acc = [Int32](repeating: 0, count: outputs), slices = [Int](repeating: 0, count: outputs)
        for (i, t) in targets.enumerated() {
            for (out, f, j) in t {
                acc[out] &+= Int32(truncatingIfNeeded: result.sums[i][f][j])
                slices[out] += 1
            }
        }
        XCTAssertFalse(slices.contains(0), "\(label): every output received a slice")
        var mismatches = 0
        for o in 0 ..< outputs {
            let got = requantize(o, acc[o] &+ bias(o))
            if got != expected[o] {
                mismatches += 1
                if mismatches <= 5 { XCTFail("\(label): output \(o) is \(got), Reference says \(expected[o])") }
            }
        }
        XCTAssertEqual(mismatches, 0, label)
        XCTAssertEqual(result.activity, vectors.map { enabledProducts($0, c) }.reduce(0, +), "\(label): activity")
    }
}

// MARK: the bench

fileprivate struct EngineVector {
    var mode: ConvolutionMode
    var zp: Int
    var threshold: Int
    var x: [[[Int]]]   // [group][tap][channel]
    var w: [[[Int]]]   // [filter lane][tap][channel]
}

fileprivate func engineConfig(pc: Int, pf: Int, pd: Int, packing: Bool) -> AcceleratorConfig {
    var c = AcceleratorConfig()
    c.pc = pc; c.pf = pf; c.pd = pd; c.dspPacking = packing
    return c
}

/// The engine in Verilator, one build per configuration (cached by content).
fileprivate struct EngineBench {
    let engine: ConvolutionEngine
    let sim: Simulator

    init(_ c: AcceleratorConfig) throws {
        engine = try ConvolutionEngine(c)
        // The runs are short and the designs wide: compiling the model without optimisation is what costs least.
        sim = try Simulator(Design(top: engine.module()), backend: .verilator, verilatorFlags: ["-CFLAGS", "-O0"])
    }

    func inputs(_ v: EngineVector, valid: Bool) -> [String: Int] {
        let c = engine.config
        var d: [String: Int] = ["valid": valid ? 1 : 0, "mode": v.mode.rawValue, "in_zp": v.zp, "threshold": v.threshold, "activity_clear": 0]
        for g in 0 ..< c.pd { for k in 0 ..< c.pk { for ch in 0 ..< c.pc { d["x_\(g)_\(k)_\(ch)"] = v.x[g][k][ch] } } }
        for f in 0 ..< c.pf { for k in 0 ..< c.pk { for ch in 0 ..< c.pc { d["w_\(f)_\(k)_\(ch)"] = v.w[f][k][ch] } } }
        return d
    }

    /// Feeds the vectors back to back, draining the pipeline only where the mode changes (the
    /// mode is a per-layer setting), and returns each vector's sums [f][j] and the activity count.
    func run(_ vectors: [EngineVector]) throws -> (sums: [[[Int]]], activity: Int) {
        let c = engine.config
        var cycles: [[String: Int]] = [["activity_clear": 1, "valid": 0, "mode": vectors.first?.mode.rawValue ?? 0]]
        var mode = vectors.first?.mode
        for v in vectors {
            if v.mode != mode {
                cycles += Array(repeating: ["valid": 0], count: engine.maxLatency)
                mode = v.mode
            }
            cycles.append(inputs(v, valid: true))
        }
        cycles += Array(repeating: ["valid": 0], count: engine.maxLatency + Pruning.counterLatency)
        let out = try sim.run(cycles)
        let valid = out.filter { $0["valid_out"] == 1 }
        XCTAssertEqual(valid.count, vectors.count, "one valid_out per valid input")
        let sums = valid.map { row in (0 ..< c.pf).map { f in (0 ..< engine.lanes).map { j in row["sum_\(f)_\(j)"] ?? Int.min } } }
        return (sums, out.last?["activity"] ?? -1)
    }
}

// MARK: the independent model

/// Σ w·(x - zp) over the products the mode defines, leaving out pruned ones (|w| ≤ threshold).
fileprivate func expectedSums(_ v: EngineVector, _ c: AcceleratorConfig) -> [(key: (Int, Int), value: Int)] {
    func term(_ f: Int, _ g: Int, _ k: Int, _ ch: Int) -> Int {
        let a = v.x[g][k][ch] - v.zp, w = v.w[f][k][ch]
        return abs(w) > v.threshold ? w * a : 0
    }
    var out: [(key: (Int, Int), value: Int)] = []
    switch v.mode {
    case .standard, .fullyConnected:
        for f in 0 ..< c.pf {
            out.append(((f, 0), (0 ..< c.pk).flatMap { k in (0 ..< c.pc).map { ch in term(f, 0, k, ch) } }.reduce(0, +)))
        }
    case .pointwise:
        for f in 0 ..< c.pf { for p in 0 ..< c.pv { out.append(((f, p), (0 ..< c.pc).map { term(f, 0, p, $0) }.reduce(0, +))) } }
    case .depthwise:
        for d in 0 ..< c.pd { for ch in 0 ..< c.pc { out.append(((d, ch), (0 ..< c.pk).map { term(d, d, $0, ch) }.reduce(0, +))) } }
    }
    return out
}

/// Multiplications the pruning unit lets through: lanes in use, |w| > threshold, x ≠ zp.
fileprivate func enabledProducts(_ v: EngineVector, _ c: AcceleratorConfig) -> Int {
    let lanes = v.mode == .depthwise ? c.pd : c.pf
    var n = 0
    for f in 0 ..< lanes { for k in 0 ..< c.pk { for ch in 0 ..< c.pc {
        let g = v.mode == .depthwise ? f : 0
        if abs(v.w[f][k][ch]) > v.threshold && v.x[g][k][ch] != v.zp { n += 1 }
    } } }
    return n
}

/// Random inputs everywhere, including ports the mode must ignore.
fileprivate func garbageVector(_ c: AcceleratorConfig, mode: ConvolutionMode, zp: Int, rng: inout SplitMix64) -> EngineVector {
    EngineVector(mode: mode, zp: zp, threshold: 0,
                 x: (0 ..< c.pd).map { _ in (0 ..< c.pk).map { _ in (0 ..< c.pc).map { _ in Int.random(in: -128 ... 127, using: &rng) } } },
                 w: (0 ..< c.pf).map { _ in (0 ..< c.pk).map { _ in (0 ..< c.pc).map { _ in Int.random(in: -128 ... 127, using: &rng) } } })
}

/// A random vector with plenty of zero weights, zero-point activations and extremes.
fileprivate func randomVector(_ c: AcceleratorConfig, mode: ConvolutionMode, threshold: Int, rng: inout SplitMix64) -> EngineVector {
    let zp = [-128, 127, 0, Int.random(in: -128 ... 127, using: &rng)].randomElement(using: &rng)!
    var v = garbageVector(c, mode: mode, zp: zp, rng: &rng)
    v.threshold = threshold
    for g in 0 ..< c.pd { for k in 0 ..< c.pk { for ch in 0 ..< c.pc { v.x[g][k][ch] = Int(randomActivation(zp, &rng)) } } }
    for f in 0 ..< c.pf { for k in 0 ..< c.pk { for ch in 0 ..< c.pc { v.w[f][k][ch] = Int(randomWeight(&rng)) } } }
    if mode == .depthwise {
        // The weight buffer repeats a channel's taps in every depthwise lane (the packed engine relies on it).
        for d in 1 ..< max(c.pd, 1) { v.w[d] = v.w[0] }
    }
    return v
}

fileprivate func randomActivation(_ zp: Int, _ rng: inout SplitMix64) -> Int8 {
    switch Int.random(in: 0 ..< 8, using: &rng) {
    case 0: return Int8(zp)
    case 1: return [-128, 127].randomElement(using: &rng)!
    default: return Int8.random(in: -128 ... 127, using: &rng)
    }
}

fileprivate func randomWeight(_ rng: inout SplitMix64) -> Int8 {
    switch Int.random(in: 0 ..< 8, using: &rng) {
    case 0: return 0
    case 1: return [-128, 127].randomElement(using: &rng)!
    default: return Int8.random(in: -128 ... 127, using: &rng)
    }
}

fileprivate func ceilDiv(_ a: Int, _ b: Int) -> Int { (a + b - 1) / b }

/// A seeded generator, so every failure reproduces.
/// The project's one seeded generator, so failures reproduce from the seed in the message.
fileprivate typealias SplitMix64 = SeededRandom
