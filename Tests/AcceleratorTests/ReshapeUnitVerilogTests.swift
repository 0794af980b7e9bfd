import Accelerator
import Foundation
import HDLKit
import XCTest

/// The reshape unit's Verilog at the paper's configuration (PC = 16, 224-pixel rows) and at small
/// ones: clean under `verilator --lint-only -Wall`, compiled by `iverilog -g2005`, read by Yosys.
final class ReshapeUnitVerilogTests: XCTestCase {
    func testVerilogIsLintCleanAndPortable() throws {
        var small = AcceleratorConfig()
        small.pc = 1
        small.maxRowWidth = 3
        small.dataWidth = 2
        for (config, maxHeight) in [(AcceleratorConfig.paper, 4096), (small, 1)] {
            let unit = try ReshapeUnit(config: config, maxHeight: maxHeight)
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("reshape-verilog-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: dir) }
            let files = try Design(top: unit.module()).write(to: dir).map(\.path)
            XCTAssertEqual(files.count, 3, "ReshapeUnit, LineBuffer, MatrixBuffer")
            try reshapeTool("verilator", ["--lint-only", "-Wall", "--top-module", unit.name] + files, in: dir)
            try reshapeTool("iverilog", ["-g2005", "-o", dir.appendingPathComponent("a.vvp").path] + files, in: dir)
            try reshapeTool("yosys", ["-q", "-p", "read_verilog \(files.joined(separator: " ")); hierarchy -check -top \(unit.name)"], in: dir)
        }
    }
}

private func reshapeTool(_ tool: String, _ args: [String], in dir: URL) throws {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = [tool] + args
    p.currentDirectoryURL = dir
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    try p.run()
    let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    XCTAssertEqual(p.terminationStatus, 0, "\(tool): \(out.suffix(3000))")
    XCTAssertFalse(out.contains("%Warning"), "\(tool): \(out.suffix(3000))")
}
