import Accelerator
import Foundation
import HDLKit
import XCTest

/// What `elaborate` writes for the paper's configuration: every unit elaborates, the Verilog is
/// clean under `verilator --lint-only -Wall`, and the summary reports the figures the issue asks for.
final class ElaborateTests: XCTestCase {
    func testDefaultConfigurationElaboratesLintCleanAndSummarises() throws {
        let units = try Datapath.units(.paper)
        XCTAssertTrue(units.map(\.name).contains("ConvolutionEngine_k9_c16_f16_d6_x8_w8_a32"))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("elaborate-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var paths: [String] = []
        for u in units { paths += try Design(top: u).write(to: dir).map(\.path) }
        for u in units {
            let (status, log) = try run("verilator", ["--lint-only", "-Wall", "--top-module", u.name] + Array(Set(paths)).sorted())
            XCTAssertEqual(status, 0, log)
            XCTAssertFalse(log.contains("%Warning"), log)
        }
        let summary = try Datapath.summary(.paper)
        XCTAssertTrue(summary.hasPrefix("2304 multipliers"), summary)
        XCTAssertTrue(summary.contains("adder-tree depth 8"), summary)
        XCTAssertTrue(summary.contains("buffer bits \(AcceleratorConfig.paper.bufferBits)"), summary)
    }

    func testPackedDefaultConfigurationElaborates() throws {
        var c = AcceleratorConfig.paper
        c.dspPacking = true
        let names = try Design(top: ConvolutionEngine(c).module()).verilog().map(\.fileName)
        XCTAssertTrue(names.contains { $0.hasPrefix("PackedMultiplierPair") }, "\(names)")
        XCTAssertTrue(try Datapath.summary(c).contains("1152 DSPs packed"))
    }

    func testInvalidKnobIsOneClearError() {
        var c = AcceleratorConfig.paper
        c.pc = 0
        XCTAssertThrowsError(try Datapath.units(c)) { XCTAssertEqual("\($0)", "--pc 0: must be at least 1") }
    }

    private func run(_ tool: String, _ args: [String]) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [tool] + args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
