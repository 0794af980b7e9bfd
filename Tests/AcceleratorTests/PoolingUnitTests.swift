import Accelerator
import HDLKit
import Reference
import XCTest

private extension SplitMix {
    mutating func int8() -> Int8 { Int8(truncatingIfNeeded: below(256) - 128) }
}

/// The MEAN constants as the mapper derives them (tflite-micro's QuantizedMeanOrSum prepare):
/// in_s/out_s with 1/count folded into the multiplier, and -in_zp·count as a bias.
private func meanConstants(_ p: MeanParameters) -> (bias: Int32, multiplier: Int32, shift: Int) {
    let count = p.reducedCount
    var (multiplier, shift) = FixedPoint.quantizeMultiplier(Double(p.inputScale) / Double(p.outputScale))
    let log2Count = 63 - UInt64(count).leadingZeroBitCount
    let extra = min(log2Count, 32, 31 + shift)
    multiplier = Int32(truncatingIfNeeded: (Int64(multiplier) << Int64(max(extra, 0))) / Int64(count))
    shift -= extra
    return (0 &- p.inputZeroPoint &* Int32(truncatingIfNeeded: count), multiplier, shift)
}

final class PoolingUnitTests: XCTestCase {
    // MARK: exact division

    /// (u·M) >> s equals u / d for every numerator of N bits, for every divisor a pool can have
    /// (1...300, and some whole feature maps), with the smallest shift and with the ROM's common one.
    func testReciprocalIsExactForEveryNumerator() throws {
        let bits = 16
        let common = ExactDivider.shift(numeratorBits: bits, maxDivisor: 4096)
        for d in Array(1 ... 300) + [441, 1000, 3136, 4095, 4096] {
            for shift in [nil, common] {
                let (m, s) = try ExactDivider.reciprocal(divisor: d, numeratorBits: bits, shift: shift)
                for u in 0 ..< (1 << bits) where (u * m) >> s != u / d {
                    XCTFail("divisor \(d), M \(m), shift \(s): \(u) gives \((u * m) >> s), not \(u / d)")
                    return
                }
            }
        }
    }

    /// One shift less than the rule allows is not enough for some divisor: the bound is the
    /// one the proof needs, not a generous guess.
    func testShorterShiftFailsForSomeDivisor() throws {
        let bits = 16
        var failed = false
        for d in [7, 25, 125] where !failed {
            let (_, s) = try ExactDivider.reciprocal(divisor: d, numeratorBits: bits)
            let m = ((1 << (s - 1)) + d - 1) / d
            failed = (0 ..< (1 << bits)).contains { ($0 * m) >> (s - 1) != $0 / d }
        }
        XCTAssertTrue(failed)
    }

    /// The rounded average through the reciprocal equals AVERAGE_POOL_2D's C expression for every
    /// sum int8 taps can make, for every count up to 256.
    func testRoundedAverageMatchesTFLiteForEverySum() throws {
        let bits = 16
        for count in 1 ... 256 {
            let (m, s) = try ExactDivider.reciprocal(divisor: count, numeratorBits: bits)
            for sum in (-128 * count) ... (127 * count) {
                let tflite = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count
                let got = ExactDivider.roundedAverage(sum: sum, count: count, multiplier: m, shift: s)
                if got != tflite {
                    XCTFail("count \(count) sum \(sum): \(got), TFLite \(tflite)")
                    return
                }
            }
        }
    }

    func testRejectsBadDivisors() {
        XCTAssertThrowsError(try ExactDivider.reciprocal(divisor: 0, numeratorBits: 16)) { XCTAssertTrue("\($0)".contains("divisor 0")) }
        XCTAssertThrowsError(try ExactDivider.reciprocal(divisor: 9, numeratorBits: 16, shift: 10)) { XCTAssertTrue("\($0)".contains("shift 10")) }
        XCTAssertThrowsError(try PoolingUnit(config: .paper, lanes: 2, taps: 9, maxWindow: 4)) { XCTAssertTrue("\($0)".contains("maxWindow 4")) }
    }

    // MARK: the unit in Verilator

