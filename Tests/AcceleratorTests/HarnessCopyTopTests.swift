import Accelerator
import Foundation
import HDLKit
import XCTest

/// AcceleratorTop (registers + control unit) around a copy-only execution unit, run by the
/// Verilator harness `sim/` on the copy programs of `sim/test/make_case.cpp` under back-pressure and
/// narrow bandwidth. The expected bytes are computed by make_case from the copy-pass semantics of
/// docs/control.md (including fill beats for a region that overhangs the image), so this checks the
/// control unit's fetch, clipping, fill merging, commands and AXI4-Lite handshakes end to end, and
/// the harness against a top it did not write.
final class HarnessCopyTopTests: XCTestCase {
    private static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    func testCopyProgramsRunBitExactUnderTheHarness() throws {
        guard let compiler = Self.which("g++") else { throw XCTSkip("g++ is not installed: Verilator cannot build the harness") }
        var c = AcceleratorConfig()
        c.pc = 4; c.pf = 4; c.pd = 2; c.maxRowWidth = 32; c.outputBufferDepth = 64; c.streamBytes = 16
        let top = try AcceleratorTop(config: c, executionUnit: Self.copyExecutionUnit(streamBytes: c.streamBytes))
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("harness-copy-top-\(ProcessInfo.processInfo.processIdentifier)")
        try? FileManager.default.removeItem(at: work)
        defer { try? FileManager.default.removeItem(at: work) }
        let rtl = work.appendingPathComponent("rtl")
        try FileManager.default.createDirectory(at: rtl, withIntermediateDirectories: true)
        _ = try Design(top: top.module).write(to: rtl)
        let vtop = Self.root.appendingPathComponent("build/harness-copy-top")
        try Self.run(Self.root.appendingPathComponent("scripts/build-vtop.sh").path, [rtl.path, vtop.path])
        let makeCase = work.appendingPathComponent("make_case").path
        try Self.run(compiler, ["-std=c++17", "-O1", "-o", makeCase, Self.root.appendingPathComponent("sim/test/make_case.cpp").path])
        let folder = work.appendingPathComponent("case")
        try Self.run(makeCase, [folder.path, "--with-fill"])
        let binary = vtop.appendingPathComponent("Vtop").path
        for args in [[], ["--backpressure", "0.4", "--seed", "3", "--latency", "5"], ["--bandwidth", "3", "--backpressure", "0.2", "--seed", "8"]] {
            let out = try Self.run(binary, [folder.path] + args)
            XCTAssertTrue(out.contains("layer 9 (COPY_FRAME) matches"), "\(args): \(out)")
            XCTAssertTrue(out.contains("PASS:"), "\(args): \(out)")
        }
        // A corrupted expected layer must fail: the check above can.
        let bad = work.appendingPathComponent("bad")
        try Self.run(makeCase, [bad.path, "--corrupt-layer", "5"])
        XCTAssertThrowsError(try Self.run(binary, [bad.path]))
    }

    /// Copy passes only: each pixel beat becomes one output beat (bytes at and above out_chunk 0),
    /// through one output register that refills in the cycle it empties; pass_done follows the last
    /// accepted output beat.
    private static func copyExecutionUnit(streamBytes b: Int) -> Module {
        Module("CopyExecutionUnit_b\(b)") { m in
            let bools = ["op_copy", "first", "last", "load_params", "residual", "result_second", "stride2",
                         "pad_top", "pad_bottom", "pad_left", "pad_right", "keep", "replay", "residual_span"]
            for name in bools { m.discard(m.input(name, .bool)) }
            m.discard(m.input("mode", .uint(2)))
            for name in ["region_rows", "region_cols", "param_records", "weight_beats", "buffer_row0", "residual_stride"] { m.discard(m.input(name, .uint(16))) }
            let outRows = m.input("out_rows", .uint(16)), outCols = m.input("out_cols", .uint(16))
            let outChunk = m.input("out_chunk", .uint(8))
            for name in ["fill_value", "out_zp", "act_min", "act_max", "add_in1_shift", "add_in2_shift", "add_out_shift",
                         "add_out_offset", "add_min", "add_max"] { m.discard(m.input(name, .sint(8))) }
            for name in ["add_in1_offset", "add_in2_offset"] { m.discard(m.input(name, .sint(16))) }
            for name in ["add_in1_multiplier", "add_in2_multiplier", "add_out_multiplier"] { m.discard(m.input(name, .sint(32))) }
            for name in ["threshold", "residual_offset"] { m.discard(m.input(name, .uint(8))) }
            let passStart = m.input("pass_start", .bool)
            let inValid = m.input("in_valid", .bool)
            let inPhase = m.input("in_phase", .uint(2))
            let inBytes = m.inputs("in_byte", count: b, .sint(8))
            let outReady = m.input("out_ready", .bool)
            // Copies load no weights: the weight port is never ready.
            for name in ["wt_valid", "wt_set_last", "wt_wide", "weights_clear"] { m.discard(m.input(name, .bool)) }
            m.discard(m.input("wt_mode", .uint(2)))
            for i in 0..<b { m.discard(m.input("wt_byte_\(i)", .sint(8))) }
            m.output("wt_ready", Signal.false)

            let full = m.reg("full", .bool, reset: 0)
            let left = m.reg("left", .uint(32), reset: 0)
            let done = m.reg("done_q", .bool, reset: 0)
            let inReady = m.output("in_ready", !full || outReady)
            let take = m.wire("take", inValid && inReady)
            let give = m.wire("give", full && outReady)
            m.discard(inPhase)
            let held = (0..<b).map { m.reg("held_\($0)", .sint(8), reset: 0) }
            for i in 0..<b {
                m.when(take) { held[i].assign(mux(outChunk > i, inBytes[i], Signal.sint(0, width: 8))) }
            }
            m.when(take) { full.assign(1) }.elsewhen(give) { full.assign(0) }
            done.assign(0)
            m.when(passStart) { left.assign(outRows * outCols) }
                .elsewhen(give) {
                    left.assign(left &- 1)
                    m.when(left == 1) { done.assign(1) }
                }
            m.output("out_valid", full)
            m.outputs("out_byte", held)
            m.output("out_last", left == 1)
            m.output("pass_done", done)
            m.output("engine_beat", take)
            m.output("activity", Signal.uint(0, width: 48))
        }
    }

    private static func which(_ tool: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let path = "\(dir)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// Runs a tool; its output, or an error with the output when it exits non-zero.
    @discardableResult
    private static func run(_ tool: String, _ arguments: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = arguments
        p.currentDirectoryURL = root
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        if p.terminationStatus != 0 { throw ToolFailure(text: "\(tool) exited \(p.terminationStatus): \(text)") }
        return text
    }

    private struct ToolFailure: Error, CustomStringConvertible {
        let text: String
        var description: String { text }
    }
}
