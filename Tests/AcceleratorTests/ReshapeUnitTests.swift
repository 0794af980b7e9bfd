import Accelerator
import HDLKit
import XCTest

/// The reshape unit in Verilator against a slow Swift model of 3×3 windowing with zero-point
/// padding, on random maps, shapes, strides, paddings and zero points, with random gaps in the
/// input stream, random output stalls and random start timing; at several configurations.
final class ReshapeUnitTests: XCTestCase {
    /// Every window of every layer, in order, equals the padded map's window; nothing else comes out.
    func testWindowsMatchTheModelAtSeveralConfigurations() throws {
        for setup in [ReshapeSetup.small, .medium, .odd] {
            let bench = try ReshapeBench(setup)
            for (seed, pIn, pOut, pStart) in [(1, 70, 75, 40), (2, 100, 100, 100), (3, 40, 50, 5)] {
                let run = try bench.run(cycles: bench.cyclesNeeded(inputRate: pIn, outputRate: pOut),
                                        seed: UInt64(seed), inputRate: pIn, outputRate: pOut, startRate: pStart)
                let context = "\(setup.name) seed \(seed)"
                XCTAssertEqual(run.layersStarted, bench.layers.count, "\(context): every layer started")
                XCTAssertFalse(run.busyAtEnd, "\(context): the unit drained")
                XCTAssertEqual(run.pixelsTaken, bench.expectedPixels, "\(context): pixels taken")
                let expected = bench.expectedWindows()
                XCTAssertEqual(run.windows.count, expected.count, "\(context): window count")
                for (i, (got, want)) in zip(run.windows, expected).enumerated() where got != want {
                    XCTFail("\(context): window \(i) is \(got), expected \(want)")
                    break
                }
            }
        }
    }

    /// With padding 1 all round and a stream that never runs dry, a layer takes (H+1)·W cycles of
    /// pixels (not (H+2)(W+2)), slices queued back to back finish exactly (H+1)·W cycles apart, and a
    /// lone layer's last window appears 1 + latency cycles after its last pixel.
    func testOperationSeparatePaddingTakesHPlusOneTimesWCycles() throws {
        let bench = try ReshapeBench(.small)
        let unit = bench.unit
        XCTAssertEqual(unit.latency, 2)
        let schedule = bench.layers.prefix(ReshapeSetup.scheduleLayers)
        for l in schedule {
            XCTAssertTrue(l.padTop && l.padBottom && l.padLeft && l.padRight && !l.stride2)
        }
        let inputCycles = schedule.map { ReshapeUnit.inputCycles(height: $0.height, width: $0.width, padBottom: true) }
        XCTAssertEqual(inputCycles, schedule.map { ($0.height + 1) * $0.width })

        // Back to back: start requested every cycle, so each next layer is queued while one runs.
        let busy = try bench.run(cycles: inputCycles.reduce(0, +) + 8, seed: 9, inputRate: 100, outputRate: 100, startRate: 100)
        var end = 0
        for (k, n) in inputCycles.enumerated() {
            end += n
            XCTAssertEqual(busy.lastWindowCycles[k], end + 1 + unit.latency, "layer \(k) (\(schedule[k].height)×\(schedule[k].width))")
        }
        // Pixels are taken in every cycle except the inserted bottom rows: the input never waits.
        let firstLayer = schedule[schedule.startIndex]
        XCTAssertEqual(busy.readyCycles.prefix(inputCycles[0]).filter { $0 }.count, firstLayer.height * firstLayer.width)

        // One layer alone: the flush cycle stands in for the next layer's first pixel.
        let alone = try bench.run(cycles: inputCycles[0] + 8, seed: 9, inputRate: 100, outputRate: 100, startRate: 100, onlyFirstStart: true)
        XCTAssertEqual(alone.lastWindowCycles.first, inputCycles[0] + 1 + unit.latency)
        XCTAssertEqual(alone.windows.count, firstLayer.height * firstLayer.width)
        XCTAssertLessThan(inputCycles[0], (firstLayer.height + 2) * (firstLayer.width + 2))

        // The next layer queued but its pixels late: the last window does not wait for them.
        let late = try bench.run(cycles: inputCycles[0] + 8, seed: 9, inputRate: 100, outputRate: 100, startRate: 100, inputEnds: inputCycles[0])
        XCTAssertEqual(late.lastWindowCycles, [inputCycles[0] + 1 + unit.latency])
        XCTAssertEqual(late.windows.count, firstLayer.height * firstLayer.width)
    }

