import Accelerator
import HDLKit
import XCTest

/// The slice accumulator against a plain Swift model of TFLite's wrapping `acc +=`: random beats
/// over a few words (so the same word comes back in consecutive cycles and the forwarding path is
/// exercised), random first/last flags, int32 extremes so sums wrap, and idle cycles between.
final class SliceAccumulatorTests: XCTestCase {
    func testSumsPartialSumsPerWordLikeWrappingInt32() throws {
        var config = AcceleratorConfig()
        config.pc = 4; config.pf = 4; config.pd = 2; config.maxRowWidth = 16
        let acc = try SliceAccumulator(config: config, lanes: 3, depth: 5)
        XCTAssertEqual(acc.latency, 2)
        let sim = try Simulator(Design(top: acc.module()), backend: .verilator)

        var rng = AccumulatorRandom(state: 77)
        var words = [[Int32]](repeating: [0, 0, 0], count: acc.depth)
        var started = [Bool](repeating: false, count: acc.depth)
        var stimulus: [[String: Int]] = []
        var expected: [(cycle: Int, end: Bool, sums: [Int32])] = []
        for t in 0 ..< 4000 {
            guard rng.below(5) != 0 else {
                stimulus.append(["in_valid": 0, "in_first": 1, "in_last": 1, "in_addr": rng.below(acc.depth)])
                continue
            }
            let addr = rng.below(acc.depth)
            let first = !started[addr] || rng.below(4) == 0
            let last = rng.below(3) == 0
            let end = rng.below(2) == 0
            let parts = (0 ..< 3).map { _ in rng.partialSum() }
            started[addr] = true
            for j in 0 ..< 3 { words[addr][j] = (first ? 0 : words[addr][j]) &+ parts[j] }
            if last { expected.append((t + acc.latency, end, words[addr])) }
            var beat = ["in_valid": 1, "in_first": first ? 1 : 0, "in_last": last ? 1 : 0, "in_end": end ? 1 : 0, "in_addr": addr]
            for j in 0 ..< 3 { beat["part_\(j)"] = Int(parts[j]) }
            stimulus.append(beat)
        }
        stimulus += Array(repeating: ["in_valid": 0], count: acc.latency + 1)
        let out = try sim.run(stimulus)

        let shown = out.indices.filter { out[$0]["out_valid"] == 1 }
        XCTAssertEqual(shown, expected.map(\.cycle), "a total exactly latency cycles after every last beat, and nowhere else")
        for e in expected where e.cycle < out.count {
            XCTAssertEqual(out[e.cycle]["out_end"], e.end ? 1 : 0, "cycle \(e.cycle): end side-band")
            for j in 0 ..< 3 { XCTAssertEqual(out[e.cycle]["sum_\(j)"], Int(e.sums[j]), "cycle \(e.cycle) lane \(j)") }
        }
    }

    func testRejectsAnEmptyBuffer() {
        XCTAssertThrowsError(try SliceAccumulator(config: AcceleratorConfig(), lanes: 4, depth: 0)) { error in
            XCTAssertEqual("\(error)", "SliceAccumulator depth 0: must be 1 to 4194304 output positions")
        }
    }
}

private typealias AccumulatorRandom = SplitMix
private extension SplitMix {
    /// Mostly engine-sized sums, sometimes int32 extremes so that the total wraps.
    mutating func partialSum() -> Int32 {
        below(6) == 0 ? [Int32.max, Int32.min, Int32.max - 3, Int32.min + 7][below(4)]
                      : Int32(below(1 << 20)) - (1 << 19)
    }
}
