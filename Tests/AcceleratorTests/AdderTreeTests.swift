import Accelerator
import HDLKit
import Reference
import XCTest

/// The configurable adder tree on its own: the basic unit in both of its modes (Fig. 5) and a whole
/// filter lane's tree in every convolution mode (Fig. 6), against sums computed here.
final class AdderTreeTests: XCTestCase {
    func testBasicUnitAddsTwoNinesOrOneSixteen() throws {
        let unit = AdderTreeUnit(halfInputs: 8, inputWidth: 16)
        XCTAssertEqual(unit.latency, 4, "three subtree levels and the shared final adder")
        XCTAssertEqual(unit.outputWidth, 20)
        let sim = try Simulator(Design(top: unit.module()), backend: .verilator)
        var rng = TreeRandom(seed: 7)
        // split is a per-layer setting, held while sums are in flight: one run per mode.
        for split in [true, false] {
            var cycles: [[String: Int]] = [], expected: [(y0: Int, y1: Int)] = []
            for i in 0 ..< 100 {
                let extreme = i % 10 == 1
                func value() -> Int { extreme ? [-32768, 32767].randomElement(using: &rng)! : Int.random(in: -32768 ... 32767, using: &rng) }
                let a = (0 ..< 8).map { _ in value() }, b = (0 ..< 8).map { _ in value() }, ea = value(), eb = value()
                var c: [String: Int] = ["split": split ? 1 : 0, "ea": ea, "eb": eb]
                for j in 0 ..< 8 { c["a_\(j)"] = a[j]; c["b_\(j)"] = b[j] }
                cycles.append(c)
                let sumA = a.reduce(0, +), sumB = b.reduce(0, +)
                expected.append(split ? (sumA + ea, sumB + eb) : (sumA + sumB, 0))
            }
            let out = try sim.run(cycles + Array(repeating: [:], count: unit.latency))
            for (i, e) in expected.enumerated() {
                let row = out[i + unit.latency]
                XCTAssertEqual(row["y0"], e.y0, "split \(split) cycle \(i) y0")
                if split { XCTAssertEqual(row["y1"], e.y1, "cycle \(i) y1") }
            }
        }
    }

    func testUnitCountFollowsThePaperAndGeneralises() {
        XCTAssertEqual(AdderTree(taps: 9, channels: 16, productWidth: 16).unitCount, 9, "Fig. 6: nine units for PC = 16")
        XCTAssertEqual(AdderTree(taps: 9, channels: 4, productWidth: 16).unitCount, 9, "pointwise still needs one unit per pixel")
        XCTAssertEqual(AdderTree(taps: 9, channels: 32, productWidth: 16).unitCount, 17, "16 pair units and the channel adder")
    }

    func testFilterLaneTreeSumsEachModeTheWayFigureSixShows() throws {
        for channels in [4, 5] {
            let tree = AdderTree(taps: 9, channels: channels, productWidth: 16)
            let sim = try Simulator(Design(top: tree.module()), backend: .verilator)
            var rng = TreeRandom(seed: UInt64(channels))
            for mode in ConvolutionMode.allCases {
                var cycles: [[String: Int]] = [], products: [[[Int]]] = []
                for _ in 0 ..< 40 {
                    let p = (0 ..< 9).map { _ in (0 ..< channels).map { _ in Int.random(in: -32768 ... 32767, using: &rng) } }
                    var c: [String: Int] = ["mode": mode.rawValue]
                    for k in 0 ..< 9 { for ch in 0 ..< channels { c["p_\(k)_\(ch)"] = p[k][ch] } }
                    cycles.append(c)
                    products.append(p)
                }
                let latency = tree.latency(mode)
                let out = try sim.run(cycles + Array(repeating: ["mode": mode.rawValue], count: latency))
                for (i, p) in products.enumerated() {
                    let row = out[i + latency]
                    switch mode {
                    case .standard, .fullyConnected:
                        XCTAssertEqual(row["lane_0"], p.joined().reduce(0, +), "\(mode) c\(channels) #\(i)")
                    case .pointwise:
                        for k in 0 ..< 9 { XCTAssertEqual(row["lane_\(k)"], p[k].reduce(0, +), "pointwise pixel \(k) #\(i)") }
                    case .depthwise:
                        for ch in 0 ..< channels { XCTAssertEqual(row["lane_\(ch)"], (0 ..< 9).map { p[$0][ch] }.reduce(0, +), "depthwise channel \(ch) #\(i)") }
                    }
                }
            }
        }
    }
}

/// The project's one seeded generator, so failures reproduce from the seed in the message.
fileprivate typealias TreeRandom = SeededRandom