    /// Icarus sees the same windows, and no undefined output bit in any cycle after reset.
    func testIcarusAgrees() throws {
        let bench = try ReshapeBench(.odd, backend: .icarus)
        let run = try bench.run(cycles: bench.cyclesNeeded(inputRate: 60, outputRate: 70), seed: 4, inputRate: 60, outputRate: 70, startRate: 30)
        XCTAssertEqual(run.layersStarted, bench.layers.count)
        XCTAssertEqual(run.windows, bench.expectedWindows())
    }

    func testIllegalGeneratorParametersAreRejected() {
        var config = AcceleratorConfig()
        config.maxRowWidth = 2
        XCTAssertThrowsError(try ReshapeUnit(config: config)) { e in
            XCTAssertTrue("\(e)".contains("--max-row 2"), "\(e)")
        }
        XCTAssertThrowsError(try ReshapeUnit(config: AcceleratorConfig(), maxHeight: 0)) { e in
            XCTAssertTrue("\(e)".contains("maxHeight 0"), "\(e)")
        }
        XCTAssertThrowsError(try ReshapeUnit(config: AcceleratorConfig(), lanes: 0)) { e in
            XCTAssertEqual("\(e)", "ReshapeUnit lanes 0: must be 1 to 4096 channels")
        }
    }

    func testOutputSizesFollowTFLite() {
        // SAME stride 2 on an even size: 0 before, 1 after; on an odd size: 1 and 1.
        XCTAssertEqual(ReshapeUnit.outputSize(8, padBefore: false, padAfter: true, stride2: true), 4)
        XCTAssertEqual(ReshapeUnit.outputSize(7, padBefore: true, padAfter: true, stride2: true), 4)
        XCTAssertEqual(ReshapeUnit.outputSize(7, padBefore: true, padAfter: true, stride2: false), 7)
        XCTAssertEqual(ReshapeUnit.outputSize(7, padBefore: false, padAfter: false, stride2: false), 5)
        XCTAssertEqual(ReshapeUnit.outputSize(1, padBefore: false, padAfter: true, stride2: false), 0)
    }
}

// MARK: - configurations and layers

private struct ReshapeSetup {
    let name: String
    let config: AcceleratorConfig
    let maxHeight: Int
    let layerCount: Int
    let seed: UInt64
    /// Channels side by side when not PC (PD·PC depthwise streams sharing one unit).
    var lanes: Int? = nil

    /// The first layers of `.small` are padding-1 stride-1 layers, for the schedule test.
    static let scheduleLayers = 3

    static func config(pc: Int, maxRowWidth: Int, dataWidth: Int = 8) -> AcceleratorConfig {
        var c = AcceleratorConfig()
        c.pc = pc
        c.pf = max(pc, 4)
        c.pd = 2
        c.maxRowWidth = maxRowWidth
        c.dataWidth = dataWidth
        return c
    }

    static let small = ReshapeSetup(name: "PC=4 row 16", config: config(pc: 4, maxRowWidth: 16), maxHeight: 20, layerCount: 3 + 32 + 8, seed: 11)
    static let medium = ReshapeSetup(name: "PC=8 row 32", config: config(pc: 8, maxRowWidth: 32), maxHeight: 40, layerCount: 36, seed: 12)
    static let odd = ReshapeSetup(name: "PD·PC=2·3 row 5 int6", config: config(pc: 3, maxRowWidth: 5, dataWidth: 6), maxHeight: 9, layerCount: 40, seed: 13,
                                  lanes: 6)
}

private struct ReshapeLayer: Equatable {
    var height: Int, width: Int, stride2: Bool
    var padTop: Bool, padBottom: Bool, padLeft: Bool, padRight: Bool
    var zp: Int

    /// Layers the unit must ignore (no pixels, no windows).
    func isIgnored(maxWidth: Int) -> Bool { height == 0 || width == 0 || width > maxWidth }
}

private struct ReshapeWindow: Equatable, CustomStringConvertible {
    var row: Int, col: Int, last: Bool
    var taps: [[Int]]  // [k][c]
    var description: String { "(row \(row), col \(col), last \(last), taps \(taps))" }
}

/// Deterministic 64-bit generator (tests must be reproducible).
private typealias ReshapeRandom = SplitMix
private extension SplitMix {
    mutating func percent(_ p: Int) -> Bool { below(100) < p }
}

/// The bench's pixel source: one xorshift32 per channel, stepped on every pixel taken, so the test
/// knows pixel k of the stream without storing the stream in the hardware.
private func reshapeSeed(_ c: Int) -> UInt32 { 0x2545_F491 &* UInt32(c + 1) ^ 0x9E37_79B9 }
private func reshapeStep(_ s: UInt32) -> UInt32 {
    var x = s
    x ^= x << 13
    x ^= x >> 17
    x ^= x << 5
    return x
}

// MARK: - bench

