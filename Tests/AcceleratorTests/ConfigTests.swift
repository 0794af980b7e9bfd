import Accelerator
import Foundation
import XCTest

/// The one configuration: the paper's defaults, and every rule broken with its own one-line message.
final class ConfigTests: XCTestCase {
    func testDefaultsAreThePapers() throws {
        let c = AcceleratorConfig.paper
        XCTAssertEqual([c.pk, c.pv, c.pc, c.pf, c.pd], [9, 9, 16, 16, 6])
        XCTAssertEqual([c.dataWidth, c.weightWidth, c.accumulatorWidth], [8, 8, 32])
        XCTAssertEqual(c.multipliers, 2304)
        XCTAssertNoThrow(try c.validate())
    }

    func testEachBrokenRuleNamesTheKnob() {
        func message(_ change: (inout AcceleratorConfig) -> Void) -> String {
            var c = AcceleratorConfig()
            change(&c)
            do { try c.validate(); return "valid" } catch { return "\(error)" }
        }
        XCTAssertEqual(message { $0.pc = 0 }, "--pc 0: must be at least 1")
        XCTAssertEqual(message { $0.pk = 4 }.prefix(10), "--pk 4: th")
        XCTAssertEqual(message { $0.pv = 8 }, "--pv 8: pointwise convolution uses PV pixels on the PK tap lanes, so PV must equal PK (9)")
        XCTAssertEqual(message { $0.pd = 17 }, "--pd 17: depthwise windows run on filter lanes, so PD must not exceed PF (16)")
        XCTAssertEqual(message { $0.pf = 65 }, "--pf 65: at most 64 filters in parallel")
        XCTAssertEqual(message { $0.accumulatorWidth = 24 }.prefix(17), "--acc-width 24: m")
        XCTAssertEqual(message { $0.weightBufferDepth = 0 }, "--weight-buffer-depth 0: must be 1 to 4194304 words")
        XCTAssertEqual(message { $0.clockMHz = 0 }, "--clock-mhz 0.0: must be in (0, 1000]")
    }

    func testConfigJSONRoundTrips() throws {
        var c = AcceleratorConfig()
        c.pc = 8; c.pd = 3; c.dspPacking = true
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("config-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try c.json().write(to: url, atomically: true, encoding: .utf8)
        XCTAssertEqual(try AcceleratorConfig.load(from: url), c)
    }

    /// A config.json edited into a configuration elaborate would refuse is refused on load, naming
    /// the file and the broken rule.
    func testALoadedConfigIsCheckedAndTheErrorNamesTheFile() throws {
        var c = AcceleratorConfig()
        c.pd = 17
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("config-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try c.json().write(to: url, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try AcceleratorConfig.load(from: url)) { error in
            XCTAssertEqual((error as? AcceleratorConfig.Invalid)?.description,
                           "\(url.path) holds a configuration elaborate refuses: --pd 17: depthwise windows run on filter lanes, so PD must not exceed PF (16)")
        }
    }

    /// A folded pass's beat carries as many PC-channel slices as fit it, at most the 9 taps.
    func testFoldTapsAreTheSlicesABeatHoldsUpToNineTaps() {
        for (pc, bytes, taps) in [(16, 16, 1), (16, 32, 2), (16, 64, 4), (16, 128, 8), (4, 16, 4), (4, 32, 8), (4, 64, 9), (8, 16, 2), (3, 32, 9)] {
            var c = AcceleratorConfig(); c.pc = pc; c.streamBytes = bytes
            XCTAssertEqual(c.foldTaps, taps, "PC=\(pc), B=\(bytes)")
        }
    }

    func testBufferBitsCountEveryBuffer() {
        var c = AcceleratorConfig()
        c.inputBufferDepth = 10; c.weightBufferDepth = 2; c.outputBufferDepth = 3
        XCTAssertEqual(c.bufferBits, 10 * 16 * 8 + 2 * 9 * 16 * 16 * 8 + 3 * 16 * 32)
    }
}
