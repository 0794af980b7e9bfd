import Accelerator
import HDLKit
import Reference
import XCTest

private extension SplitMix {
    mutating func int8() -> Int32 { Int32(below(256)) - 128 }
    mutating func scale() -> Float { Float(below(1000) + 1) / 1000 * Float(pow(2.0, Double(below(12)) - 8)) }
}

/// One output channel's parameters as the mapper would load them into the three FIFOs.
private struct ChannelParameters {
    var bias: Int32
    var multiplier: Int32
    var shift: Int
    var actMin: Int32
    var actMax: Int32

    static func random(_ rng: inout SplitMix) -> ChannelParameters {
        var p = ChannelParameters(bias: Int32(rng.below(1 << 16)) - (1 << 15), multiplier: Int32(1 << 30) + Int32(rng.below(1 << 30)),
                                  shift: -Int(rng.below(12)) - 4, actMin: -128, actMax: 127)
        switch rng.below(6) {
        case 0:  // VWW's all-zero channels: multiplier 0, shift -31, bias ±2^30
            p.multiplier = 0; p.shift = -31; p.bias = rng.below(2) == 0 ? 1 << 30 : -(1 << 30)
        case 1: p.bias = [Int32.min, Int32.max, 1 << 30, -(1 << 30)][rng.below(4)]
        case 2: p.shift = Int(rng.below(4))  // left shift before the high multiply
        case 3: p.actMin = max(-128, rng.int8()); p.actMax = 127  // RELU with a zero point
        case 4: let a = rng.int8(), b = rng.int8(); p.actMin = min(a, b); p.actMax = max(a, b)
        default: break
        }
        return p
    }
}

/// A layer: its channels' FIFO contents, output zero point and (for bottleneck outputs) ADD.
private struct Layer {
    var channels: [ChannelParameters]
    var zeroPoint: Int32
    var add: AddParameters

    static func random(_ rng: inout SplitMix, channels: Int) -> Layer {
        var add: AddParameters? = nil
        while add == nil {
            add = try? AddParameters(input1Scale: rng.scale(), input1ZeroPoint: rng.int8(), input2Scale: rng.scale(),
                                     input2ZeroPoint: rng.int8(), outputScale: rng.scale(), outputZeroPoint: rng.int8(),
                                     activationMin: rng.below(2) == 0 ? -128 : rng.int8(), activationMax: 127)
        }
        return Layer(channels: (0 ..< channels).map { _ in .random(&rng) }, zeroPoint: rng.int8(), add: add!)
    }

    func residualPorts() -> [String: Int] {
        ["res_y_offset": Int(add.input1Offset), "res_y_multiplier": Int(add.input1Multiplier), "res_y_shift": add.input1Shift,
         "res_s_offset": Int(add.input2Offset), "res_s_multiplier": Int(add.input2Multiplier), "res_s_shift": add.input2Shift,
         "res_out_multiplier": Int(add.outputMultiplier), "res_out_shift": add.outputShift, "res_out_offset": Int(add.outputOffset),
         "res_act_min": Int(add.activationMin), "res_act_max": Int(add.activationMax)]
    }
}

