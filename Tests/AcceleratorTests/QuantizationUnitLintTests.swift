import Accelerator
import Foundation
import HDLKit
import XCTest

/// The units at the paper's configuration (PV×PF = 144 requantized lanes, PC = 16 pooled channels
/// of 9 taps) and at a narrow data width, emitted and checked by the three tools the project
/// promises: verilator -Wall with no waivers, iverilog -g2005 and a Yosys read.
final class QuantizationUnitLintTests: XCTestCase {
    private func lint(_ module: Module) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quant-lint-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let files = try Design(top: module).write(to: dir).map(\.path)
        func run(_ tool: String, _ args: [String]) throws -> (Int32, String) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = [tool] + args
            let pipe = Pipe()
            p.standardOutput = pipe
            p.standardError = pipe
            try p.run()
            let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            return (p.terminationStatus, out)
        }
        let (vs, vout) = try run("verilator", ["--lint-only", "-Wall", "--top-module", module.name] + files)
        XCTAssertEqual(vs, 0, vout)
        XCTAssertFalse(vout.contains("%Warning"), vout)
        let (isx, iout) = try run("iverilog", ["-g2005", "-o", "/dev/null", "-s", module.name] + files)
        XCTAssertEqual(isx, 0, iout)
        let (ys, yout) = try run("yosys", ["-q", "-p", "read_verilog \(files.joined(separator: " ")); hierarchy -check -top \(module.name)"])
        XCTAssertEqual(ys, 0, yout)
    }

    func testPaperConfigurationIsLintClean() throws {
        try lint(QuantizationUnit(config: .paper).module)
        try lint(PoolingUnit(config: .paper).module)
    }

    func testNarrowDataWidthIsLintClean() throws {
        var c = AcceleratorConfig.paper
        c.dataWidth = 4
        c.pf = 8
        c.pd = 4
        try lint(QuantizationUnit(config: c, maxChannels: 100, tagWidth: 3).module)
        try lint(PoolingUnit(config: c, maxWindow: 9).module)
        try lint(QuantizationUnit(config: c, maxChannels: 64, residual: false).module)
    }
}
