import HDLKit
import XCTest

/// Registers (reset value, enable, no reset), a second clock domain, `when`/`elsewhen`/`otherwise`
/// chains with defaults and last-assignment-wins, and `switch`, in one module.
enum ControlZoo {
    static let inputs: [(String, HWType)] = [
        ("en", .bool), ("clr", .bool), ("c1", .bool), ("c2", .bool), ("x", .uint(8)), ("y", .uint(8)), ("op", .uint(2)),
    ]

    static func build() -> Module {
        Module("ControlZoo") { m in
            let en = m.input("en", .bool), clr = m.input("clr", .bool)
            let c1 = m.input("c1", .bool), c2 = m.input("c2", .bool)
            let x = m.input("x", .uint(8)), y = m.input("y", .uint(8)), op = m.input("op", .uint(2))

            // An accumulator with reset value and enable; clear is inside the enable.
            let acc = m.reg("acc", .uint(12), reset: 5, enable: en)
            acc.assign(acc &+ x)
            m.when(clr) { acc.assign(0) }
            m.output("acc_out", acc)

            // A signed counter with an odd reset value, stepped by a when/elsewhen chain.
            let cnt = m.reg("cnt", .sint(6), reset: -7)
            m.when(c1) { cnt.assign(cnt &+ 1) }.elsewhen(c2) { cnt.assign(cnt &- 3) }
            m.output("cnt_out", cnt)

            // A pipeline register without reset.
            m.output("prod_out", m.reg("prod", next: x * y))

            // A register that keeps its value unless a branch assigns it.
            let hold = m.reg("hold", .uint(8), reset: 0, enable: en)
            m.when(c2) { hold.assign(y) }
            m.output("hold_out", hold)

            // A state machine written with switch.
            let state = m.reg("state", .uint(2), reset: 0)
            m.switch(state) { s in
                s.is(0) { m.when(c1) { state.assign(1) } }
                s.is(1) { state.assign(2) }
                s.is(2) { m.when(c2) { state.assign(0) }.otherwise { state.assign(3) } }
                s.default { state.assign(0) }
            }
            m.output("state_out", state)

            // A register in a second clock domain.
            let b = m.clockDomain("clk_b")
            let ticks = m.reg("ticks_b", .uint(5), reset: 3, domain: b)
            m.when(en) { ticks.assign(ticks &+ 1) }
            m.output("ticks_out", ticks)

            // A combinational output: default, a chain, and a later override (last assignment wins).
            let w = m.output("w", .uint(8))
            w.assign(0)
            m.when(c1) { w.assign(x) }.elsewhen(c2) { w.assign(y) }.otherwise {
                m.when(op == 1) { w.assign(x &+ y) }
            }
            m.when(x == y) { w.assign(255) }

            // switch with a default on a combinational output.
            let sw = m.output("sw", .uint(9))
            m.switch(op) { s in
                s.is(0) { sw.assign(x + y) }
                s.is(1) { sw.assign(x) }
                s.is(2) { sw.assign(x ^ y) }
                s.default { sw.assign(0x1ff) }
            }
        }
    }

    /// The same behaviour in plain Swift: outputs before each clock edge, then the registers update.
    struct Model {
        var acc = 5, cnt = -7, prod = 0, hold = 0, state = 0, ticks = 3

        mutating func step(_ i: [String: Int]) -> [String: Int?] {
            let (en, clr, c1, c2) = (i["en"]! == 1, i["clr"]! == 1, i["c1"]! == 1, i["c2"]! == 1)
            let (x, y, op) = (i["x"]!, i["y"]!, i["op"]!)
            var w = 0
            if c1 { w = x } else if c2 { w = y } else if op == 1 { w = (x + y) & 255 }
            if x == y { w = 255 }
            let sw = [x + y, x, x ^ y, 0x1ff][op]
            let out: [String: Int?] = ["acc_out": acc, "cnt_out": cnt, "prod_out": prod, "hold_out": hold, "state_out": state,
                                       "ticks_out": ticks, "w": w, "sw": sw]
            if en { acc = clr ? 0 : (acc + x) & 0xfff }
            if c1 { cnt = wrapped(cnt + 1, .sint(6)) } else if c2 { cnt = wrapped(cnt - 3, .sint(6)) }
            prod = x * y
            if en && c2 { hold = y }
            switch state {
            case 0: if c1 { state = 1 }
            case 1: state = 2
            case 2: state = c2 ? 0 : 3
            default: state = 0
            }
            if en { ticks = (ticks + 1) & 31 }
            return out
        }
    }

    static func stimulus(cycles: Int, seed: UInt64) -> [[String: Int]] {
        var rng = SplitMix64(seed: seed)
        return (0..<cycles).map { _ in
            var s = Dictionary(uniqueKeysWithValues: inputs.map { ($0.0, rng.value($0.1)) })
            s["clr"] = rng.chance(0.1) ? 1 : 0
            if rng.chance(0.2) { s["y"] = s["x"] }  // exercise the x == y override
            return s
        }
    }
}

final class ControlTests: XCTestCase {
    func testRegistersWhenChainsAndSwitchMatchTheModelInVerilatorAndIcarus() throws {
        let design = Design(top: ControlZoo.build())
        let stimulus = ControlZoo.stimulus(cycles: 500, seed: 11)
        var model = ControlZoo.Model()
        let expected = stimulus.map { model.step($0) }
        for backend in [Simulator.Backend.verilator, .icarus] {
            let sim = try Simulator(design, backend: backend)
            assertCycles(try sim.run(stimulus), expected, stimulus: stimulus, "ControlZoo on \(backend)")
        }
    }

    func testASecondClockDomainGetsItsOwnClockAndResetPorts() throws {
        let text = try Design(top: ControlZoo.build()).verilog().first { $0.fileName == "ControlZoo.v" }!.text
        XCTAssertTrue(text.contains("input wire clk_b,"))
        XCTAssertTrue(text.contains("input wire clk_b_rst,"))
        XCTAssertTrue(text.contains("always @(posedge clk_b)"))
    }
}
