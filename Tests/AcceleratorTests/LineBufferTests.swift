import Accelerator
import HDLKit
import XCTest

/// The line buffer in Verilator on random reads and writes against a Swift model of its two rows:
/// reads registered and held while not enabled, a write storing the pixel in row 1 and the word
/// just read from row 1 in row 2.
final class LineBufferTests: XCTestCase {
    func testRandomTrafficMatchesTheModel() throws {
        for (pc, width, depth) in [(2, 8, 7), (5, 4, 12)] {
            var config = AcceleratorConfig()
            config.pc = pc
            config.pf = max(pc, config.pd)
            config.dataWidth = width
            config.maxRowWidth = depth
            let buffer = LineBuffer(config: config)
            XCTAssertEqual(buffer.latency, 1)
            let sim = try Simulator(Design(top: buffer.module()), backend: .verilator)

            var rng = LineBufferRandom(state: UInt64(pc * 100 + depth))
            let lo = -(1 << (width - 1)), span = 1 << width
            var stimulus: [[String: Int]] = []
            for _ in 0 ..< 3000 {
                var c: [String: Int] = ["rd_en": rng.below(3) == 0 ? 0 : 1, "rd_addr": rng.below(depth),
                                        "wr_en": rng.below(3) == 0 ? 0 : 1, "wr_addr": rng.below(depth)]
                for ch in 0 ..< pc { c["in_\(ch)"] = lo + rng.below(span) }
                stimulus.append(c)
            }
            let outputs = try sim.run(stimulus)

            // nil: never written (the simulator's memory starts random).
            var row1 = [[Int]?](repeating: nil, count: depth), row2 = row1
            var q1: [Int]? = nil, q2: [Int]? = nil
            var compared = 0
            for (t, (c, o)) in zip(stimulus, outputs).enumerated() {
                for ch in 0 ..< pc {
                    if let v = q1?[ch] { XCTAssertEqual(o["prev_\(ch)"], v, "pc \(pc) cycle \(t) prev_\(ch)"); compared += 1 }
                    if let v = q2?[ch] { XCTAssertEqual(o["prev2_\(ch)"], v, "pc \(pc) cycle \(t) prev2_\(ch)"); compared += 1 }
                }
                let (nq1, nq2) = c["rd_en"] == 1 ? (row1[c["rd_addr"]!], row2[c["rd_addr"]!]) : (q1, q2)
                if c["wr_en"] == 1 {
                    row1[c["wr_addr"]!] = (0 ..< pc).map { c["in_\($0)"]! }
                    row2[c["wr_addr"]!] = q1
                }
                (q1, q2) = (nq1, nq2)
            }
            XCTAssertGreaterThan(compared, 3000 * pc, "most cycles were checked")
        }
    }
}

private typealias LineBufferRandom = SplitMix
