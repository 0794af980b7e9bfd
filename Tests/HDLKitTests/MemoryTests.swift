import HDLKit
import XCTest

/// A simple dual-port RAM written inside a `when`, a true dual-port RAM, and a ROM, each with
/// synchronous (registered) reads that return the old word on a read during write.
enum MemoryZoo {
    static let romContents = [-512, 511, 0, -1, 17, -300, 299, 1, -2, 100, -100, 64, -64]

    static func build() -> Module {
        Module("MemoryZoo") { m in
            let we = m.input("we", .bool), waddr = m.input("waddr", .uint(4)), wdata = m.input("wdata", .sint(7))
            let re = m.input("re", .bool), raddr = m.input("raddr", .uint(4))
            let sdp = m.memory("sdp", depth: 16, .sint(7), style: .block)
            m.when(we) { sdp.write(waddr, wdata) }
            m.output("sdp_out", sdp.read(raddr, enable: re, name: "sdp_q"))

            let tdp = m.memory("tdp", depth: 8, .uint(5))
            for port in ["a", "b"] {
                let addr = m.input("addr_\(port)", .uint(3)), data = m.input("data_\(port)", .uint(5))
                tdp.write(addr, data, enable: m.input("we_\(port)", .bool))
                m.output("tdp_out_\(port)", tdp.read(addr, name: "tdp_q\(port)"))
            }

            let rom = m.rom("coef", .sint(10), contents: romContents, style: .distributed)
            m.output("rom_out", rom.read(m.input("rom_addr", .uint(4)), name: "coef_q"))
        }
    }

    /// Reads see the memory as it was before this cycle's writes; nil marks words never written.
    struct Model {
        var sdp = [Int?](repeating: nil, count: 16)
        var tdp = [Int?](repeating: nil, count: 8)
        var sdpQ: Int?, qa: Int?, qb: Int?, romQ: Int?

        mutating func step(_ i: [String: Int]) -> [String: Int?] {
            let out: [String: Int?] = ["sdp_out": sdpQ, "tdp_out_a": qa, "tdp_out_b": qb, "rom_out": romQ]
            if i["re"]! == 1 { sdpQ = sdp[i["raddr"]!] }
            qa = tdp[i["addr_a"]!]
            qb = tdp[i["addr_b"]!]
            romQ = romContents[i["rom_addr"]!]
            if i["we"]! == 1 { sdp[i["waddr"]!] = i["wdata"]! }
            if i["we_a"]! == 1 { tdp[i["addr_a"]!] = i["data_a"]! }
            if i["we_b"]! == 1 { tdp[i["addr_b"]!] = i["data_b"]! }
            return out
        }
    }

    static func stimulus(cycles: Int, seed: UInt64) -> [[String: Int]] {
        var rng = SplitMix64(seed: seed)
        return (0..<cycles).map { _ in
            var s: [String: Int] = [
                "we": rng.chance(0.5) ? 1 : 0, "waddr": rng.value(.uint(4)), "wdata": rng.value(.sint(7)),
                "re": rng.chance(0.7) ? 1 : 0, "raddr": rng.value(.uint(4)),
                "addr_a": rng.value(.uint(3)), "data_a": rng.value(.uint(5)), "we_a": rng.chance(0.4) ? 1 : 0,
                "addr_b": rng.value(.uint(3)), "data_b": rng.value(.uint(5)), "we_b": rng.chance(0.4) ? 1 : 0,
                "rom_addr": Int(rng.next() % UInt64(romContents.count)),
            ]
            // Read during write of the same word, often.
            if rng.chance(0.3) { s["raddr"] = s["waddr"] }
            if rng.chance(0.3) { s["addr_b"] = s["addr_a"] }
            // Two ports writing one word in the same cycle is undefined in block RAM: never do it.
            if s["addr_a"] == s["addr_b"] && s["we_a"] == 1 { s["we_b"] = 0 }
            return s
        }
    }
}

final class MemoryTests: XCTestCase {
    func testRamsAndRomReadSynchronouslyAndReadOldDataDuringWrite() throws {
        let stimulus = MemoryZoo.stimulus(cycles: 600, seed: 3)
        var model = MemoryZoo.Model()
        let expected = stimulus.map { model.step($0) }
        // The model must see real read-during-write collisions for this test to mean anything.
        let collisions = stimulus.filter { $0["we"] == 1 && $0["re"] == 1 && $0["raddr"] == $0["waddr"] }.count
        XCTAssertGreaterThan(collisions, 20)
        let sim = try Simulator(Design(top: MemoryZoo.build()), backend: .verilator)
        assertCycles(try sim.run(stimulus), expected, stimulus: stimulus, "MemoryZoo")
    }

    func testMemoriesCarryTheirStyleAttributeAndRomContents() throws {
        let text = try Design(top: MemoryZoo.build()).verilog()[0].text
        XCTAssertTrue(text.contains("(* ram_style = \"block\" *)\n    reg signed [6:0] sdp [0:15];"))
        XCTAssertTrue(text.contains("(* rom_style = \"distributed\" *)\n    reg signed [9:0] coef [0:12];"))
        XCTAssertTrue(text.contains("coef[0] = 10'h200;"))
    }

    /// Enables that are expressions, not named signals, become wires declared before the port's
    /// always block (an `assign` inside one is not Verilog): this simulates under Verilator and
    /// reads and writes only when both halves of the condition hold.
    func testMemoryPortsWithCompoundEnables() throws {
        let top = Module("CompoundEnables") { m in
            let a = m.input("a", .bool), b = m.input("b", .bool), c = m.input("c", .bool)
            let addr = m.input("addr", .uint(3)), data = m.input("data", .uint(6))
            let mem = m.memory("store", depth: 8, .uint(6))
            mem.write(addr, data, enable: a && b)
            m.output("q", mem.read(addr &+ 1, enable: b || c, name: "store_q"))
        }
        var rng = SplitMix64(seed: 11)
        let stimulus = (0 ..< 300).map { _ in
            ["a": rng.chance(0.5) ? 1 : 0, "b": rng.chance(0.5) ? 1 : 0, "c": rng.chance(0.3) ? 1 : 0,
             "addr": rng.value(.uint(3)), "data": rng.value(.uint(6))]
        }
        var words = [Int?](repeating: nil, count: 8), q: Int? = nil
        let expected: [[String: Int?]] = stimulus.map { i in
            let out: [String: Int?] = ["q": q]
            if i["b"]! == 1 || i["c"]! == 1 { q = words[(i["addr"]! + 1) % 8] }
            if i["a"]! == 1 && i["b"]! == 1 { words[i["addr"]!] = i["data"]! }
            return out
        }
        let sim = try Simulator(Design(top: top), backend: .verilator)
        assertCycles(try sim.run(stimulus), expected, stimulus: stimulus, "CompoundEnables")
    }
}
