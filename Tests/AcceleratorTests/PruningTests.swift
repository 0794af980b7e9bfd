import Accelerator
import HDLKit
import Reference
import XCTest

/// Hardware-assisted pruning: with a threshold t the engine leaves out exactly the products with
/// |w| ≤ t (and those with x = in_zp, which are 0 anyway), counts the multiplications it did, and
/// with t = 0 gives the unpruned sums bit for bit.
final class PruningTests: XCTestCase {
    func testEnableRuleIsMagnitudeAboveThresholdAndNonzeroActivation() {
        XCTAssertTrue(Pruning.isEnabled(weight: -3, activation: 5, inputZeroPoint: 0, threshold: 2))
        XCTAssertFalse(Pruning.isEnabled(weight: -2, activation: 5, inputZeroPoint: 0, threshold: 2))
        XCTAssertFalse(Pruning.isEnabled(weight: 100, activation: -7, inputZeroPoint: -7, threshold: 0), "x = in_zp is a zero activation")
        XCTAssertFalse(Pruning.isEnabled(weight: 0, activation: 1, inputZeroPoint: 0, threshold: 0))
        XCTAssertTrue(Pruning.isEnabled(weight: -128, activation: 1, inputZeroPoint: 0, threshold: 127))
    }

    func testThresholdsPruneExactlyTheSmallWeightsInEveryMode() throws {
        var c = AcceleratorConfig()
        c.pc = 4; c.pf = 4; c.pd = 2
        let engine = try ConvolutionEngine(c)
        let sim = try Simulator(Design(top: engine.module()), backend: .verilator, verilatorFlags: ["-CFLAGS", "-O0"])
        var rng = PruningRandom(seed: 11)
        for mode in ConvolutionMode.allCases {
            for threshold in [0, 1, 17, 64, 127, 255] {
                let zp = Int.random(in: -128 ... 127, using: &rng)
                var cycles: [[String: Int]] = [["activity_clear": 1, "mode": mode.rawValue]]
                var expected: [[String: Int]] = [], enabled = 0
                for _ in 0 ..< 12 {
                    var x = (0 ..< c.pd).map { _ in (0 ..< 9).map { _ in (0 ..< c.pc).map { _ in Int.random(in: -128 ... 127, using: &rng) } } }
                    var w = (0 ..< c.pf).map { _ in (0 ..< 9).map { _ in (0 ..< c.pc).map { _ in Int.random(in: -128 ... 127, using: &rng) } } }
                    x[0][0][0] = zp
                    if mode == .depthwise { for d in 1 ..< c.pd { w[d] = w[0] } }
                    var row: [String: Int] = ["valid": 1, "mode": mode.rawValue, "in_zp": zp, "threshold": threshold, "activity_clear": 0]
                    for g in 0 ..< c.pd { for k in 0 ..< 9 { for ch in 0 ..< c.pc { row["x_\(g)_\(k)_\(ch)"] = x[g][k][ch] } } }
                    for f in 0 ..< c.pf { for k in 0 ..< 9 { for ch in 0 ..< c.pc { row["w_\(f)_\(k)_\(ch)"] = w[f][k][ch] } } }
                    cycles.append(row)
                    // The slow model: every product that survives the threshold, summed as the mode says.
                    func kept(_ f: Int, _ g: Int, _ k: Int, _ ch: Int) -> Int {
                        abs(w[f][k][ch]) > threshold ? w[f][k][ch] * (x[g][k][ch] - zp) : 0
                    }
                    var e: [String: Int] = [:]
                    let lanes = mode == .depthwise ? c.pd : c.pf
                    for f in 0 ..< lanes {
                        let g = mode == .depthwise ? f : 0
                        for k in 0 ..< 9 { for ch in 0 ..< c.pc where abs(w[f][k][ch]) > threshold && x[g][k][ch] != zp { enabled += 1 } }
                        switch mode {
                        case .standard, .fullyConnected:
                            e["sum_\(f)_0"] = (0 ..< 9).flatMap { k in (0 ..< c.pc).map { kept(f, 0, k, $0) } }.reduce(0, +)
                        case .pointwise:
                            for k in 0 ..< 9 { e["sum_\(f)_\(k)"] = (0 ..< c.pc).map { kept(f, 0, k, $0) }.reduce(0, +) }
                        case .depthwise:
                            for ch in 0 ..< c.pc { e["sum_\(f)_\(ch)"] = (0 ..< 9).map { kept(f, f, $0, ch) }.reduce(0, +) }
                        }
                    }
                    expected.append(e)
                }
                cycles += Array(repeating: ["valid": 0], count: engine.maxLatency + Pruning.counterLatency)
                let all = try sim.run(cycles)
                let out = all.filter { $0["valid_out"] == 1 }
                XCTAssertEqual(out.count, expected.count)
                for (row, e) in zip(out, expected) {
                    for (port, value) in e { XCTAssertEqual(row[port], value, "\(mode) threshold \(threshold) \(port)") }
                }
                XCTAssertEqual(all.last?["activity"], enabled, "\(mode) threshold \(threshold): enabled multiplications")
            }
        }
    }
}

/// The project's one seeded generator, so failures reproduce from the seed in the message.
fileprivate typealias PruningRandom = SeededRandom
