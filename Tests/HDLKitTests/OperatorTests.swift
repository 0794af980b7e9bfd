import HDLKit
import XCTest

/// The operand values of one cycle, as plain integers.
struct OperatorOperands {
    var a = 0, b = 0, c = 0, d = 0, sh = 0, sel = 0, f = 0, g = 0
}

/// One operator under test: the hardware expression, the width inference expects, and the same
/// function computed in Swift integers.
struct OperatorCase {
    let name: String
    let type: HWType
    let hardware: ([String: Signal]) -> Signal
    let model: (OperatorOperands) -> Int
}

/// Every operator at odd widths, side by side in one module so one simulator build checks them all.
enum OperatorZoo {
    static let inputs: [(String, HWType)] = [
        ("a", .sint(7)), ("b", .sint(5)), ("c", .uint(9)), ("d", .uint(6)),
        ("sh", .uint(3)), ("sel", .uint(2)), ("f", .bool), ("g", .bool),
    ]

    static var cases: [OperatorCase] { [
        // Arithmetic widens so nothing overflows; the &-forms wrap.
        OperatorCase(name: "s_add", type: .sint(8), hardware: { $0["a"]! + $0["b"]! }, model: { $0.a + $0.b }),
        OperatorCase(name: "s_sub", type: .sint(8), hardware: { $0["a"]! - $0["b"]! }, model: { $0.a - $0.b }),
        OperatorCase(name: "s_mul", type: .sint(12), hardware: { $0["a"]! * $0["b"]! }, model: { $0.a * $0.b }),
        OperatorCase(name: "s_neg", type: .sint(8), hardware: { -$0["a"]! }, model: { -$0.a }),
        OperatorCase(name: "s_wadd", type: .sint(7), hardware: { $0["a"]! &+ $0["b"]! }, model: { wrapped($0.a + $0.b, .sint(7)) }),
        OperatorCase(name: "s_wsub", type: .sint(7), hardware: { $0["a"]! &- $0["b"]! }, model: { wrapped($0.a - $0.b, .sint(7)) }),
        OperatorCase(name: "u_add", type: .uint(10), hardware: { $0["c"]! + $0["d"]! }, model: { $0.c + $0.d }),
        OperatorCase(name: "u_sub", type: .sint(10), hardware: { $0["c"]! - $0["d"]! }, model: { $0.c - $0.d }),
        OperatorCase(name: "u_mul", type: .uint(15), hardware: { $0["c"]! * $0["d"]! }, model: { $0.c * $0.d }),
        OperatorCase(name: "u_wadd", type: .uint(9), hardware: { $0["c"]! &+ $0["d"]! }, model: { wrapped($0.c + $0.d, .uint(9)) }),
        OperatorCase(name: "u_wsub", type: .uint(9), hardware: { $0["c"]! &- $0["d"]! }, model: { wrapped($0.c - $0.d, .uint(9)) }),
        OperatorCase(name: "u_neg", type: .sint(10), hardware: { -$0["c"]! }, model: { -$0.c }),
        OperatorCase(name: "s_mul_lit", type: .sint(10), hardware: { $0["a"]! * -3 }, model: { $0.a * -3 }),
        OperatorCase(name: "u_add_lit", type: .uint(10), hardware: { $0["c"]! + 100 }, model: { $0.c + 100 }),
        OperatorCase(name: "s_lit_add", type: .sint(8), hardware: { $0["a"]! + Signal.sint(-17, width: 6) }, model: { $0.a - 17 }),
        OperatorCase(name: "s_mac", type: .sint(13), hardware: { $0["a"]! * $0["b"]! + $0["d"]!.toSigned }, model: { $0.a * $0.b + $0.d }),
        OperatorCase(name: "s_mul_ext", type: .sint(14), hardware: { $0["a"]!.extend(to: 9) * $0["b"]! }, model: { $0.a * $0.b }),
        OperatorCase(name: "s_square", type: .sint(14), hardware: { $0["a"]! * $0["a"]! }, model: { $0.a * $0.a }),
        // Conversions.
        OperatorCase(name: "sext13", type: .sint(13), hardware: { $0["a"]!.extend(to: 13) }, model: { $0.a }),
        OperatorCase(name: "zext11", type: .uint(11), hardware: { $0["d"]!.extend(to: 11) }, model: { $0.d }),
        OperatorCase(name: "s_trunc4", type: .sint(4), hardware: { $0["a"]!.truncate(to: 4) }, model: { wrapped($0.a, .sint(4)) }),
        OperatorCase(name: "u_resize5", type: .uint(5), hardware: { $0["c"]!.resize(5) }, model: { $0.c & 31 }),
        OperatorCase(name: "s_resize11", type: .sint(11), hardware: { $0["b"]!.resize(11) }, model: { $0.b }),
        OperatorCase(name: "as_unsigned", type: .uint(7), hardware: { $0["a"]!.asUnsigned }, model: { $0.a & 127 }),
        OperatorCase(name: "as_signed", type: .sint(9), hardware: { $0["c"]!.asSigned }, model: { wrapped($0.c, .sint(9)) }),
        OperatorCase(name: "to_signed", type: .sint(7), hardware: { $0["d"]!.toSigned }, model: { $0.d }),
        // Comparisons: signed, unsigned, and against constants.
        OperatorCase(name: "s_lt", type: .bool, hardware: { $0["a"]! < $0["b"]! }, model: { $0.a < $0.b ? 1 : 0 }),
        OperatorCase(name: "s_le", type: .bool, hardware: { $0["a"]! <= $0["b"]! }, model: { $0.a <= $0.b ? 1 : 0 }),
        OperatorCase(name: "s_gt", type: .bool, hardware: { $0["a"]! > $0["b"]! }, model: { $0.a > $0.b ? 1 : 0 }),
        OperatorCase(name: "s_ge", type: .bool, hardware: { $0["a"]! >= $0["b"]! }, model: { $0.a >= $0.b ? 1 : 0 }),
        OperatorCase(name: "s_eq", type: .bool, hardware: { $0["a"]! == $0["b"]! }, model: { $0.a == $0.b ? 1 : 0 }),
        OperatorCase(name: "s_ne", type: .bool, hardware: { $0["a"]! != $0["b"]! }, model: { $0.a != $0.b ? 1 : 0 }),
        OperatorCase(name: "u_lt", type: .bool, hardware: { $0["c"]! < $0["d"]! }, model: { $0.c < $0.d ? 1 : 0 }),
        OperatorCase(name: "u_le", type: .bool, hardware: { $0["c"]! <= $0["d"]! }, model: { $0.c <= $0.d ? 1 : 0 }),
        OperatorCase(name: "u_gt", type: .bool, hardware: { $0["c"]! > $0["d"]! }, model: { $0.c > $0.d ? 1 : 0 }),
        OperatorCase(name: "u_ge", type: .bool, hardware: { $0["c"]! >= $0["d"]! }, model: { $0.c >= $0.d ? 1 : 0 }),
        OperatorCase(name: "u_eq", type: .bool, hardware: { $0["c"]! == $0["d"]! }, model: { $0.c == $0.d ? 1 : 0 }),
        OperatorCase(name: "u_ne", type: .bool, hardware: { $0["c"]! != $0["d"]! }, model: { $0.c != $0.d ? 1 : 0 }),
        OperatorCase(name: "s_lt_lit", type: .bool, hardware: { $0["a"]! < -5 }, model: { $0.a < -5 ? 1 : 0 }),
        OperatorCase(name: "u_ge_lit", type: .bool, hardware: { $0["c"]! >= 300 }, model: { $0.c >= 300 ? 1 : 0 }),
        OperatorCase(name: "s_gt_narrow", type: .bool, hardware: { $0["b"]! > $0["a"]! }, model: { $0.b > $0.a ? 1 : 0 }),
        // Bitwise and logical.
        OperatorCase(name: "s_and", type: .sint(7), hardware: { $0["a"]! & $0["b"]! }, model: { wrapped($0.a & $0.b, .sint(7)) }),
        OperatorCase(name: "s_or", type: .sint(7), hardware: { $0["a"]! | $0["b"]! }, model: { wrapped($0.a | $0.b, .sint(7)) }),
        OperatorCase(name: "u_or", type: .uint(9), hardware: { $0["c"]! | $0["d"]! }, model: { $0.c | $0.d }),
        OperatorCase(name: "u_xor", type: .uint(9), hardware: { $0["c"]! ^ $0["d"]! }, model: { $0.c ^ $0.d }),
        OperatorCase(name: "u_not", type: .uint(9), hardware: { ~$0["c"]! }, model: { wrapped(~$0.c, .uint(9)) }),
        OperatorCase(name: "s_not", type: .sint(7), hardware: { ~$0["a"]! }, model: { ~$0.a }),
        OperatorCase(name: "l_and", type: .bool, hardware: { $0["f"]! && $0["g"]! }, model: { $0.f & $0.g }),
        OperatorCase(name: "l_or", type: .bool, hardware: { $0["f"]! || $0["g"]! }, model: { $0.f | $0.g }),
        OperatorCase(name: "l_not", type: .bool, hardware: { !$0["f"]! }, model: { 1 - $0.f }),
        OperatorCase(name: "l_mixed", type: .bool, hardware: { ($0["a"]! < $0["b"]!) && !$0["g"]! }, model: { $0.a < $0.b && $0.g == 0 ? 1 : 0 }),
        // Shifts: constant and dynamic, arithmetic for signed.
        OperatorCase(name: "s_shl3", type: .sint(10), hardware: { $0["a"]! << 3 }, model: { $0.a * 8 }),
        OperatorCase(name: "s_shr2", type: .sint(5), hardware: { $0["a"]! >> 2 }, model: { $0.a >> 2 }),
        OperatorCase(name: "u_shr4", type: .uint(5), hardware: { $0["c"]! >> 4 }, model: { $0.c >> 4 }),
        OperatorCase(name: "u_shl_dyn", type: .uint(16), hardware: { $0["c"]! << $0["sh"]! }, model: { $0.c << $0.sh }),
        OperatorCase(name: "s_shl_dyn", type: .sint(12), hardware: { $0["b"]! << $0["sh"]! }, model: { $0.b << $0.sh }),
        OperatorCase(name: "s_shr_dyn", type: .sint(7), hardware: { $0["a"]! >> $0["sh"]! }, model: { $0.a >> $0.sh }),
        OperatorCase(name: "u_shr_dyn", type: .uint(9), hardware: { $0["c"]! >> $0["sh"]! }, model: { $0.c >> $0.sh }),
        // Selection, concatenation, mux.
        OperatorCase(name: "cat2", type: .uint(13), hardware: { cat($0["a"]!, $0["d"]!) }, model: { (($0.a & 127) << 6) | $0.d }),
        OperatorCase(name: "cat3", type: .uint(15), hardware: { cat($0["f"]!, $0["c"]!, $0["b"]!) },
                     model: { ($0.f << 14) | ($0.c << 5) | ($0.b & 31) }),
        OperatorCase(name: "u_bits", type: .uint(5), hardware: { $0["c"]!.bits(6, 2) }, model: { ($0.c >> 2) & 31 }),
        OperatorCase(name: "s_bits", type: .uint(5), hardware: { $0["a"]!.bits(5, 1) }, model: { ($0.a >> 1) & 31 }),
        OperatorCase(name: "u_bit8", type: .bool, hardware: { $0["c"]![8] }, model: { ($0.c >> 8) & 1 }),
        OperatorCase(name: "s_msb", type: .bool, hardware: { $0["a"]!.msb }, model: { $0.a < 0 ? 1 : 0 }),
        OperatorCase(name: "s_mux", type: .sint(7), hardware: { mux($0["f"]!, $0["a"]!, $0["b"]!) }, model: { $0.f == 1 ? $0.a : $0.b }),
        OperatorCase(name: "u_mux", type: .uint(9), hardware: { mux($0["g"]!, $0["c"]!, $0["d"]!) }, model: { $0.g == 1 ? $0.c : $0.d }),
        OperatorCase(name: "u_mux_lit", type: .uint(6), hardware: { mux($0["f"]!, $0["d"]!, 7) }, model: { $0.f == 1 ? $0.d : 7 }),
        OperatorCase(name: "u_select", type: .uint(9), hardware: { select($0["sel"]!, [$0["c"]!, $0["d"]!.extend(to: 9), $0["c"]! &+ 1]) },
                     model: { [$0.c, $0.d, ($0.c + 1) & 511, ($0.c + 1) & 511][$0.sel] }),
        // Reductions.
        OperatorCase(name: "u_and_r", type: .bool, hardware: { $0["c"]!.andReduce }, model: { $0.c == 511 ? 1 : 0 }),
        OperatorCase(name: "u_or_r", type: .bool, hardware: { $0["c"]!.orReduce }, model: { $0.c != 0 ? 1 : 0 }),
        OperatorCase(name: "u_xor_r", type: .bool, hardware: { $0["c"]!.xorReduce }, model: { $0.c.nonzeroBitCount & 1 }),
        OperatorCase(name: "s_xor_r", type: .bool, hardware: { $0["a"]!.xorReduce }, model: { ($0.a & 127).nonzeroBitCount & 1 }),
    ] }