/// The unit wrapped with its stimulus sources: the layer list in a ROM (started when `start_en`
/// and `start_ready`), the pixels from the xorshift generators (offered when `in_valid`, with
/// scrambled data otherwise), and `in_valid`/`out_ready`/`start_en` driven by the test.
private struct ReshapeBench {
    let setup: ReshapeSetup
    let unit: ReshapeUnit
    let layers: [ReshapeLayer]
    let simulator: Simulator

    init(_ setup: ReshapeSetup, backend: Simulator.Backend = .verilator) throws {
        self.setup = setup
        unit = try ReshapeUnit(config: setup.config, maxHeight: setup.maxHeight, lanes: setup.lanes)
        var rng = ReshapeRandom(state: setup.seed)
        let maxW = setup.config.maxRowWidth, w = setup.config.dataWidth
        var list: [ReshapeLayer] = []
        for i in 0 ..< setup.layerCount {
            let zp = rng.below(1 << w) - (1 << (w - 1))
            if i < ReshapeSetup.scheduleLayers {
                list.append(ReshapeLayer(height: 2 + rng.below(setup.maxHeight - 1), width: 2 + rng.below(maxW - 1), stride2: false,
                                         padTop: true, padBottom: true, padLeft: true, padRight: true, zp: zp))
                continue
            }
            // Mostly small maps (many layer boundaries), some full-width and one-pixel ones.
            var h = rng.percent(15) ? setup.maxHeight : 1 + rng.below(min(setup.maxHeight, 9))
            var wd = rng.percent(20) ? maxW : 1 + rng.below(maxW)
            if i == setup.layerCount / 2 { wd = 0 }                     // ignored: no width
            if i == setup.layerCount / 2 + 1 { h = 0 }                  // ignored: no height
            if i == setup.layerCount / 2 + 2 { wd = maxW + 1 }          // ignored: wider than the line buffer
            // Every stride and padding combination in turn (SAME, VALID, symmetric and the rest).
            let mode = (i - ReshapeSetup.scheduleLayers) % 32
            let bit = { (b: Int) in mode >> b & 1 == 1 }
            list.append(ReshapeLayer(height: h, width: wd, stride2: bit(4), padTop: bit(0), padBottom: bit(1),
                                     padLeft: bit(2), padRight: bit(3), zp: zp))
        }
        layers = list
        simulator = try Simulator(Design(top: Self.module(unit, list)), backend: backend)
    }

    var expectedPixels: Int {
        layers.filter { !$0.isIgnored(maxWidth: setup.config.maxRowWidth) }.reduce(0) { $0 + $1.height * $1.width }
    }

    func cyclesNeeded(inputRate: Int, outputRate: Int) -> Int {
        let work = layers.reduce(0) { $0 + ($1.height + 1) * max($1.width, 1) + 4 }
        return work * 100 / min(inputRate, outputRate) * 3 / 2 + 200
    }

    /// The slow model: for each layer in order, every output position's 3×3 window over the map
    /// padded with the layer's zero point.
    func expectedWindows() -> [ReshapeWindow] {
        let pc = unit.channels, w = setup.config.dataWidth
        var state = (0 ..< pc).map(reshapeSeed)
        var out: [ReshapeWindow] = []
        for l in layers where !l.isIgnored(maxWidth: setup.config.maxRowWidth) {
            var pixels: [[Int]] = []
            for _ in 0 ..< l.height * l.width {
                pixels.append(state.map { s in
                    let low = Int(s & ((1 << UInt32(w)) - 1))
                    return low >= 1 << (w - 1) ? low - (1 << w) : low
                })
                state = state.map(reshapeStep)
            }
            let s = l.stride2 ? 2 : 1
            let oh = ReshapeUnit.outputSize(l.height, padBefore: l.padTop, padAfter: l.padBottom, stride2: l.stride2)
            let ow = ReshapeUnit.outputSize(l.width, padBefore: l.padLeft, padAfter: l.padRight, stride2: l.stride2)
            for oy in 0 ..< oh {
                for ox in 0 ..< ow {
                    var taps: [[Int]] = []
                    for ky in 0 ..< 3 {
                        for kx in 0 ..< 3 {
                            let iy = oy * s - (l.padTop ? 1 : 0) + ky, ix = ox * s - (l.padLeft ? 1 : 0) + kx
                            let inside = iy >= 0 && iy < l.height && ix >= 0 && ix < l.width
                            taps.append(inside ? pixels[iy * l.width + ix] : [Int](repeating: l.zp, count: pc))
                        }
                    }
                    out.append(ReshapeWindow(row: oy, col: ox, last: oy == oh - 1 && ox == ow - 1, taps: taps))
                }
            }
        }
        return out
    }

    struct Run {
        var windows: [ReshapeWindow] = []
        var lastWindowCycles: [Int] = []
        var readyCycles: [Bool] = []
        var pixelsTaken = 0
        var layersStarted = 0
        var busyAtEnd = true
    }

