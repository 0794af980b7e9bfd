import Accelerator
import HDLKit
import Reference
import XCTest

/// Random parameters biased towards the corners the shared models hit: zero multipliers with
/// shift -31 (VWW's all-zero channels), biases of ±2^30, accumulators at the int32 limits,
/// INT32_MIN in the doubling high multiply, left shifts, and clamps with min > max.
private struct RequantizerCorners {
    var rng: SplitMix

    mutating func accumulator() -> Int32 {
        switch rng.below(8) {
        case 0: return [Int32.min, Int32.max, Int32.min + 1, Int32.max - 1, 0, -1, 1][rng.below(7)]
        case 1: return Int32(truncatingIfNeeded: rng.next())
        case 2: return Int32(truncatingIfNeeded: Int(rng.below(1 << 20)) - (1 << 19))
        default: return Int32(truncatingIfNeeded: Int(rng.below(1 << 16)) - (1 << 15))
        }
    }

    mutating func bias() -> Int32 {
        switch rng.below(6) {
        case 0: return [1 << 30, -(1 << 30), Int32.min, Int32.max, 0][rng.below(5)]
        case 1: return Int32(truncatingIfNeeded: rng.next())
        default: return Int32(truncatingIfNeeded: Int(rng.below(1 << 18)) - (1 << 17))
        }
    }

    mutating func multiplier() -> (Int32, Int) {
        switch rng.below(8) {
        case 0: return (0, -31)
        case 1: return ([0, Int32.min, Int32.max, 1 << 30, -1, 1][rng.below(6)], Int(rng.below(64)) - 32)
        case 2: return (Int32(truncatingIfNeeded: rng.next()), Int(rng.below(64)) - 32)
        case 3: return (Int32(1 << 30) + Int32(rng.below(1 << 30)), Int(rng.below(8)))     // left shifts
        default: return (Int32(1 << 30) + Int32(rng.below(1 << 30)), -Int(rng.below(32)))  // typical conv layers
        }
    }

    mutating func int8() -> Int32 { Int32(rng.below(256)) - 128 }

    mutating func bounds() -> (Int32, Int32) {
        switch rng.below(4) {
        case 0: return (-128, 127)
        case 1: let a = int8(), b = int8(); return (a, b)  // sometimes min > max
        default: let a = int8(), b = int8(); return (min(a, b), max(a, b))
        }
    }
}

/// Deterministic 64-bit generator (tests must be reproducible).

final class RequantizerTests: XCTestCase {
    /// Every lane of every cycle matches `FixedPoint.requantize(acc + bias, ...)`, with the
    /// parameters changing every cycle (so each one must be delay-matched to its stage) and
    /// `valid`/`tag` gaps checked against the input pattern `latency` cycles earlier.
    private func check(pixels: Int, cycles: Int, seed: UInt64, backend: Simulator.Backend = .verilator) throws {
        let rq = try Requantizer(config: .paper, pixels: pixels, tagWidth: 5)
        let sim = try Simulator(Design(top: rq.module), backend: backend)
        var corners = RequantizerCorners(rng: SplitMix(state: seed))
        var stimulus: [[String: Int]] = []
        var expected: [[Int]] = []
        for t in 0 ..< cycles {
            var c: [String: Int] = [:]
            let (mult, shift) = corners.multiplier()
            let bias = corners.bias(), zp = corners.int8(), (lo, hi) = corners.bounds()
            c["in_valid"] = corners.rng.below(5) == 0 ? 0 : 1
            c["in_tag"] = t % 32
            c["bias"] = Int(bias); c["multiplier"] = Int(mult); c["shift"] = shift
            c["zero_point"] = Int(zp); c["act_min"] = Int(lo); c["act_max"] = Int(hi)
            var lanes: [Int] = []
            // Half the beats aim the accumulator so that the result lands near the int8 range, as
            // in a real layer; otherwise nearly everything would only test the clamp.
            let aimed = corners.rng.below(2) == 0 && mult > 0 && shift <= 0
            for i in 0 ..< pixels {
                var acc = corners.accumulator()
                if aimed {
                    let target = Double(corners.rng.below(600)) - 300 + Double(corners.rng.below(1000)) / 1000
                    let scale = Double(mult) / 2_147_483_648.0 * pow(2.0, Double(shift))
                    let sum = (target / scale).rounded()
                    if abs(sum) < 2e9 { acc = Int32(sum) &- bias }
                }
                c["acc_\(i)"] = Int(acc)
                lanes.append(Int(FixedPoint.requantize(acc: acc &+ bias, multiplier: mult, shift: shift,
                                                       outputZeroPoint: zp, min: lo, max: hi)))
            }
            stimulus.append(c)
            expected.append(lanes)
        }
        stimulus += Array(repeating: ["in_valid": 0], count: rq.latency)
        let out = try sim.run(stimulus)
        var checked = 0, inside = 0
        for t in 0 ..< stimulus.count {
            let s = t - rq.latency
            let wantValid = s >= 0 ? stimulus[s]["in_valid"] ?? 0 : 0
            XCTAssertEqual(out[t]["out_valid"], wantValid, "valid at cycle \(t)")
            if wantValid == 0 {
                XCTAssertTrue((0 ..< pixels).allSatisfy { out[t]["y_\($0)"] == 0 } && out[t]["out_tag"] == 0, "idle outputs at cycle \(t) are not 0")
            }
            guard s >= 0, s < cycles, wantValid == 1 else { continue }
            XCTAssertEqual(out[t]["out_tag"], s % 32, "tag at cycle \(t)")
            for i in 0 ..< pixels where out[t]["y_\(i)"] != expected[s][i] {
                let c = stimulus[s]
                XCTFail("beat \(s) lane \(i): hardware \(out[t]["y_\(i)"] ?? 0), reference \(expected[s][i]) for acc \(c["acc_\(i)"]!) bias \(c["bias"]!) M \(c["multiplier"]!) shift \(c["shift"]!) zp \(c["zero_point"]!) [\(c["act_min"]!), \(c["act_max"]!)]")
                return
            }
            checked += pixels
            inside += (0 ..< pixels).filter { i in
                let y = expected[s][i]
                return y > stimulus[s]["act_min"]! && y < stimulus[s]["act_max"]!
            }.count
        }
        XCTAssertGreaterThan(checked, cycles * pixels / 2)
        // The rounding is only exercised by results that the clamp does not decide.
        XCTAssertGreaterThan(inside, checked / 8, "too few unclamped results to test the rounding")
    }

    func testMatchesFixedPointOnOneLane() throws {
        try check(pixels: 1, cycles: 20000, seed: 1)
    }

    func testMatchesFixedPointOnThreeLanes() throws {
        try check(pixels: 3, cycles: 8000, seed: 2)
    }

    /// The same Verilog in Icarus, so the arithmetic does not rest on one simulator's reading of
    /// signed shifts and widths.
    func testMatchesFixedPointInIcarus() throws {
        try check(pixels: 2, cycles: 3000, seed: 3, backend: .icarus)
    }

    func testRejectsBadParameters() {
        XCTAssertThrowsError(try Requantizer(config: .paper, pixels: 0)) { e in
            XCTAssertTrue("\(e)".contains("pixels 0"), "\(e)")
        }
        var c = AcceleratorConfig.paper
        c.accumulatorWidth = 24
        XCTAssertThrowsError(try Requantizer(config: c, pixels: 1))
    }
}
