import HDLKit
import XCTest

/// Hierarchy: generator parameters as Swift values (the module name follows them), stream bundles
/// connected through instances in one statement, vectors of ports, and one child definition used
/// by two instances.
enum HierarchyZoo {
    /// Adds `k` to a stream's payload; ready passes straight back (a combinational child).
    static func offset(k: Int, width: Int) -> Module {
        Module("Offset_k\(k)_w\(width)") { m in
            let s = m.input("s", .stream(.uint(width)))
            let out = m.output("m", .stream(.uint(width + 1)))
            out.valid.assign(s.valid)
            out.payload.assign(s.payload + k)
            s.ready.assign(out.ready)
        }
    }

    /// Sums a vector of `n` inputs.
    static func sum(n: Int, width: Int) -> Module {
        Module("Sum_n\(n)_w\(width)") { m in
            let v = m.inputs("v", count: n, .uint(width))
            m.output("sum", v.dropFirst().reduce(v[0]) { $0 + $1 })
        }
    }

    static func build() -> Module {
        let sum3 = sum(n: 3, width: 4)
        return Module("HierarchyTop") { m in
            let up = m.input("up", .stream(.uint(8)))
            let down = m.output("down", .stream(.uint(10)))
            let stage0 = m.instance(offset(k: 3, width: 8), "stage0")
            let stage1 = m.instance(offset(k: 5, width: 9), "stage1")
            m.connect(stage0.bundle("s", .stream(.uint(8))), up)
            m.connect(stage1.bundle("s", .stream(.uint(9))), stage0.bundle("m", .stream(.uint(9))))
            m.connect(down, stage1.bundle("m", .stream(.uint(10))))
            m.output("fired", m.wire("down_fire", down.fire))

            let v = m.inputs("v", count: 3, .uint(4))
            let forward = m.instance(sum3, "sum_fwd")
            let backward = m.instance(sum3, "sum_bwd")
            for i in 0..<3 {
                forward.port("v_\(i)").assign(v[i])
                backward.port("v_\(i)").assign(v[2 - i])
            }
            m.output("total", forward.sum)
            m.output("total_q", m.reg("total_r", next: backward.sum, reset: 0))
            // A second, separately built but identical definition shares the name: allowed.
            let again = m.instance(sum(n: 3, width: 4), "sum_again")
            m.wires("w", v).enumerated().forEach { again.port("v_\($0.offset)").assign($0.element) }
            m.outputs("lane", [again.sum, forward.sum])
        }
    }
}

final class HierarchyTests: XCTestCase {
    func testStreamsThroughTwoGeneratedChildrenAndASharedDefinitionMatchTheModel() throws {
        let design = Design(top: HierarchyZoo.build())
        var rng = SplitMix64(seed: 5)
        let stimulus: [[String: Int]] = (0..<300).map { _ in
            ["up_valid": rng.value(.bool), "up_payload": rng.value(.uint(8)), "down_ready": rng.value(.bool),
             "v_0": rng.value(.uint(4)), "v_1": rng.value(.uint(4)), "v_2": rng.value(.uint(4))]
        }
        var totalQ = 0
        let expected: [[String: Int?]] = stimulus.map { s in
            let total = s["v_0"]! + s["v_1"]! + s["v_2"]!
            defer { totalQ = total }
            return ["down_valid": s["up_valid"]!, "down_payload": s["up_payload"]! + 8, "up_ready": s["down_ready"]!,
                    "fired": s["up_valid"]! & s["down_ready"]!, "total": total, "total_q": totalQ, "lane_0": total, "lane_1": total]
        }
        for backend in [Simulator.Backend.verilator, .icarus] {
            let sim = try Simulator(design, backend: backend)
            assertCycles(try sim.run(stimulus), expected, stimulus: stimulus, "HierarchyTop on \(backend)")
        }
    }

    func testEachDefinitionIsOneFileNamedAfterItsParameters() throws {
        let names = try Design(top: HierarchyZoo.build()).verilog().map(\.fileName)
        XCTAssertEqual(names, ["Offset_k3_w8.v", "Offset_k5_w9.v", "Sum_n3_w4.v", "HierarchyTop.v"])
    }

    func testBundlePortsAreNamedAfterTheirFields() throws {
        let top = try Design(top: HierarchyZoo.build()).verilog().last!.text
        for port in ["input wire up_valid", "output wire up_ready", "input wire [7:0] up_payload", "output wire [9:0] down_payload",
                     "input wire down_ready", "input wire [3:0] v_2", "output wire [5:0] lane_1"] {
            XCTAssertTrue(top.contains(port), "missing \(port)")
        }
    }
}
