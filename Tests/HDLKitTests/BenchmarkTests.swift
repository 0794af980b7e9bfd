import Foundation
import HDLKit
import XCTest

/// The multiplier array of the seed accelerator at its reference size (PK = 9 kernel taps ×
/// PC = 16 channels × PF = 16 filters = 2304 int8 multipliers), each product and each adder-tree
/// node a flat named register, built to measure HDLKit rather than to test it.
///
/// Weights and activations enter through shift chains (`w_in`, `x_in`) so the ports stay few and
/// the simulator's speed is the design's, not the harness's.
struct MultiplierArray {
    let pk: Int, pc: Int, pf: Int
    var multipliers: Int { pk * pc * pf }
    /// Levels of registered adders over the `pk * pc` products of one filter.
    var treeLevels: Int { addressWidth(pk * pc) }
    /// Cycles from the weight and activation registers to the filter sums: the product register,
    /// then one per tree level.
    var latency: Int { 1 + treeLevels }

    func build() -> Module {
        Module("MultiplierArray_k\(pk)_c\(pc)_f\(pf)") { m in
            let wIn = m.input("w_in", .sint(8)), wShift = m.input("w_shift", .bool)
            let xIn = m.input("x_in", .sint(8)), xShift = m.input("x_shift", .bool)
            var x: [Signal] = []
            var previous = xIn
            for c in 0..<pc {
                for k in 0..<pk {
                    previous = m.reg("x_c\(c)_k\(k)", next: previous, enable: xShift)
                    x.append(previous)
                }
            }
            previous = wIn
            for f in 0..<pf {
                var products: [Signal] = []
                for c in 0..<pc {
                    for k in 0..<pk {
                        let w = m.reg("w_f\(f)_c\(c)_k\(k)", next: previous, enable: wShift)
                        previous = w
                        products.append(m.reg("prod_f\(f)_c\(c)_k\(k)", next: w * x[c * pk + k]))
                    }
                }
                var level = products
                var l = 1
                while level.count > 1 {
                    var next: [Signal] = []
                    for i in stride(from: 0, to: level.count, by: 2) {
                        let value = i + 1 < level.count ? level[i] + level[i + 1] : level[i]
                        next.append(m.reg("sum_f\(f)_l\(l)_\(i / 2)", next: value))
                    }
                    level = next
                    l += 1
                }
                m.output("y_\(f)", level[0])
            }
        }
    }

    /// The same array in Swift: the filter sums the outputs show `latency` cycles later.
    struct Model {
        let array: MultiplierArray
        var w: [Int], x: [Int]
        init(_ array: MultiplierArray) {
            self.array = array
            w = Array(repeating: 0, count: array.multipliers)
            x = Array(repeating: 0, count: array.pk * array.pc)
        }

        func sums() -> [Int] {
            let taps = array.pk * array.pc
            return (0..<array.pf).map { f in (0..<taps).reduce(0) { $0 + w[f * taps + $1] * x[$1] } }
        }

        mutating func clock(_ inputs: [String: Int]) {
            if inputs["x_shift"] == 1 { x = [inputs["x_in"]!] + x.dropLast() }
            if inputs["w_shift"] == 1 { w = [inputs["w_in"]!] + w.dropLast() }
        }
    }
}

final class BenchmarkTests: XCTestCase {
    /// Run by scripts/bench-hdlkit.sh (`HDLKIT_BENCH=1`); prints elaboration, emission, Verilator
    /// build time and simulated cycles per second, and checks every filter sum against the model.
    func testBenchmarkMultiplierArrayElaborationAndSimulation() throws {
        let env = ProcessInfo.processInfo.environment
        try XCTSkipUnless(env["HDLKIT_BENCH"] == "1", "benchmark: set HDLKIT_BENCH=1 (scripts/bench-hdlkit.sh)")
        let array = MultiplierArray(pk: 9, pc: 16, pf: 16)
        let clock = ContinuousClock()

        var module: Module!
        let elaboration = clock.measure { module = array.build() }
        var files: [(fileName: String, text: String)] = []
        let emission = try clock.measure { files = try Design(top: module).verilog() }
        let bytes = files.reduce(0) { $0 + $1.text.utf8.count }
        print("bench: \(array.multipliers) multipliers, \(array.latency)-cycle pipeline, \(bytes / 1024) KiB of Verilog")
        print("bench: elaboration \(ms(elaboration)) ms, checks+emission \(ms(emission)) ms, total \(ms(elaboration + emission)) ms")

        if env["HDLKIT_BENCH_SIMULATE"] == "0" { return }

        let flags = (env["HDLKIT_BENCH_VERILATOR_FLAGS"] ?? "-O3 --output-split-cfuncs 10000").split(separator: " ").map(String.init)
        var sim: Simulator!
        let build = try clock.measure { sim = try Simulator(Design(top: module), backend: .verilator, verilatorFlags: flags) }
        print("bench: Verilator build (\(flags.joined(separator: " ")), cached if unchanged) \(ms(build) / 1000) s")

        let cycles = Int(env["HDLKIT_BENCH_CYCLES"] ?? "") ?? 100_000
        var rng = SplitMix64(seed: 1)
        let load = array.multipliers
        let stimulus: [[String: Int]] = (0..<(load + cycles)).map { t in
            ["w_in": rng.value(.sint(8)), "w_shift": t < load ? 1 : 0, "x_in": rng.value(.sint(8)), "x_shift": 1]
        }
        var outputs: [[String: Int]] = []
        let run = try clock.measure { outputs = try sim.run(stimulus) }
        let simulator = sim.lastSimulationTime ?? run
        print("bench: simulated \(stimulus.count) cycles: Verilator process \(String(format: "%.2f", seconds(simulator))) s = "
              + "\(Int(Double(stimulus.count) / seconds(simulator))) cycles/s single-threaded (its file I/O included); "
              + "with Simulator.run's Swift-side stimulus and output handling \(Int(Double(stimulus.count) / seconds(run))) cycles/s")

        var model = MultiplierArray.Model(array)
        var history: [[Int]] = []
        for s in stimulus {
            history.append(model.sums())
            model.clock(s)
        }
        var mismatches = 0
        for t in (load + array.latency)..<stimulus.count {
            for f in 0..<array.pf where outputs[t]["y_\(f)"] != history[t - array.latency][f] {
                mismatches += 1
                if mismatches <= 3 { XCTFail("cycle \(t): y_\(f) = \(outputs[t]["y_\(f)"]!), model \(history[t - array.latency][f])") }
            }
        }
        XCTAssertEqual(mismatches, 0)
    }

    private func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }

    private func ms(_ d: Duration) -> Int {
        Int(d.components.seconds * 1000) + Int(d.components.attoseconds / 1_000_000_000_000_000)
    }
}