final class QuantizationUnitTests: XCTestCase {
    /// Loads two layers through the three FIFOs (channel counts that leave the last slice part
    /// empty, the FIFOs pushed at different times), then streams beats whose slice boundaries,
    /// residual flag, accumulators and shortcuts are random; every valid output lane is compared
    /// with `FixedPoint.requantize` followed, on residual beats, by `AddParameters.add`.
    private func check(pixels: Int, filters: Int, maxChannels: Int, beats: Int, seed: UInt64, withShortcut: Bool = true) throws {
        let unit = try QuantizationUnit(config: .paper, pixels: pixels, filters: filters, maxChannels: maxChannels, tagWidth: 4,
                                        residual: withShortcut)
        let sim = try Simulator(Design(top: unit.module), backend: .verilator)
        var rng = SplitMix(state: seed)
        var stimulus: [[String: Int]] = []
        var expected: [Int: [String: Int]] = [:]  // input cycle -> expected output lanes and tag
        var idle: [String: Int] = ["in_valid": 0, "param_clear": 0, "bias_push": 0, "bound_push": 0, "mult_push": 0]

        for layerIndex in 0 ..< 2 {
            let count = layerIndex == 0 ? maxChannels - 1 : filters + 1 + rng.below(maxChannels - filters)
            let layer = Layer.random(&rng, channels: count)
            stimulus.append(idle.merging(["param_clear": 1]) { $1 })
            // The three FIFOs are loaded one after another, each channel in order.
            for c in layer.channels { stimulus.append(idle.merging(["bias_push": 1, "bias_data": Int(c.bias)]) { $1 }) }
            for c in layer.channels {
                stimulus.append(idle.merging(["bound_push": 1, "bound_min": Int(c.actMin), "bound_max": Int(c.actMax)]) { $1 })
            }
            for c in layer.channels {
                stimulus.append(idle.merging(["mult_push": 1, "mult_multiplier": Int(c.multiplier), "mult_shift": c.shift]) { $1 })
            }
            stimulus.append(idle)
            if withShortcut { idle.merge(layer.residualPorts()) { $1 } }
            idle["zero_point"] = Int(layer.zeroPoint)
            let slices = (count + filters - 1) / filters
            var head = 0
            for b in 0 ..< beats {
                var c = idle
                c["in_valid"] = rng.below(6) == 0 ? 0 : 1
                let last = rng.below(3) == 0
                let residual = withShortcut && rng.below(2) == 0
                c["in_slice_last"] = last ? 1 : 0
                if withShortcut { c["residual"] = residual ? 1 : 0 }
                c["in_tag"] = b % 16
                var want: [String: Int] = ["out_tag": b % 16]
                for p in 0 ..< pixels {
                    for f in 0 ..< filters {
                        let ch = head * filters + f
                        let param = ch < count ? layer.channels[ch] : layer.channels[0]
                        // Accumulators aimed near the int8 range, with some at the int32 limits.
                        var acc = Int32(truncatingIfNeeded: rng.next())
                        if rng.below(4) != 0, param.multiplier > 0, param.shift <= 0 {
                            let scale = Double(param.multiplier) / 2_147_483_648.0 * pow(2.0, Double(param.shift))
                            let sum = ((Double(rng.below(400)) - 200) / scale).rounded()
                            if abs(sum) < 2e9 { acc = Int32(sum) &- param.bias }
                        }
                        let s = Int8(truncatingIfNeeded: rng.int8())
                        c["acc_\(p)_\(f)"] = Int(acc)
                        if withShortcut { c["shortcut_\(p)_\(f)"] = Int(s) }
                        guard ch < count else { continue }  // lanes past the layer's last channel carry nothing
                        let y = FixedPoint.requantize(acc: acc &+ param.bias, multiplier: param.multiplier, shift: param.shift,
                                                      outputZeroPoint: layer.zeroPoint, min: param.actMin, max: param.actMax)
                        want["y_\(p)_\(f)"] = Int(residual ? layer.add.add(y, s) : y)
                    }
                }
                if c["in_valid"] == 1 {
                    expected[stimulus.count] = want
                    if last { head = head + 1 == slices ? 0 : head + 1 }
                }
                stimulus.append(c)
            }
            for _ in 0 ..< unit.latency { stimulus.append(idle) }
        }

        let out = try sim.run(stimulus)
        var compared = 0
        for t in 0 ..< out.count {
            let s = t - unit.latency
            XCTAssertEqual(out[t]["out_valid"], expected[s] == nil ? 0 : 1, "valid at cycle \(t)")
            guard let want = expected[s] else { continue }
            for (k, v) in want where out[t][k] != v {
                XCTFail("beat at cycle \(s), \(k): hardware \(out[t][k] ?? 0), reference \(v) (residual \(stimulus[s]["residual"] ?? 0))")
                return
            }
            compared += want.count - 1
        }
        XCTAssertEqual(out.map { $0["param_overflow"] ?? -1 }.max(), 0)
        XCTAssertGreaterThan(compared, beats * pixels)
    }

    func testTwoPixelsThreeFilters() throws {
        try check(pixels: 2, filters: 3, maxChannels: 11, beats: 3000, seed: 11)
    }

    func testThreePixelsTwoFiltersManySlices() throws {
        try check(pixels: 3, filters: 2, maxChannels: 9, beats: 3000, seed: 12)
    }

    /// Without the shortcut: the requantized values come out after the Requantizer's 8 cycles.
    func testWithoutShortcut() throws {
        XCTAssertEqual(try QuantizationUnit(config: .paper, pixels: 2, filters: 2, residual: false).latency, Requantizer.latency)
        try check(pixels: 2, filters: 2, maxChannels: 7, beats: 1500, seed: 13, withShortcut: false)
    }

    /// Pushing past `maxChannels` raises `param_overflow` until the next clear.
    func testOverflowFlag() throws {
        let unit = try QuantizationUnit(config: .paper, pixels: 1, filters: 2, maxChannels: 4)
        let sim = try Simulator(Design(top: unit.module), backend: .verilator)
        var stimulus: [[String: Int]] = [["param_clear": 1]]
        for i in 0 ..< 5 { stimulus.append(["param_clear": 0, "bias_push": 1, "bias_data": i]) }
        stimulus += [["bias_push": 0], ["param_clear": 1], ["param_clear": 0]]
        let out = try sim.run(stimulus)
        XCTAssertEqual(out.map { $0["param_overflow"]! }, [0, 0, 0, 0, 0, 0, 1, 1, 0])
    }