    /// `inputEnds`: the stream runs dry after that cycle.
    func run(cycles: Int, seed: UInt64, inputRate: Int, outputRate: Int, startRate: Int, onlyFirstStart: Bool = false,
             inputEnds: Int = .max) throws -> Run {
        var rng = ReshapeRandom(state: seed)
        var stimulus: [[String: Int]] = []
        for t in 0 ..< cycles {
            let startEn = onlyFirstStart ? t == 0 : rng.percent(startRate)
            let inValid = rng.percent(inputRate) && t <= inputEnds
            stimulus.append(["in_valid": inValid ? 1 : 0, "out_ready": rng.percent(outputRate) ? 1 : 0,
                             "start_en": startEn ? 1 : 0])
        }
        let outputs = try simulator.run(stimulus)
        var r = Run()
        let pc = unit.channels
        for (t, o) in outputs.enumerated() {
            r.readyCycles.append(o["in_ready"] == 1)
            if o["in_ready"] == 1 && stimulus[t]["in_valid"] == 1 { r.pixelsTaken += 1 }
            guard o["out_valid"] == 1 && stimulus[t]["out_ready"] == 1 else { continue }
            let taps = (0 ..< 9).map { k in (0 ..< pc).map { c in o["win_\(k)_\(c)"]! } }
            let w = ReshapeWindow(row: o["out_row"]!, col: o["out_col"]!, last: o["out_last"] == 1, taps: taps)
            r.windows.append(w)
            if w.last { r.lastWindowCycles.append(t) }
        }
        r.layersStarted = outputs.last?["layers_started"] ?? 0
        r.busyAtEnd = outputs.last?["busy"] == 1
        return r
    }

    static func module(_ unit: ReshapeUnit, _ layers: [ReshapeLayer]) -> Module {
        let pc = unit.channels, w = unit.dataWidth, hb = unit.heightBits, wb = unit.widthBits
        // ROM word: height | width | stride2 | pad top/bottom/left/right | zp (low bits).
        let wordBits = hb + wb + 5 + w
        let words = layers.map { l -> Int in
            var v = l.height
            v = v << wb | l.width
            for b in [l.stride2, l.padTop, l.padBottom, l.padLeft, l.padRight] { v = v << 1 | (b ? 1 : 0) }
            return v << w | (l.zp & ((1 << w) - 1))
        } + [0]
        let lb = addressWidth(words.count)
        return Module("ReshapeBench_\(unit.name)_n\(layers.count)") { m in
            let inValid = m.input("in_valid", .bool)
            let outReady = m.input("out_ready", .bool)
            let startEn = m.input("start_en", .bool)
            let u = m.instance(unit.module(), "unit")

            let layer = m.reg("layer", .uint(lb), reset: 0)
            let remaining = m.wire("remaining", layer < layers.count)
            let startNow = m.wire("start_now", startEn && remaining)
            let taken = m.wire("taken", startNow && u.start_ready)
            let nextLayer = m.wire("next_layer", mux(taken, layer &+ 1, layer))
            layer.assign(nextLayer)
            let rom = m.rom("layers", .uint(wordBits), contents: words)
            let word = rom.read(nextLayer, name: "layer_word")
            var bit = 0
            func field(_ width: Int) -> Signal {
                defer { bit += width }
                return word.bits(bit + width - 1, bit)
            }
            u.in_zp.assign(field(w).asSigned)
            for name in ["pad_right", "pad_left", "pad_bottom", "pad_top", "stride2"] { u.port(name).assign(field(1)) }
            u.width.assign(field(wb))
            u.height.assign(field(hb))
            u.start.assign(startNow)
            m.output("layers_started", layer)

            let take = m.wire("take", inValid && u.in_ready)
            for c in 0 ..< pc {
                let s = m.reg("gen_\(c)", .uint(32), reset: Int(reshapeSeed(c)))
                let a = s ^ (s << 13).truncate(to: 32)
                let b = a ^ (a >> 17)
                let next = b ^ (b << 5).truncate(to: 32)
                m.when(take) { s.assign(next) }
                // Scrambled while not offered, so a pixel taken without in_valid shows.
                let offered = s.bits(w - 1, 0).asSigned
                u.port("x_\(c)").assign(mux(inValid, offered, ~offered))
            }
            u.in_valid.assign(inValid)
            u.out_ready.assign(outReady)

            for p in ["in_ready", "out_valid", "out_row", "out_col", "out_last", "busy"] { m.output(p, u.port(p)) }
            for k in 0 ..< 9 { for c in 0 ..< pc { m.output("win_\(k)_\(c)", u.port("win_\(k)_\(c)")) } }
        }
    }
}
