import Foundation
import HDLKit
import XCTest

/// The library's generators at their edge parameters (one word, powers of two and one past,
/// 1-bit payloads, a counter of one) all emit Verilog that `verilator -Wall` and `iverilog` accept.
final class LibraryLintTests: XCTestCase {
    private func sweep() -> Module {
        var blocks: [Module] = []
        for depth in [1, 2, 3, 4, 16, 17, 64] {
            for payload in [HWType.bool, .sint(3)] {
                for fallThrough in [true, false] {
                    blocks.append(FIFO(depth: depth, payload: payload, firstWordFallThrough: fallThrough).module)
                    if depth >= 2 && depth <= 16 {
                        blocks.append(FIFO(depth: depth, payload: payload, firstWordFallThrough: fallThrough,
                                           storage: .memory(.distributed)).module)
                    }
                }
            }
        }
        blocks += [SkidBuffer(payload: .bool).module, SkidBuffer(payload: .sint(17)).module]
        for modulus in [1, 2, 7, 8] {
            blocks.append(Module("Counters_m\(modulus)") { m in
                let plain = m.counter("plain", modulus: modulus)
                let gated = m.counter("gated", modulus: modulus, enable: m.input("en", .bool), clear: m.input("clr", .bool))
                m.output("plain_value", plain.value)
                m.output("plain_wrap", plain.tick)
                m.output("gated_value", gated.value)
                m.output("gated_wrap", gated.tick)
            })
        }
        return Module("LibrarySweep") { m in
            for (i, block) in blocks.enumerated() {
                let u = m.instance(block, "u\(i)")
                for p in block.portList where p.isInput { u.port(p.name).assign(m.input("in\(i)_\(p.name)", p.type)) }
                for p in block.portList where !p.isInput { m.output("out\(i)_\(p.name)", u.port(p.name)) }
            }
        }
    }

    func testEveryLibraryBlockAtEdgeParametersIsLintClean() throws {
        let top = sweep()
        let dir = try scratchDirectory("library-lint")
        defer { try? FileManager.default.removeItem(at: dir) }
        let files = try Design(top: top).write(to: dir).map(\.path)
        XCTAssertGreaterThan(files.count, 40)
        let lint = try runTool("verilator", ["--lint-only", "-Wall", "--top-module", top.name] + files)
        XCTAssertEqual(lint.status, 0, lint.output)
        XCTAssertEqual(lint.output, "", "verilator -Wall has something to say")
        let icarus = try runTool("iverilog", ["-g2005", "-o", "/dev/null", "-s", top.name] + files)
        XCTAssertEqual(icarus.status, 0, icarus.output)
        XCTAssertEqual(icarus.output, "")
    }
}
