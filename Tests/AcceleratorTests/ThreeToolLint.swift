import Foundation
import HDLKit
import XCTest

/// The three tools the project promises its Verilog passes: `verilator --lint-only -Wall` with no
/// warning (and no waiver), `iverilog -g2005`, and a Yosys read with `hierarchy -check`.
func assertThreeToolLintClean(_ module: Module, file: StaticString = #filePath, line: UInt = #line) throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lint-\(module.name)-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    let files = try Design(top: module).write(to: dir).map(\.path)
    let (vs, vout) = try runTool("verilator", ["--lint-only", "-Wall", "--top-module", module.name] + files)
    XCTAssertEqual(vs, 0, vout, file: file, line: line)
    XCTAssertFalse(vout.contains("%Warning"), vout, file: file, line: line)
    let (isx, iout) = try runTool("iverilog", ["-g2005", "-o", "/dev/null", "-s", module.name] + files)
    XCTAssertEqual(isx, 0, iout, file: file, line: line)
    let (ys, yout) = try runTool("yosys", ["-q", "-p", "read_verilog \(files.joined(separator: " ")); hierarchy -check -top \(module.name)"])
    XCTAssertEqual(ys, 0, yout, file: file, line: line)
}

/// Runs a tool found on PATH; returns its exit status and its stdout and stderr together.
func runTool(_ tool: String, _ args: [String]) throws -> (Int32, String) {
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
