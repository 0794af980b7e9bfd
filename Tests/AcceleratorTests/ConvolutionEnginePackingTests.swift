import Accelerator
import HDLKit
import Reference
import XCTest

/// DSP packing: two products from one wide multiply must equal the two plain products, in both
/// roles the engine uses (shared activation with two weights; shared weight with two activations).
final class ConvolutionEnginePackingTests: XCTestCase {
    /// Every activation (x - zp ∈ [-255, 255]) against every weight pair in a grid that includes
    /// all extremes, and every weight against every activation pair likewise.
    func testModelEqualsPlainProductsOverTheOperandRanges() {
        let shift = 16
        let weights = Array(-128 ... 127)
        let activations = Array(-255 ... 255)
        let weightGrid = [-128, -127, -64, -1, 0, 1, 63, 126, 127]
        let activationGrid = [-255, -254, -128, -1, 0, 1, 128, 254, 255]
        var failures = 0
        for a in activations { for w1 in weightGrid { for w2 in weights {
            let (p1, p2) = PackedMultiplierPair.model(shared: a, w1, w2, shift: shift)
            if p1 != a * w1 || p2 != a * w2 { failures += 1 }
        } } }
        for w in weights { for a1 in activationGrid { for a2 in activations {
            let (p1, p2) = PackedMultiplierPair.model(shared: w, a1, a2, shift: shift)
            if p1 != w * a1 || p2 != w * a2 { failures += 1 }
        } } }
        XCTAssertEqual(failures, 0)
    }

    func testHardwarePairMatchesPlainProductsAndPrunesEachSide() throws {
        let pair = PackedMultiplierPair(AcceleratorConfig.paper)
        XCTAssertEqual(pair.preAdderWidth, 25, "the DSP48E1 pre-adder / A port")
        XCTAssertEqual(pair.sharedWidth, 9, "fits the 18-bit B port")
        let sim = try Simulator(Design(top: pair.module()), backend: .verilator)
        var rng = PackingRandom(seed: 3)
        var cycles: [[String: Int]] = [], expected: [(Int, Int)] = []
        for i in 0 ..< 3000 {
            let weightShared = i % 2 == 0
            let extreme = i % 7 == 0
            let s = weightShared ? (extreme ? [-128, 127].randomElement(using: &rng)! : Int.random(in: -128 ... 127, using: &rng))
                                 : (extreme ? [-255, 255].randomElement(using: &rng)! : Int.random(in: -255 ... 255, using: &rng))
            func other() -> Int {
                weightShared ? (extreme ? [-255, 255].randomElement(using: &rng)! : Int.random(in: -255 ... 255, using: &rng))
                             : (extreme ? [-128, 127].randomElement(using: &rng)! : Int.random(in: -128 ... 127, using: &rng))
            }
            let o1 = other(), o2 = other()
            let en1 = i % 5 != 1, en2 = i % 5 != 2 && i % 11 != 0
            cycles.append(["ce": 1, "s": s, "o1": o1, "o2": o2, "en1": en1 ? 1 : 0, "en2": en2 ? 1 : 0])
            expected.append((en1 ? s * o1 : 0, en2 ? s * o2 : 0))
        }
        // With ce low the register holds: the last products stay on the outputs.
        cycles.append(["ce": 0, "s": 1, "o1": 1, "o2": 1])
        cycles.append(["ce": 0])
        let out = try sim.run(cycles)
        for (i, e) in expected.enumerated() {
            XCTAssertEqual(out[i + 1]["p1"], e.0, "cycle \(i) p1")
            XCTAssertEqual(out[i + 1]["p2"], e.1, "cycle \(i) p2")
        }
        XCTAssertEqual(out[expected.count + 1]["p1"], expected.last?.0, "held while ce is low")
    }

    func testPackingHalvesThePapersDSPs() throws {
        var c = AcceleratorConfig.paper
        c.dspPacking = true
        let engine = try ConvolutionEngine(c)
        XCTAssertEqual(engine.multipliers, 2304)
        XCTAssertLessThanOrEqual(engine.dsps, 1152)
    }
}

/// The project's one seeded generator, so failures reproduce from the seed in the message.
fileprivate typealias PackingRandom = SeededRandom