    static func build() -> Module {
        Module("OperatorZoo") { m in
            var ins: [String: Signal] = [:]
            for (n, t) in inputs { ins[n] = m.input(n, t) }
            for c in cases { m.output(c.name, c.hardware(ins)) }
        }
    }

    static func operands(_ s: [String: Int]) -> OperatorOperands {
        OperatorOperands(a: s["a"]!, b: s["b"]!, c: s["c"]!, d: s["d"]!, sh: s["sh"]!, sel: s["sel"]!, f: s["f"]!, g: s["g"]!)
    }

    static func stimulus(cycles: Int, seed: UInt64) -> [[String: Int]] {
        var rng = SplitMix64(seed: seed)
        return (0..<cycles).map { _ in Dictionary(uniqueKeysWithValues: inputs.map { ($0.0, rng.value($0.1)) }) }
    }
}

final class OperatorTests: XCTestCase {
    func testWidthInferenceGivesTheDocumentedTypes() {
        let m = Module("OperatorTypes") { m in
            var ins: [String: Signal] = [:]
            for (n, t) in OperatorZoo.inputs { ins[n] = m.input(n, t) }
            for c in OperatorZoo.cases {
                XCTAssertEqual(c.hardware(ins).type, c.type, "type of \(c.name)")
                m.output(c.name, c.hardware(ins))
            }
        }
        XCTAssertNoThrow(try Design(top: m).verilog())
    }

    /// Every operator, 500 random cycles with the extremes mixed in, in both simulators.
    func testEveryOperatorMatchesSwiftArithmeticInVerilatorAndIcarus() throws {
        let design = Design(top: OperatorZoo.build())
        let stimulus = OperatorZoo.stimulus(cycles: 500, seed: 7)
        let expected: [[String: Int?]] = stimulus.map { s in
            let x = OperatorZoo.operands(s)
            return Dictionary(uniqueKeysWithValues: OperatorZoo.cases.map { ($0.name, Optional(wrapped($0.model(x), $0.type))) })
        }
        for backend in [Simulator.Backend.verilator, .icarus] {
            let sim = try Simulator(design, backend: backend)
            assertCycles(try sim.run(stimulus), expected, stimulus: stimulus, "OperatorZoo on \(backend)")
        }
    }
}