    /// Random windows streamed through the unit: average pools of 1 to `maxWindow` valid taps
    /// (including 9, 25 and 125, border windows with masked taps, constant -128 and 127 windows)
    /// compared with Reference's `AveragePool2D`, and MEAN windows compared with Reference's `Mean`
    /// using the constants a mapper would load.
    private func check(lanes: Int, taps: Int, maxWindow: Int, windows: Int, seed: UInt64) throws {
        let unit = try PoolingUnit(config: .paper, lanes: lanes, taps: taps, maxWindow: maxWindow)
        let sim = try Simulator(Design(top: unit.module), backend: .verilator)
        var rng = SplitMix(state: seed)
        var stimulus: [[String: Int]] = []
        var expected: [Int: [Int8]] = [:]
        var meanWindows = 0, avgWindows = 0
        for _ in 0 ..< windows {
            let mean = rng.below(3) == 0
            var valid: Int
            switch rng.below(5) {
            case 0: valid = [1, 9, 25, 49, 125, maxWindow].filter { $0 <= maxWindow }[rng.below(5)]
            case 1: valid = mean ? 100 + rng.below(400) : rng.below(maxWindow + 1)
            default: valid = 1 + rng.below(min(maxWindow, 3 * taps))
            }
            if mean && valid == 0 { valid = 1 }
            // Values of the valid taps, lane-major per position as NHWC [position][lane].
            let constant: Int8? = rng.below(8) == 0 ? [-128, 127][rng.below(2)] : nil
            let values = (0 ..< valid * lanes).map { _ in constant ?? rng.int8() }
            let lo: Int8 = rng.below(2) == 0 ? -128 : rng.int8(), hi: Int8 = rng.below(2) == 0 ? 127 : max(lo, rng.int8())
            var ports: [String: Int] = ["act_min": Int(lo), "act_max": Int(hi), "mean": mean ? 1 : 0]
            let want: [Int8]
            if mean {
                let p = MeanParameters(inputShape: [1, valid, lanes], axes: [1], inputScale: Float(rng.below(4000) + 1) / 1000,
                                       inputZeroPoint: Int32(rng.int8()), outputScale: Float(rng.below(4000) + 1) / 1000,
                                       outputZeroPoint: Int32(rng.int8()))
                let k = meanConstants(p)
                ports["mean_bias"] = Int(k.bias); ports["mean_multiplier"] = Int(k.multiplier); ports["mean_shift"] = k.shift
                ports["mean_zero_point"] = Int(p.outputZeroPoint)
                want = try Mean.run(p, input: values)
                meanWindows += 1
            } else if valid == 0 {
                want = Array(repeating: Int8(min(max(0, Int(lo)), Int(hi))), count: lanes)  // an empty window averages to 0
                avgWindows += 1
            } else {
                let p = PoolParameters(inputHeight: 1, inputWidth: valid, channels: lanes, filterHeight: 1, filterWidth: valid,
                                       activationMin: Int32(lo), activationMax: Int32(hi))
                want = try AveragePool2D.run(p, input: values)
                avgWindows += 1
            }
            // Scatter the valid taps over beats, with masked-out slots mixed in (padding).
            var slots: [Int?] = []
            var next = 0
            while next < valid || slots.isEmpty || slots.count % taps != 0 {
                if next < valid && rng.below(4) != 0 { slots.append(next); next += 1 } else { slots.append(nil) }
            }
            let beats = slots.count / taps
            for b in 0 ..< beats {
                while rng.below(5) == 0 { stimulus.append(["in_valid": 0, "in_first": 0, "in_last": 0]) }
                var c = ports
                c["in_valid"] = 1
                c["in_first"] = b == 0 ? 1 : 0
                c["in_last"] = b == beats - 1 ? 1 : 0
                var mask = 0
                for t in 0 ..< taps {
                    let slot = slots[b * taps + t]
                    if slot != nil { mask |= 1 << t }
                    for l in 0 ..< lanes {
                        c["x_\(l)_\(t)"] = slot.map { Int(values[$0 * lanes + l]) } ?? Int(rng.int8())  // garbage under the mask
                    }
                }
                c["tap_mask"] = mask
                if b == beats - 1 { expected[stimulus.count] = want }
                stimulus.append(c)
            }
        }
        for _ in 0 ..< unit.latency { stimulus.append(["in_valid": 0, "in_first": 0, "in_last": 0]) }
        let out = try sim.run(stimulus)
        for t in 0 ..< out.count {
            let s = t - unit.latency
            XCTAssertEqual(out[t]["out_valid"], expected[s] == nil ? 0 : 1, "valid at cycle \(t)")
            guard let want = expected[s] else { continue }
            for l in 0 ..< lanes where out[t]["y_\(l)"] != Int(want[l]) {
                XCTFail("window ending at cycle \(s) lane \(l): hardware \(out[t]["y_\(l)"] ?? 0), reference \(want[l]) (mean \(stimulus[s]["mean"]!))")
                return
            }
        }
        XCTAssertGreaterThan(meanWindows, windows / 5)
        XCTAssertGreaterThan(avgWindows, windows / 2)
    }

    func testTwoLanesOfNineTaps() throws {
        try check(lanes: 2, taps: 9, maxWindow: 130, windows: 600, seed: 31)
    }

    func testThreeLanesOfFourTaps() throws {
        try check(lanes: 3, taps: 4, maxWindow: 49, windows: 600, seed: 32)
    }
}
