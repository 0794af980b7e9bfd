import Accelerator
import Foundation
import HDLKit
import XCTest

/// The FPGA flow `make synth` runs (scripts/synth-xilinx.sh: Yosys synth_xilinx for 7-series) maps
/// each int8×int8 product to one DSP48E1 and each memory marked block RAM to RAMB18E1/RAMB36E1,
/// and the Vivado script (not installed here) at least parses and runs under stubbed commands.
final class SynthesisTests: XCTestCase {
    /// A probe with a hand-counted amount of hardware: `products` registered int8×int8 products,
    /// one 1024×8 memory asking for block RAM and one 64×8 memory asking for LUT-RAM.
    private func probe(products: Int) -> Module {
        Module("SynthesisProbe_p\(products)") { m in
            let we = m.input("we", .bool)
            let waddr = m.input("waddr", .uint(10))
            let raddr = m.input("raddr", .uint(10))
            let wdata = m.input("wdata", .sint(8))
            for i in 0..<products {
                let a = m.input("a_\(i)", .sint(8))
                let b = m.input("b_\(i)", .sint(8))
                let p = m.reg("prod_\(i)", next: a * b)
                _ = m.output("p_\(i)", p)
            }
            let block = m.memory("wbuf", depth: 1024, .sint(8), style: .block)
            block.write(waddr, wdata, enable: we)
            _ = m.output("q_block", block.read(raddr, name: "wbuf_q"))
            let lut = m.memory("lbuf", depth: 64, .sint(8), style: .distributed)
            lut.write(waddr.bits(5, 0), wdata, enable: we)
            _ = m.output("q_lut", lut.read(raddr.bits(5, 0), name: "lbuf_q"))
        }
    }

    func testEveryProductIsOneDSP48E1AndBlockRAMStaysInBlockRAM() throws {
        let report = try synthesize(Design(top: probe(products: 5)), top: "SynthesisProbe_p5")
        XCTAssertEqual(report["dsp"], 5, "5 int8×int8 products are 5 DSP48E1")
        XCTAssertEqual(report["lut"], 0, "a product registered in the DSP needs no LUT")
        XCTAssertEqual(report["ramb18"], 1, "1024×8 bits fit one RAMB18E1")
        XCTAssertEqual(report["ramb36"], 0)
        XCTAssertEqual(report["block_memories"], 1, "only wbuf asks for block RAM")
        XCTAssertEqual(report["block_memories_in_lutram"], 0)
        // The LUT-RAM counter sees the memory that asked for it (64×8: one RAM64M per 3 bits),
        // so zero misplaced block memories above is a measurement, not a blind spot.
        XCTAssertEqual(report["lutram"], 3)
    }

    /// The smallest engine with a pair of filter lanes: PK×PC×PF = 9×1×2 = 18 int8 products.
    private func smallEngine(packed: Bool) throws -> ConvolutionEngine {
        var c = AcceleratorConfig()
        c.pc = 1
        c.pf = 2
        c.pd = 1
        c.dspPacking = packed
        return try ConvolutionEngine(c)
    }

    func testConvolutionEngineNeedsOneDSP48E1PerProduct() throws {
        let engine = try smallEngine(packed: false)
        let report = try synthesize(Design(top: engine.module()), top: engine.name)
        XCTAssertEqual(report["dsp"], 9 * 1 * 2, "PK×PC×PF products, one DSP48E1 each")
        XCTAssertEqual(report["block_memories_in_lutram"], 0)
    }

    func testPackedConvolutionEngineNeedsOneDSP48E1PerPairOfProducts() throws {
        let engine = try smallEngine(packed: true)
        let design = Design(top: engine.module())
        // Yosys fits a product in one DSP48E1 only if it sees a signed multiply; an unsigned multiply
        // of operands sign-extended by hand to 34 bits takes 3. Until HDLKit emits `$signed(a) *
        // $signed(b)` for signed operands (Verilog/ModuleEmitter.swift, `.mul`), say so and skip.
        let unsignedProducts = try design.verilog().flatMap { $0.text.split(separator: "\n") }
            .filter { $0.contains(" * ") && !$0.contains("$signed(") }
        if let line = unsignedProducts.first {
            throw XCTSkip("HDLKit emits a signed product as an unsigned multiply (\(line.trimmingCharacters(in: .whitespaces))), "
                + "which Yosys maps to 3 DSP48E1 per packed pair; packed DSP count not checked until the emitter writes $signed(a) * $signed(b)")
        }
        let report = try synthesize(design, top: engine.name)
        XCTAssertEqual(report["dsp"], 9 * 1 * 2 / 2, "18 products packed two per DSP48E1 (a 25×9 signed product fits its 25×18 multiplier)")
    }

    func testVivadoScriptParsesAndRunsUnderStubs() throws {
        guard let tclsh = Self.which("tclsh") else { throw XCTSkip("tclsh is not installed (make tools installs it); Vivado script not checked") }
        let (status, output) = try Self.run(tclsh, [Self.root.appendingPathComponent("scripts/vivado-check.tcl").path])
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("vivado-check: ok"), output)
        for board in ["pynq-z2", "zcu102", "vc709"] {
            XCTAssertTrue(output.contains("runs for \(board)"), "the check must cover \(board):\n\(output)")
        }
    }

    // MARK: - Running the flow

    private static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Writes the design and runs scripts/synth-xilinx.sh on it; returns report.txt's numbers.
    private func synthesize(_ design: Design, top: String) throws -> [String: Int] {
        guard Self.which("yosys") != nil else { throw XCTSkip("yosys is not installed (make tools installs it); synthesis not checked") }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("synthesis-tests-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        let rtl = work.appendingPathComponent("rtl")
        try FileManager.default.createDirectory(at: rtl, withIntermediateDirectories: true)
        _ = try design.write(to: rtl)
        try (top + "\n").write(to: rtl.appendingPathComponent("TOPS"), atomically: true, encoding: .utf8)
        let out = work.appendingPathComponent("synth")
        let script = Self.root.appendingPathComponent("scripts/synth-xilinx.sh").path
        let (status, output) = try Self.run("/bin/bash", [script, rtl.path, out.path])
        XCTAssertEqual(status, 0, "synth-xilinx.sh failed:\n\(output)")
        let text = try String(contentsOf: out.appendingPathComponent(top).appendingPathComponent("report.txt"), encoding: .utf8)
        var report: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            let kv = line.split(separator: "=", maxSplits: 1).map(String.init)
            if kv.count == 2, let v = Int(kv[1]) { report[kv[0]] = v }
        }
        return report
    }

    private static func which(_ tool: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    private static func run(_ executable: String, _ arguments: [String]) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        p.currentDirectoryURL = root
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
