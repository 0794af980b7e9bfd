import Accelerator
import Mapper
import Reference
import XCTest

/// Row-band fusion (seed 002): an expansion whose result does not fit RAM-M, and which only the
/// depthwise convolution after it reads, runs band by band with that depthwise through a one-band
/// buffer in RAM-M, so the expanded map never goes to external memory. The band geometry below is
/// derived by hand from the depthwise's windows; the values are checked against the Reference by
/// `SimulationBundle` (control records and Executor, every layer).
final class RowBandTests: XCTestCase {
    /// A stem convolution (its 24×20×8 result lands in RAM-M), an expansion to 48 channels (23,040
    /// bytes), a 3×3 depthwise with SAME padding and a projection to 8.
    static func block(stride: Int) -> Network {
        var b = NetBuilder(seed: UInt64(70 + stride))
        let x = b.conv(b.input([1, 24, 20, 4]), outputs: 8, kernel: (3, 3), stride: 1, padding: .same, activation: .relu6)
        let e = b.conv(x, outputs: 48, kernel: (1, 1), stride: 1, padding: .same, activation: .relu6)
        let d = b.depthwise(e, kernel: (3, 3), stride: stride, multiplier: 1, padding: .same)
        b.output(b.conv(d, outputs: 8, kernel: (1, 1), stride: 1, padding: .same, activation: .none))
        return b.net
    }

    /// A 20 KiB RAM-M: the stem result (3,840 bytes) and the depthwise result fit, the expansion's
    /// 23,040 bytes do not. Row bands wherever they fit (at these small configurations the stream,
    /// not the memory, bounds the pair, so the cycle model would not always take them).
    static func options(_ config: AcceleratorConfig, _ policy: MapperOptions.RowBandPolicy = .always) -> MapperOptions {
        var o = MapperOptions.device(config)
        o.ramMBytes = 20 * 1024
        o.rowBands = policy
        return o
    }

    private struct Band: Equatable {
        var expansionInput: UInt32, rows: Int, outputRows: Int, padTop: Int, padBottom: Int, output: UInt32
    }

    /// The bands of layers 1 (expansion) and 2 (depthwise), relative to the expansion input's and
    /// the depthwise output's first byte.
    private func bands(_ program: Program, file: StaticString = #filePath, line: UInt = #line) throws -> [Band] {
        let expansions = program.instructions.filter { $0.layer == 1 }, depthwise = program.instructions.filter { $0.layer == 2 }
        XCTAssertEqual(expansions.count, depthwise.count, file: file, line: line)
        guard let e0 = expansions.first, let d0 = depthwise.first else { return [] }
        XCTAssertTrue(expansions.allSatisfy { $0.outputRoute == .ramM && $0.outputAddress == e0.outputAddress }, "one band buffer in RAM-M", file: file, line: line)
        XCTAssertTrue(depthwise.allSatisfy { $0.inputRoute == .ramM && $0.inputAddress == e0.outputAddress }, "the depthwise reads the band buffer", file: file, line: line)
        // The bands alternate: expansion band k, then depthwise band k.
        let order = program.instructions.map(\.layer).filter { $0 == 1 || $0 == 2 }
        XCTAssertEqual(order, (0 ..< expansions.count).flatMap { _ in [1, 2] }, file: file, line: line)
        return zip(expansions, depthwise).map { e, d in
            XCTAssertEqual(e.outputHeight, e.inputHeight, file: file, line: line)
            XCTAssertEqual(d.inputHeight, e.outputHeight, file: file, line: line)
            return Band(expansionInput: e.inputAddress - e0.inputAddress, rows: e.inputHeight, outputRows: d.outputHeight,
                        padTop: d.padTop, padBottom: d.padBottom, output: d.outputAddress - d0.outputAddress)
        }
    }

    /// The block's program at the small configuration with row bands; its bands must be
    /// `expected`, and every layer's values the Reference model's (SimulationBundle).
    private func banded(stride: Int, _ expected: [Band], file: StaticString = #filePath, line: UInt = #line) throws -> Program {
        let config = AcceleratorRTLTests.small
        let program = try Mapper.compile(Self.block(stride: stride), config: config, options: Self.options(config))
        XCTAssertEqual(try bands(program, file: file, line: line), expected, file: file, line: line)
        _ = try SimulationBundle(network: Self.block(stride: stride), config: config, input: input(), options: Self.options(config))
        return program
    }

