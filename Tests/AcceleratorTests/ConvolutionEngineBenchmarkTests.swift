import Accelerator
import Foundation
import HDLKit
import Reference
import XCTest

/// The engine's figures for the default (paper) configuration: multipliers, Verilator build time
/// and simulated cycles per second. Skipped unless ACCEL_BENCH=1 (the build takes minutes);
/// `make bench-engine` runs it. ACCEL_BENCH_PC / _PF / _PD / _PACKING pick another configuration.
/// The run is also a check: every standard-convolution sum is compared with Σ w·(x - zp).
final class ConvolutionEngineBenchmarkTests: XCTestCase {
    func testEngineBenchmark() throws {
        let env = ProcessInfo.processInfo.environment
        guard env["ACCEL_BENCH"] == "1" else { throw XCTSkip("set ACCEL_BENCH=1 to measure the engine") }
        var c = AcceleratorConfig.paper
        if let v = env["ACCEL_BENCH_PC"].flatMap(Int.init) { c.pc = v }
        if let v = env["ACCEL_BENCH_PF"].flatMap(Int.init) { c.pf = v }
        if let v = env["ACCEL_BENCH_PD"].flatMap(Int.init) { c.pd = v }
        c.dspPacking = env["ACCEL_BENCH_PACKING"] == "1"
        let engine = try ConvolutionEngine(c)

        let start = Date()
        let sim = try Simulator(Design(top: engine.module()), backend: .verilator)
        let build = Date().timeIntervalSince(start)

        var rng = BenchRandom(seed: 99)
        let cycles = Int(env["ACCEL_BENCH_CYCLES"] ?? "") ?? 2000
        var stimulus: [[String: Int]] = [["activity_clear": 1]]
        var x: [[Int]] = [], w: [[Int]] = [], zps: [Int] = []
        for _ in 0 ..< cycles {
            let zp = Int.random(in: -128 ... 127, using: &rng)
            let xv = (0 ..< c.pk).map { _ in (0 ..< c.pc).map { _ in Int.random(in: -128 ... 127, using: &rng) } }
            let wv = (0 ..< c.pf).map { _ in (0 ..< c.pk * c.pc).map { _ in Int.random(in: -128 ... 127, using: &rng) } }
            var row: [String: Int] = ["valid": 1, "mode": ConvolutionMode.standard.rawValue, "in_zp": zp, "threshold": 0, "activity_clear": 0]
            for k in 0 ..< c.pk { for ch in 0 ..< c.pc { row["x_0_\(k)_\(ch)"] = xv[k][ch] } }
            for f in 0 ..< c.pf { for i in 0 ..< c.pk * c.pc { row["w_\(f)_\(i / c.pc)_\(i % c.pc)"] = wv[f][i] } }
            stimulus.append(row)
            x.append(xv.flatMap { $0 }); w.append(wv.flatMap { $0 }); zps.append(zp)
        }
        stimulus += Array(repeating: ["valid": 0], count: engine.maxLatency)
        let runStart = Date()
        let out = try sim.run(stimulus)
        let runTime = Date().timeIntervalSince(runStart)

        let valid = out.filter { $0["valid_out"] == 1 }
        XCTAssertEqual(valid.count, cycles)
        for (i, row) in valid.enumerated() {
            for f in 0 ..< c.pf {
                var sum = 0
                for j in 0 ..< c.pk * c.pc { sum += w[i][f * c.pk * c.pc + j] * (x[i][j] - zps[i]) }
                XCTAssertEqual(row["sum_\(f)_0"], sum, "cycle \(i) filter \(f)")
            }
        }
        print(String(format: "bench-engine: %d multipliers (PC=%d PF=%d PD=%d%@), Verilator build %.1f s, %.0f cycles/s (harness, %d cycles in %.2f s incl. stimulus I/O)",
                     c.multipliers, c.pc, c.pf, c.pd, c.dspPacking ? " packed" : "", build, Double(stimulus.count) / runTime, stimulus.count, runTime))
    }
}

/// The project's one seeded generator, so failures reproduce from the seed in the message.
fileprivate typealias BenchRandom = SeededRandom