    func testRejectsBadParameters() {
        XCTAssertThrowsError(try QuantizationUnit(config: .paper, pixels: 2, filters: 0)) { e in
            XCTAssertTrue("\(e)".contains("filters 0"), "\(e)")
        }
        XCTAssertThrowsError(try QuantizationUnit(config: .paper, pixels: 2, filters: 4, maxChannels: 3)) { e in
            XCTAssertTrue("\(e)".contains("maxChannels 3"), "\(e)")
        }
        XCTAssertThrowsError(try QuantizationUnit(config: .paper, pixels: 2, filters: 4, pushWidth: 5)) { e in
            XCTAssertEqual("\(e)", "QuantizationUnit pushWidth 5: must be 1 to 4 (filters)")
        }
    }

    /// Entries a cycle (`pushWidth` 4) land where one at a time would: 6 channels of 4 filter lanes
    /// pushed as 4 + 2 (the second push wraps into the next slice and stops mid-slice), then the two
    /// slices requantize 3 pixels each with their own parameters; then a clear and 3 + 3 + 3 pushes
    /// of 9 entries into a unit of 2 slices overflow at the third.
    func testSeveralEntriesPerCycleLandInOrder() throws {
        let q = try QuantizationUnit(config: .paper, pixels: 3, filters: 4, maxChannels: 8, residual: false, pushWidth: 4)
        let sim = try Simulator(Design(top: q.module), backend: .verilator)
        let params: [(bias: Int32, q: (multiplier: Int32, shift: Int))] = (0 ..< 6).map { c in
            let scale: Double = 0.001 * Double(c + 1)
            let q = FixedPoint.quantizeMultiplier(scale)
            return (Int32(1000 * c - 2500), (q.multiplier, q.shift))
        }
        // Stimulus values hold until changed, so every cycle starts from idle.
        var idle = ["param_clear": 0, "bias_push_count": 0, "bound_push_count": 0, "mult_push_count": 0, "in_valid": 0,
                    "in_slice_last": 0, "zero_point": 5]
        for k in 0 ..< 4 {
            for name in ["bias_data", "mult_multiplier", "mult_shift", "bound_min", "bound_max"] { idle["\(name)_\(k)"] = 0 }
        }
        for p in 0 ..< 3 { for f in 0 ..< 4 { idle["acc_\(p)_\(f)"] = 0 } }
        func push(_ first: Int, _ n: Int) -> [String: Int] {
            var s = idle.merging(["bias_push_count": n, "bound_push_count": n, "mult_push_count": n]) { $1 }
            for k in 0 ..< 4 {
                let c = min(first + k, 5)
                s["bias_data_\(k)"] = Int(params[c].bias); s["mult_multiplier_\(k)"] = Int(params[c].q.multiplier)
                s["mult_shift_\(k)"] = params[c].q.shift; s["bound_min_\(k)"] = -128; s["bound_max_\(k)"] = 127
            }
            return s
        }
        let accs = [[Int]]((0 ..< 2).map { slice in (0 ..< 12).map { 37_000 * ($0 + 1) * (slice == 0 ? 1 : -1) } })
        func beat(_ slice: Int) -> [String: Int] {
            var s = idle.merging(["in_valid": 1, "in_slice_last": 1]) { $1 }
            for p in 0 ..< 3 { for f in 0 ..< 4 { s["acc_\(p)_\(f)"] = accs[slice][p * 4 + f] } }
            return s
        }
        let clear = idle.merging(["param_clear": 1]) { $1 }
        var stimulus: [[String: Int]] = [clear, push(0, 4), push(4, 2), idle, beat(0), beat(1)]
        stimulus += [[String: Int]](repeating: idle, count: 10)
        stimulus += [clear, push(0, 3), push(0, 3), push(0, 3), idle]
        let out = try sim.run(stimulus)
        let results = out.enumerated().filter { $0.element["out_valid"] == 1 }.map(\.offset)
        XCTAssertEqual(results.count, 2, "two beats requantized")
        for (n, t) in results.enumerated() {
            for p in 0 ..< 3 {
                for f in 0 ..< 4 {
                    // Channels 6 and 7 were never pushed: their lanes are not checked.
                    let c = n * 4 + f
                    guard c < 6 else { continue }
                    let want = FixedPoint.requantize(acc: Int32(accs[n][p * 4 + f]) &+ params[c].bias, multiplier: params[c].q.multiplier,
                                                     shift: params[c].q.shift, outputZeroPoint: 5, min: -128, max: 127)
                    XCTAssertEqual(out[t]["y_\(p)_\(f)"], Int(want), "slice \(n) pixel \(p) filter \(f)")
                }
            }
        }
        XCTAssertEqual(out.last?["param_overflow"], 1, "9 entries into 2 slices of 4")
        XCTAssertEqual(out[out.count - 2]["param_overflow"], 0, "8 entries fit")
    }
}