    func testAStrideTwoDepthwiseTakesThreeBandsThatShareOneHaloRow() throws {
        // SAME at stride 2 on 24 rows: 12 output rows, the odd padding row at the bottom. Two bands
        // would need a 13-row buffer (12,480 bytes), which fits only by pushing the depthwise's
        // result out of RAM-M; three bands of 4 output rows read input rows 0-8, 8-16, 16-23 (+1
        // padding), 9 rows of 960 bytes at most, and everything stays on chip. Row 8 and row 16 are
        // computed twice. Expansion input rows are 160 bytes, depthwise output rows 480.
        let program = try banded(stride: 2, [
            Band(expansionInput: 0, rows: 9, outputRows: 4, padTop: 0, padBottom: 0, output: 0),
            Band(expansionInput: 8 * 160, rows: 9, outputRows: 4, padTop: 0, padBottom: 0, output: 4 * 480),
            Band(expansionInput: 16 * 160, rows: 8, outputRows: 4, padTop: 0, padBottom: 1, output: 8 * 480),
        ])
        let d = program.instructions.first { $0.layer == 3 }
        XCTAssertEqual(d?.inputRoute, .ramM, "the depthwise result stays in RAM-M")
        // One layer span for both layers, with their MACs: 24·20·8·48 + 12·10·48·9 (the halo rows
        // not counted twice).
        let span = program.layerSpans.first { $0.layers.count > 1 }
        XCTAssertEqual(span?.layers, [1, 2])
        XCTAssertEqual(span?.macs, 184_320 + 51_840)
        XCTAssertEqual(program.layerSpans.map(\.layer), [0, 2, 3])
    }

    func testAStrideOneDepthwiseTakesTwoBandsThatShareTwoHaloRows() throws {
        // SAME at stride 1: a padding row above and below. Output rows 0-11 read input rows 0-12
        // (and the top padding), rows 12-23 read 11-23 (and the bottom padding): 13 rows each, rows
        // 11 and 12 computed twice. The 23,040-byte depthwise result goes external as before.
        _ = try banded(stride: 1, [
            Band(expansionInput: 0, rows: 13, outputRows: 12, padTop: 1, padBottom: 0, output: 0),
            Band(expansionInput: 11 * 160, rows: 13, outputRows: 12, padTop: 0, padBottom: 1, output: 12 * 960),
        ])
    }

    /// By default a pair takes row bands only where the cycle model predicts a faster program: the
    /// default's frame is the faster of the two, and its layers those of that program.
    func testByDefaultRowBandsStayWhereTheCycleModelSaysTheyPay() throws {
        func cycles(_ p: Program) throws -> Int {
            ControlCycleModel.estimate(try ControlPlan(program: p)).reduce(0) { $0 + $1.cycles }
        }
        for config in [AcceleratorRTLTests.small, AcceleratorRTLTests.singleSlice] {
            for stride in [1, 2] {
                let net = Self.block(stride: stride)
                let banded = try Mapper.compile(net, config: config, options: Self.options(config, .always))
                let whole = try Mapper.compile(net, config: config, options: Self.options(config, .never))
                let chosen = try Mapper.compile(net, config: config, options: Self.options(config, .whereFaster))
                XCTAssertTrue(banded.layerSpans.contains { $0.layers.count == 2 })
                XCTAssertFalse(whole.layerSpans.contains { $0.layers.count == 2 })
                let faster = try cycles(banded) < cycles(whole) ? banded : whole
                XCTAssertEqual(chosen.layerSpans.map(\.layers), faster.layerSpans.map(\.layers), "stride \(stride) at PC=\(config.pc)")
                XCTAssertEqual(try cycles(chosen), min(try cycles(banded), try cycles(whole)))
            }
        }
    }

    func testAnExpansionThatFitsRAMMOrAnExternalOnlyProgramKeepsWholeLayers() throws {
        let config = AcceleratorRTLTests.small
        for options in [MapperOptions.device(config), .externalOnly] {
            let program = try Mapper.compile(Self.block(stride: 2), config: config, options: options)
            XCTAssertEqual(program.instructions.filter { $0.layer == 2 }.count, 1)
            XCTAssertEqual(program.layerSpans.map(\.layers), [[0], [1], [2], [3]])
        }
    }

    private func input() -> [Int8] { (0 ..< 24 * 20 * 4).map { Int8(truncatingIfNeeded: $0 &* 37 &+ 11) } }
}
