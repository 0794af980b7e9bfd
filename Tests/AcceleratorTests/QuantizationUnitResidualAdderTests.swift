import Accelerator
import HDLKit
import Reference
import XCTest

private extension SplitMix {
    mutating func int8() -> Int32 { Int32(below(256)) - 128 }
    mutating func multiplier() -> Int32 {
        switch below(10) {
        case 0: return [0, Int32.max, 1 << 30, 1][below(4)]
        default: return Int32(1 << 30) + Int32(below(1 << 30))
        }
    }
}

final class QuantizationUnitResidualAdderTests: XCTestCase {
    /// The fused shortcut against `AddParameters.add` with raw parameters that change every beat:
    /// input shifts anywhere in -31...0 (plus a positive one, which TFLite's
    /// SmallerThanOneExp treats as 0), and an output shift chosen so that most results land inside
    /// the clamp, where every one of the five roundings can show.
    func testMatchesTFLiteAdd() throws {
        let lanes = 3
        let adder = try ResidualAdder(config: .paper, lanes: lanes, tagWidth: 3)
        let sim = try Simulator(Design(top: adder.module), backend: .verilator)
        var rng = SplitMix(state: 21)
        var base = try AddParameters(input1Scale: 0.1, input1ZeroPoint: 0, input2Scale: 0.2, input2ZeroPoint: 0,
                                     outputScale: 0.3, outputZeroPoint: 0)
        var stimulus: [[String: Int]] = []
        var expected: [[String: Int]?] = []
        var inside = 0
        let beats = 12000
        for b in 0 ..< beats {
            base.input1Offset = -rng.int8()
            base.input2Offset = -rng.int8()
            base.input1Multiplier = rng.multiplier()
            base.input2Multiplier = rng.multiplier()
            base.input1Shift = rng.below(20) == 0 ? 1 : -rng.below(32)
            base.input2Shift = rng.below(20) == 0 ? 1 : -rng.below(32)
            let e1 = max(-min(base.input1Shift, base.input2Shift), 0)
            base.outputMultiplier = rng.multiplier()
            base.outputShift = rng.below(10) == 0 ? -rng.below(32) : -(max(0, 19 - e1) + rng.below(5))
            base.outputOffset = rng.int8()
            let a = rng.int8(), c = rng.int8()
            base.activationMin = min(a, c)
            base.activationMax = rng.below(3) == 0 ? 127 : max(a, c)
            if rng.below(4) == 0 {
                // Multipliers far below 2^30 bring the 2^20-scaled domain down to the output's
                // scale, the only place where the inputs' own rounding can change a result.
                base.input1Multiplier = Int32(rng.below(1 << 16))
                base.input2Multiplier = Int32(rng.below(1 << 16))
                base.input1Shift = -rng.below(3)
                base.input2Shift = -rng.below(3)
                base.outputShift = -rng.below(3)
            }
            let add = rng.below(8) != 0, valid = rng.below(6) != 0
            var s: [String: Int] = [
                "in_valid": valid ? 1 : 0, "add": add ? 1 : 0, "in_tag": b % 8,
                "y_offset": Int(base.input1Offset), "y_multiplier": Int(base.input1Multiplier), "y_shift": base.input1Shift,
                "s_offset": Int(base.input2Offset), "s_multiplier": Int(base.input2Multiplier), "s_shift": base.input2Shift,
                "out_multiplier": Int(base.outputMultiplier), "out_shift": base.outputShift, "out_offset": Int(base.outputOffset),
                "act_min": Int(base.activationMin), "act_max": Int(base.activationMax),
            ]
            var want: [String: Int] = ["out_tag": b % 8]
            for i in 0 ..< lanes {
                let y = Int8(truncatingIfNeeded: rng.int8()), sc = Int8(truncatingIfNeeded: rng.int8())
                s["y_\(i)"] = Int(y)
                s["s_\(i)"] = Int(sc)
                let r = add ? base.add(y, sc) : y
                want["out_\(i)"] = Int(r)
                if add && Int32(r) > base.activationMin && Int32(r) < base.activationMax { inside += 1 }
            }
            stimulus.append(s)
            expected.append(valid ? want : nil)
        }
        stimulus += Array(repeating: ["in_valid": 0], count: adder.latency)
        let out = try sim.run(stimulus)
        for t in 0 ..< out.count {
            let s = t - adder.latency
            let want = s >= 0 && s < beats ? expected[s] : nil
            XCTAssertEqual(out[t]["out_valid"], want == nil ? 0 : 1, "valid at cycle \(t)")
            guard let want else { continue }
            for (k, v) in want where out[t][k] != v {
                XCTFail("beat \(s) \(k): hardware \(out[t][k] ?? 0), reference \(v); stimulus \(stimulus[s])")
                return
            }
        }
        XCTAssertGreaterThan(inside, beats * lanes / 8, "too few unclamped sums to test the rounding")
    }

    func testRejectsBadLaneCount() {
        XCTAssertThrowsError(try ResidualAdder(config: .paper, lanes: 0)) { e in
            XCTAssertTrue("\(e)".contains("lanes 0"), "\(e)")
        }
    }
}
