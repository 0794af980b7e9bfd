import Accelerator
import Foundation
import HDLKit
import Reference
import XCTest

/// The ExecutionUnit driven the way the ControlUnit drives it (EXECUTION_UNIT.md): per pass the
/// configuration ports and `pass_start`, then the phase-tagged beats (params, weights, residual,
/// pixels) in order, with random gaps on the input and random `out_ready` back-pressure. Layers
/// are split into passes the way docs/control.md's mapper does (filter group × channel slice, or
/// × channel chunk for folded pointwise passes), and
/// every output beat is compared with a slow Swift model of the layer computed from its tensors
/// with Reference's FixedPoint.requantize and AddParameters.add.
final class ExecutionUnitTests: XCTestCase {
    fileprivate static let config: AcceleratorConfig = {
        var c = AcceleratorConfig()
        c.pc = 4; c.pf = 4; c.pd = 2; c.streamBytes = 16; c.outputBufferDepth = 64; c.maxRowWidth = 32
        return c
    }()

    /// A second configuration where PC, PF, the lanes and the beat all differ: PC 8 > PF 4,
    /// PD 4, 32-byte beats.
    fileprivate static let wideConfig: AcceleratorConfig = {
        var c = AcceleratorConfig()
        c.pc = 8; c.pf = 4; c.pd = 4; c.streamBytes = 32; c.outputBufferDepth = 32; c.maxRowWidth = 16
        return c
    }()

    func testRecordLikePassesMatchTheModelUnderBackPressure() throws {
        let c = Self.config, b = c.streamBytes
        let sim = try Simulator(Design(top: bench(c)), backend: .verilator)
        var rng = SplitMix(state: 0xE0E0)
        var passes: [EUPass] = []
        // Standard 3×3: two filter groups (the second partial) × two channel slices, stride 2 with
        // SAME-even pads, then stride 1 with all pads.
        passes += EULayer.standard(h: 7, w: 6, cin: 6, cout: 6, stride2: true, pads: (false, true, false, true), rng: &rng).passes(c)
        passes += EULayer.standard(h: 8, w: 8, cin: 4, cout: 3, stride2: false, pads: (true, true, true, true), rng: &rng).passes(c)
        // VALID, stride 2, even size: the last row and column feed no window, yet their pixels
        // are the pass's too (pass_done waits for them).
        passes += EULayer.standard(h: 8, w: 8, cin: 6, cout: 2, stride2: true, pads: (false, false, false, false), rng: &rng).passes(c)
        // Pointwise: 25 positions = two full engine beats and a partial one.
        passes += EULayer.pointwise(h: 5, w: 5, cin: 6, cout: 5, rng: &rng).passes(c)
        // Depthwise, one pass per channel slice, with pruning on the second layer.
        passes += EULayer.depthwise(h: 6, w: 5, channels: 6, stride2: false, pads: (true, true, true, true), threshold: 0, rng: &rng).passes(c)
        passes += EULayer.depthwise(h: 7, w: 7, channels: 3, stride2: true, pads: (true, true, true, true), threshold: 20, rng: &rng).passes(c)
        // S = 2 slices a beat: 11 channels are a group of 8 (two slices on two window groups) and one of 3.
        passes += EULayer.depthwise(h: 4, w: 5, channels: 11, stride2: false, pads: (true, true, true, true), threshold: 0, rng: &rng).passes(c)
        // Wide pointwise, S = 2 filter groups a position, K = 4 slices a beat: 11 filters are a pass
        // run of 8 (two groups on pixel lanes 0-1, one 8-byte output beat a position) and one of 3;
        // 6 channels are two slices of one beat (lanes 2-3 the second), 19 channels two passes
        // (16 channels on lanes 0-7, then 3).
        // Then a plain pointwise layer again: the lanes' weights and parameters must be its own.
        passes += EULayer.wide(h: 5, w: 5, cin: 6, cout: 11, rng: &rng).passes(c)
        passes += EULayer.wide(h: 3, w: 5, cin: 19, cout: 7, rng: &rng).passes(c)
        passes += EULayer.pointwise(h: 3, w: 4, cin: 5, cout: 6, rng: &rng).passes(c)
        // Copies: plain (wider than the lanes), and with the residual ADD in both operand orders.
        passes.append(EUPass.copy(positions: 13, chunk: 12, residual: nil, b: b, rng: &rng))
        passes.append(EUPass.copy(positions: 64, chunk: 16, residual: nil, b: b, rng: &rng))
        let copyAdd = try EUResidual(resultSecond: false, rng: &rng), copyAddSwapped = try EUResidual(resultSecond: true, rng: &rng)
        passes.append(EUPass.copy(positions: 10, chunk: 4, residual: copyAdd, b: b, rng: &rng))
        passes.append(EUPass.copy(positions: 9, chunk: 3, residual: copyAddSwapped, b: b, rng: &rng))
        // The residual as a span of 12-byte pixels (11 beats), read once and kept for the offsets
        // 4 and 8; then a per-position residual again overwrites the buffer.
        passes += EUPass.spanCopies(positions: 14, stride: 12, offsets: [0, 4, 8], chunk: 4, residual: copyAdd, b: b, rng: &rng)
        passes.append(EUPass.copy(positions: 6, chunk: 4, residual: copyAddSwapped, b: b, rng: &rng))
        // Convolutions whose last pass fuses the residual ADD, both operand orders.
        let add1 = try EUResidual(resultSecond: false, rng: &rng), add2 = try EUResidual(resultSecond: true, rng: &rng)
        let add3 = try EUResidual(resultSecond: true, rng: &rng)
        passes += EULayer.standard(h: 5, w: 6, cin: 7, cout: 4, stride2: false, pads: (true, true, true, true),
                                   residual: add1, rng: &rng).passes(c)
        passes += EULayer.pointwise(h: 4, w: 5, cin: 3, cout: 4, residual: add2, rng: &rng).passes(c)
        passes += EULayer.standard(h: 6, w: 6, cin: 2, cout: 2, stride2: true, pads: (true, true, true, true),
                                   residual: add3, rng: &rng).passes(c)
        // Folded pointwise (t = 4 PC-channel slices a beat, a position's chunk one standard-mode
        // engine beat): 41 channels are a chunk of 36 (3 beats a position, the last one's single
        // slice on tap 8) and then one of 5 (one short beat), whose taps 2 ... 8 must read as the
        // fill value although the pass before just loaded them with data and this pass's weights on
        // them are nonzero; 6 filters, so the second group is partial.
        passes += EULayer.folded(h: 5, w: 5, cin: 41, cout: 6, rng: &rng).passes(c)
        // Folded with the residual ADD on the last pass: 30 channels are one chunk of 2 beats (16
        // and 14 channels; tap 8 unused).
        let add4 = try EUResidual(resultSecond: false, rng: &rng)
        passes += EULayer.folded(h: 4, w: 5, cin: 30, cout: 4, residual: add4, rng: &rng).passes(c)
        // Reuse across filter groups: group 0 keeps each chunk's gathered positions (41 channels: a
        // 3-beat chunk and a 1-beat chunk), groups 1 and 2 replay them from the input buffer while
        // their pixel beats carry junk; then a second reused layer overwrites the same words.
        let add5 = try EUResidual(resultSecond: true, rng: &rng)
        passes += EULayer.folded(h: 5, w: 4, cin: 41, cout: 10, residual: add5, reuse: true, rng: &rng).passes(c)
        passes += EULayer.folded(h: 3, w: 5, cin: 24, cout: 9, reuse: true, rng: &rng).passes(c)
        try run(passes, sim, c, rng: &rng, context: "random back-pressure")
    }

    func testPassesWithMoreChannelsThanFiltersAndWideBeatsMatchTheModel() throws {
        let c = Self.wideConfig, b = c.streamBytes
        let sim = try Simulator(Design(top: bench(c)), backend: .verilator)
        var rng = SplitMix(state: 0xB0B)
        var passes: [EUPass] = []
        // Slices of 8 and 2 channels, groups of 4 and 2 filters (result lanes 4 ... 7 unused).
        passes += EULayer.standard(h: 5, w: 6, cin: 10, cout: 6, stride2: false, pads: (true, true, true, true), rng: &rng).passes(c)
        // Depthwise, S = 4 slices of PC = 8 channels a beat: 10 channels are one group of two
        // slices, the second partial; 40 are a group of four slices and one of one.
        passes += EULayer.depthwise(h: 5, w: 4, channels: 10, stride2: true, pads: (false, true, false, true), threshold: 0, rng: &rng).passes(c)
        passes += EULayer.depthwise(h: 3, w: 4, channels: 40, stride2: false, pads: (true, true, true, true), threshold: 0, rng: &rng).passes(c)
        let add1 = try EUResidual(resultSecond: false, rng: &rng), add2 = try EUResidual(resultSecond: true, rng: &rng)
        // 30 positions: the residual buffer holds outputBufferDepth = 32.
        passes += EULayer.pointwise(h: 6, w: 5, cin: 9, cout: 7, residual: add1, rng: &rng).passes(c)
        passes.append(EUPass.copy(positions: 20, chunk: 32, residual: nil, b: b, rng: &rng))
        passes.append(EUPass.copy(positions: 17, chunk: 8, residual: add2, b: b, rng: &rng))
        // A span that fills the residual buffer (outputBufferDepth · lanes = 256 bytes = 8 beats):
        // ten 24-byte pixels, their three 8-byte filter groups read in the order 16, 0, 8.
        passes += EUPass.spanCopies(positions: 10, stride: 24, offsets: [16, 0, 8], chunk: 8, residual: add1, b: b, rng: &rng)
        // Folded, t = 4 slices of 8 channels a beat: 120 channels are a chunk of 72 (3 beats, the
        // last one's 8 channels on tap 8) and one of 48 (2 beats, taps 6 ... 8 left to the fill
        // value); groups of 4 and 2 filters.
        passes += EULayer.folded(h: 5, w: 6, cin: 120, cout: 6, rng: &rng).passes(c)
        try run(passes, sim, c, rng: &rng, context: "PC 8, PF 4, 32-byte beats")
    }

    /// Without back-pressure nothing waits for a credit: the windows leave the reshape unit on its
    /// own schedule, pointwise passes run at the output's one position per cycle and folded passes
    /// at the stream's one beat per cycle; pass_done follows the last engine beat after exactly
    /// `drainLatency` (folded positions go through the standard pipeline).
    func testWithoutBackPressureNothingWaitsForCredits() throws {
        let c = Self.config, b = c.streamBytes
        let unit = try ExecutionUnit(config: c)
        let sim = try Simulator(Design(top: bench(c)), backend: .verilator)
        var rng = SplitMix(state: 0xFA57)
        let standard = EULayer.standard(h: 8, w: 8, cin: 4, cout: 4, stride2: false, pads: (true, true, true, true), rng: &rng)
        let depthwise = EULayer.depthwise(h: 8, w: 8, channels: 4, stride2: false, pads: (true, true, true, true), threshold: 0, rng: &rng)
        let pointwise = EULayer.pointwise(h: 8, w: 8, cin: 4, cout: 4, rng: &rng)
        // 24 channels: one pass, 2 beats a position.
        let folded = EULayer.folded(h: 8, w: 8, cin: 24, cout: 4, rng: &rng)
        let passes = standard.passes(c) + depthwise.passes(c) + pointwise.passes(c)
            + [EUPass.copy(positions: 40, chunk: 16, residual: nil, b: b, rng: &rng)] + folded.passes(c)
        let seen = try run(passes, sim, c, rng: &rng, context: "no back-pressure", backPressure: false)
        guard seen.count == 5 else { return XCTFail("five passes observed") }
        let schedule = ReshapeUnit.inputCycles(height: 8, width: 8, padBottom: true)
        for (i, (mode, name)) in [(ConvolutionMode.standard, "standard"), (.depthwise, "depthwise")].enumerated() {
            let beats = seen[i].engineBeats
            guard let firstBeat = beats.first, let lastBeat = beats.last, let done = seen[i].done else {
                XCTFail("\(name): engine beats and pass_done"); continue
            }
            print("ExecutionUnit \(name) 8×8 without back-pressure: windows in \(lastBeat - firstBeat + 1) cycles "
                  + "(pixel schedule \(schedule)), pass_done \(done - lastBeat) cycles after the last")
            XCTAssertLessThanOrEqual(lastBeat - firstBeat + 1, schedule, "\(name): no window waited for a credit")
            XCTAssertEqual(done - lastBeat, unit.drainLatency(mode), "\(name): pass_done after the drain latency")
        }
        if let firstBeat = seen[2].engineBeats.first, let done = seen[2].done {
            print("ExecutionUnit pointwise 64 positions without back-pressure: \(done - firstBeat) cycles from the first engine beat to pass_done")
            // The 64 positions leave back to back from the first result on: one position per cycle.
            XCTAssertEqual(done - firstBeat, unit.drainLatency(.pointwise) + 64 - 1, "pointwise: the output runs at one position per cycle")
            XCTAssertEqual(seen[2].engineBeats.count, 8)
        } else {
            XCTFail("pointwise: engine beats and pass_done")
        }
        let foldedBeats = seen[4].engineBeats
        if let firstBeat = foldedBeats.first, let lastBeat = foldedBeats.last, let done = seen[4].done {
            print("ExecutionUnit folded 64 positions × 2 beats without back-pressure: engine beats over \(lastBeat - firstBeat + 1) cycles, "
                  + "pass_done \(done - lastBeat) cycles after the last")
            // One engine beat per position, each as soon as its second stream beat is in.
            XCTAssertEqual(foldedBeats.count, 64, "folded: one engine beat per position")
            XCTAssertEqual(lastBeat - firstBeat, 2 * (64 - 1), "folded: a position every 2 cycles, at the stream's beat per cycle")
            XCTAssertEqual(done - lastBeat, unit.drainLatency(.standard), "folded: pass_done after the standard drain latency")
        } else {
            XCTFail("folded: engine beats and pass_done")
        }
    }

    func testVerilogIsLintCleanInVerilatorIcarusAndYosys() throws {
        try assertThreeToolLintClean(ExecutionUnit(config: Self.config).module())
        // Narrow data and weights: the bytes of the stream are narrowed and widened explicitly.
        var narrow = Self.config
        narrow.dataWidth = 4
        narrow.weightWidth = 5
        try assertThreeToolLintClean(ExecutionUnit(config: narrow).module())
    }

    func testTheModuleNameCarriesEveryParameter() throws {
        XCTAssertEqual(try ExecutionUnit(config: Self.config).name, "ExecutionUnit_k9_c4_f4_d2_b16_o64_r32_x8_w8_a32")
    }

    // MARK: the bench: a beat FIFO in front of the unit plays the ControlUnit's data side

    /// The unit behind a deep FIFO of phase-tagged beats (pushed by the stimulus at fixed cycles;
    /// `gate` makes random gaps in `in_valid`), so the open-loop stimulus still obeys valid/ready.
    /// Weight beats (phase 1 in the stimulus) go into a FIFO of their own in front of `wt_*`, with
    /// their set's layout and last-beat flag, as the WeightStreamer hands them over.
    private func bench(_ c: AcceleratorConfig) throws -> Module {
        let b = c.streamBytes
        let eu = try ExecutionUnit(config: c).module()
        let feed = FIFO(depth: 1024, payload: .uint(2 + 8 * b), firstWordFallThrough: true, storage: .memory(.block))
        return Module("ExecutionUnitBench_\(eu.name)") { m in
            let u = m.instance(eu, "unit")
            let f = m.instance(feed.module, "beat_fifo")
            f.push_valid.assign(m.input("feed_push", .bool))
            let phase = m.input("feed_phase", .uint(2))
            let feedBytes = (0 ..< b).map { m.input("feed_byte_\($0)", .sint(8)) }
            f.push_payload.assign(cat([phase] + feedBytes.reversed()))
            m.output("feed_ready", f.push_ready)
            m.output("feed_count", f.count)
            m.discard(f.full)
            m.discard(f.empty)
            let gate = m.input("gate", .bool)
            u.in_valid.assign(f.pop_valid && gate)
            f.pop_ready.assign(u.in_ready && gate)
            u.in_phase.assign(f.pop_payload.bits(8 * b + 1, 8 * b))
            for i in 0 ..< b { u.port("in_byte_\(i)").assign(f.pop_payload.bits(8 * i + 7, 8 * i).asSigned) }
            let w = m.instance(feed.module, "weight_fifo")
            let wtFields = [m.input("wt_feed_last", .bool), m.input("wt_feed_wide", .bool)]
            w.push_valid.assign(m.input("wt_feed_push", .bool))
            // The FIFO's two tag bits are the set's last-beat flag and wide flag; the bench pushes a
            // pass's weights after its start, so the set's mode is the running pass's.
            w.push_payload.assign(cat(wtFields + feedBytes.reversed()))
            m.discard(w.push_ready)
            m.discard(w.count)
            m.discard(w.full)
            m.discard(w.empty)
            u.wt_valid.assign(w.pop_valid && gate)
            w.pop_ready.assign(u.wt_ready && gate)
            u.wt_set_last.assign(w.pop_payload[8 * b + 1])
            u.wt_wide.assign(w.pop_payload[8 * b])
            let mode = m.input("mode", .uint(2))
            u.wt_mode.assign(mode)
            for i in 0 ..< b { u.port("wt_byte_\(i)").assign(w.pop_payload.bits(8 * i + 7, 8 * i).asSigned) }
            let fed = Set(["in_valid", "in_phase", "clk", "rst", "wt_valid", "wt_set_last", "wt_wide", "wt_mode", "mode"]
                          + (0 ..< b).flatMap { ["in_byte_\($0)", "wt_byte_\($0)"] })
            u.mode.assign(mode)
            for p in eu.portList where p.isInput && !fed.contains(p.name) { u.port(p.name).assign(m.input(p.name, p.type)) }
            for p in eu.portList where !p.isInput { m.output(p.name, u.port(p.name)) }
        }
    }

    /// What the run saw of each pass: the cycles of its engine beats and of its pass_done.
    private struct Observed {
        var engineBeats: [Int]
        var done: Int?
    }

    /// Runs the passes one after another, each started 1 to 4 cycles after the previous one's
    /// `pass_done`, and checks the output beats, their `out_last`, the engine beats and every
    /// `pass_done` (one per pass, after the pass's last output beat, before the next pass).
    @discardableResult
    private func run(_ passes: [EUPass], _ sim: Simulator, _ c: AcceleratorConfig, rng: inout SplitMix, context: String,
                     backPressure: Bool = true) throws -> [Observed] {
        let b = c.streamBytes
        var stimulus: [[String: Int]] = [["feed_push": 0, "gate": 1, "out_ready": 1, "pass_start": 0]]
        var starts: [Int] = []
        for pass in passes {
            XCTAssertLessThanOrEqual(pass.expected.count, c.outputBufferDepth, "\(pass.label): the mapper's limit on positions per pass")
            let t0 = stimulus.count
            starts.append(t0)
            // One long output stall per pass (longer than every buffer behind the engine), at a
            // random point of its pixels, besides the short random ones.
            let longStall = 80 + rng.below(60)
            let stallAt = pass.beats.count / 2 + rng.below(pass.beats.count / 2 + 1)
            let span = 4 * (pass.beats.count + 2 * pass.expected.count) + 160 + longStall
            var cycles = [[String: Int]](repeating: [:], count: span)
            cycles[0] = pass.fields.merging(["pass_start": 1]) { $1 }
            cycles[1]["pass_start"] = 0
            let weightBeats = pass.beats.filter { $0.phase == 1 }.count
            var weightBeat = 0
            for (i, beat) in pass.beats.enumerated() {
                var d = ["feed_push": 1, "feed_phase": beat.phase, "wt_feed_push": 0]
                if beat.phase == 1 {
                    // A weight beat: into the weight FIFO, with its set's layout.
                    weightBeat += 1
                    d = ["feed_push": 0, "wt_feed_push": 1, "wt_feed_last": weightBeat == weightBeats ? 1 : 0,
                         "wt_feed_wide": pass.fields["wide", default: 0] != 0 && pass.fields["mode"] == 1 ? 1 : 0]
                }
                for j in 0 ..< b { d["feed_byte_\(j)"] = beat.bytes[j] }
                cycles[1 + i].merge(d) { $1 }
            }
            cycles[1 + pass.beats.count]["feed_push"] = 0
            cycles[1 + pass.beats.count]["wt_feed_push"] = 0
            // Random input gaps and output back-pressure, with a long output stall now and then.
            var stall = 0
            for t in 0 ..< span {
                if t == stallAt && backPressure { stall = longStall }
                if stall == 0 && rng.below(40) == 0 && backPressure { stall = 5 + rng.below(30) }
                let ready = stall > 0 ? 0 : (rng.below(5) < 3 || !backPressure ? 1 : 0)
                if stall > 0 { stall -= 1 }
                cycles[t].merge(["gate": rng.below(5) < 4 || !backPressure ? 1 : 0, "out_ready": ready]) { $1 }
            }
            stimulus += cycles
            // Like the ControlUnit (whose record prefetch starts a pass a few cycles after the last
            // one ended), start the next pass 1 to 4 cycles after this one's pass_done: simulate up
            // to here and cut the stimulus there.
            let seen = try sim.run(stimulus)
            if let done = (t0 + 1 ..< seen.count).first(where: { seen[$0]["pass_done"] == 1 }) {
                stimulus.removeLast(stimulus.count - (done + 1 + 1 + rng.below(4)))
            }
        }
        stimulus += [[String: Int]](repeating: ["out_ready": 1, "gate": 1], count: 50)
        let out = try sim.run(stimulus)

        var outputs: [(cycle: Int, bytes: [Int], last: Bool)] = []
        var dones: [Int] = []
        var feedOverflow = false, beatsLeftAtDone = false
        var engineBeats: [Int] = []
        var activity = 0, activityDecreased = false
        for (t, o) in out.enumerated() {
            if stimulus[t]["feed_push"] == 1 && o["feed_ready"] != 1 { feedOverflow = true }
            if o["out_valid"] == 1 && stimulus[t]["out_ready"] == 1 {
                outputs.append((t, (0 ..< b).map { Int(Int8(truncatingIfNeeded: o["out_byte_\($0)"] ?? 0)) }, o["out_last"] == 1))
            }
            if o["pass_done"] == 1 {
                dones.append(t)
                if o["feed_count"] != 0 { beatsLeftAtDone = true }
            }
            if o["engine_beat"] == 1 { engineBeats.append(t) }
            if let a = o["activity"] {
                if a < activity { activityDecreased = true }
                activity = a
            }
        }
        XCTAssertFalse(activityDecreased, "\(context): the activity counter never goes back")
        let bound = passes.reduce(0) { $0 + $1.engineBeats } * c.pk * c.pc * c.pf
        XCTAssertTrue(activity > 0 && activity <= bound, "\(context): activity \(activity) counts multipliers that worked, at most \(bound)")
        XCTAssertFalse(feedOverflow, "\(context): the bench's beat FIFO never overflows")
        XCTAssertFalse(beatsLeftAtDone, "\(context): every beat of a pass is taken by its pass_done")
        XCTAssertEqual(out.last?["feed_count"], 0, "\(context): every beat was taken")
        XCTAssertEqual(dones.count, passes.count, "\(context): one pass_done per pass")

        var next = 0
        var observed: [Observed] = []
        for (p, pass) in passes.enumerated() {
            let end = p + 1 < passes.count ? starts[p + 1] : stimulus.count
            let mine = outputs[next...].prefix { $0.cycle < end }
            next += mine.count
            let label = "\(context), pass \(p) (\(pass.label))"
            XCTAssertEqual(mine.count, pass.expected.count, "\(label): output beats")
            for (i, (got, want)) in zip(mine, pass.expected).enumerated() {
                XCTAssertEqual(got.bytes, want, "\(label): output beat \(i)")
                XCTAssertEqual(got.last, i == pass.expected.count - 1, "\(label): out_last on beat \(i)")
                if got.bytes != want { break }
            }
            XCTAssertEqual(engineBeats.filter { $0 > starts[p] && $0 < end }.count, pass.engineBeats, "\(label): engine beats")
            let done = dones.filter { $0 > starts[p] && $0 < end }
            observed.append(Observed(engineBeats: engineBeats.filter { $0 > starts[p] && $0 < end }, done: done.first))
            XCTAssertEqual(done.count, 1, "\(label): pass_done once, before the next pass starts")
            if let d = done.first, let lastOut = mine.last {
                XCTAssertGreaterThan(d, lastOut.cycle, "\(label): pass_done after the last output beat")
            }
        }
        XCTAssertEqual(next, outputs.count, "\(context): no output beats outside the passes")
        let stalled = zip(stimulus, out).filter { $0.0["out_ready"] == 0 && $0.1["out_valid"] == 1 }.count
        print("ExecutionUnit \(context): \(passes.count) passes, \(outputs.count) output beats, \(dones.count) pass_done, "
              + "\(stimulus.count) cycles, \(stalled) cycles of out_valid held by out_ready")
        return observed
    }
}

// MARK: the passes the ControlUnit would run, and what each must output

/// ADD parameters from random scales and zero points (TFLite's derivation), and which input the
/// convolution/copy result is.
private struct EUResidual {
    var add: AddParameters
    var resultSecond: Bool

    init(resultSecond: Bool, rng: inout SplitMix) throws {
        func scale() -> Float { 0.01 + Float(rng.below(900)) / 10_000 }
        func zp() -> Int32 { Int32(rng.below(128)) - 64 }
        let relu = rng.below(2) == 0
        let outZp = zp(), s1 = scale(), s2 = scale()
        // An output scale near the sum's keeps most results inside int8.
        add = try AddParameters(input1Scale: s1, input1ZeroPoint: zp(), input2Scale: s2, input2ZeroPoint: zp(),
                                 outputScale: (s1 + s2) * (0.6 + Float(rng.below(100)) / 100), outputZeroPoint: outZp,
                                 activationMin: relu ? outZp : -128, activationMax: 127)
        self.resultSecond = resultSecond
    }

    /// The ADD of a result byte and its residual byte.
    func apply(_ result: Int8, _ residual: Int8) -> Int8 {
        resultSecond ? add.add(residual, result) : add.add(result, residual)
    }

    var fields: [String: Int] {
        ["residual": 1, "result_second": resultSecond ? 1 : 0,
         "add_in1_offset": Int(add.input1Offset), "add_in2_offset": Int(add.input2Offset),
         "add_in1_multiplier": Int(add.input1Multiplier), "add_in2_multiplier": Int(add.input2Multiplier),
         "add_out_multiplier": Int(add.outputMultiplier), "add_in1_shift": add.input1Shift, "add_in2_shift": add.input2Shift,
         "add_out_shift": add.outputShift, "add_out_offset": Int(add.outputOffset),
         "add_min": Int(add.activationMin), "add_max": Int(add.activationMax)]
    }
}

/// One pass: its configuration ports, its beats in phase order, and its expected output beats.
private struct EUPass {
    var label: String
    var fields: [String: Int]
    var beats: [(phase: Int, bytes: [Int])]
    var expected: [[Int]]
    /// Beats the convolution engine takes: windows, gathered pointwise beats, or folded positions.
    var engineBeats = 0

    /// Every port a record sets, zero unless given.
    static func fields(_ given: [String: Int]) -> [String: Int] {
        let names = ["op_copy", "mode", "first", "last", "load_params", "residual", "result_second", "stride2", "pad_top",
                     "pad_bottom", "pad_left", "pad_right", "region_rows", "region_cols", "out_rows", "out_cols", "out_chunk",
                     "fill_value", "out_zp", "act_min", "act_max", "add_in1_offset", "add_in2_offset", "add_in1_multiplier",
                     "add_in2_multiplier", "add_out_multiplier", "add_in1_shift", "add_in2_shift", "add_out_shift",
                     "add_out_offset", "add_min", "add_max", "threshold", "param_records", "weight_beats",
                     "keep", "replay", "wide", "buffer_row0", "residual_span", "residual_stride", "residual_offset"]
        var d = Dictionary(uniqueKeysWithValues: names.map { ($0, 0) })
        d.merge(given) { $1 }
        return d
    }

    /// A beat of B bytes: `bytes` first, the rest `pad`.
    static func beat(_ phase: Int, _ bytes: [Int], pad: Int = 0, b: Int) -> (phase: Int, bytes: [Int]) {
        (phase, bytes + [Int](repeating: pad, count: b - bytes.count))
    }

    /// An output beat: `outChunk` bytes, zeros above.
    static func output(_ bytes: [Int8], b: Int) -> [Int] {
        bytes.map { Int($0) } + [Int](repeating: 0, count: b - bytes.count)
    }

    /// Residual beats for `rows` positions (bytes ≥ chunk are junk the unit must not use).
    static func residualBeats(_ residual: [[Int8]], b: Int, rng: inout SplitMix) -> [(phase: Int, bytes: [Int])] {
        residual.map { r in (2, r.map { Int($0) } + (r.count ..< b).map { _ in rng.below(256) - 128 }) }
    }

    /// ADD copies of the same positions, one per offset, whose residual is a span of whole
    /// `stride`-byte pixels: the first pass reads it (B bytes a beat, the last beat's tail junk),
    /// the others keep it, each taking its `chunk` bytes from its own offset into every pixel.
    static func spanCopies(positions: Int, stride: Int, offsets: [Int], chunk: Int, residual: EUResidual, b: Int,
                           rng: inout SplitMix) -> [EUPass] {
        let pixels = (0 ..< positions * stride).map { _ in Int8(truncatingIfNeeded: rng.below(256)) }
        let spanBeats = (pixels.count + b - 1) / b
        return offsets.enumerated().map { k, offset in
            let x = (0 ..< positions).map { _ in (0 ..< chunk).map { _ in Int8(truncatingIfNeeded: rng.below(256)) } }
            let fill = rng.below(256) - 128
            var f = fields(["op_copy": 1, "first": 1, "last": 1, "region_rows": 1, "region_cols": positions,
                            "out_rows": 1, "out_cols": positions, "out_chunk": chunk, "fill_value": fill,
                            "residual_span": 1, "residual_stride": stride, "residual_offset": offset])
            f.merge(residual.fields) { $1 }
            var beats: [(phase: Int, bytes: [Int])] = []
            if k == 0 {
                beats += (0 ..< spanBeats).map { n in
                    (2, (n * b ..< (n + 1) * b).map { $0 < pixels.count ? Int(pixels[$0]) : rng.below(256) - 128 })
                }
            }
            beats += x.map { beat(3, $0.map { Int($0) }, pad: fill, b: b) }
            let expected = (0 ..< positions).map { n in
                output((0 ..< chunk).map { j in residual.apply(x[n][j], pixels[n * stride + offset + j]) }, b: b)
            }
            return EUPass(label: "copy of \(positions) × \(chunk) bytes, residual span of \(stride)-byte pixels at +\(offset)"
                          + (k == 0 ? " (\(spanBeats) beats)" : " (kept)"), fields: f, beats: beats, expected: expected)
        }
    }

    static func copy(positions: Int, chunk: Int, residual: EUResidual?, b: Int, rng: inout SplitMix) -> EUPass {
        let x = (0 ..< positions).map { _ in (0 ..< chunk).map { _ in Int8(truncatingIfNeeded: rng.below(256)) } }
        let r = (0 ..< positions).map { _ in (0 ..< chunk).map { _ in Int8(truncatingIfNeeded: rng.below(256)) } }
        let fill = rng.below(256) - 128
        var f = fields(["op_copy": 1, "first": 1, "last": 1, "region_rows": 1, "region_cols": positions,
                        "out_rows": 1, "out_cols": positions, "out_chunk": chunk, "fill_value": fill])
        var beats: [(phase: Int, bytes: [Int])] = []
        if let residual {
            f.merge(residual.fields) { $1 }
            beats += residualBeats(r, b: b, rng: &rng)
        }
        beats += x.map { beat(3, $0.map { Int($0) }, pad: fill, b: b) }
        let expected = (0 ..< positions).map { n in
            output(residual.map { res in zip(x[n], r[n]).map { res.apply($0, $1) } } ?? x[n], b: b)
        }
        return EUPass(label: "copy of \(positions) × \(chunk) bytes" + (residual.map { $0.resultSecond ? ", add(r, x)" : ", add(x, r)" } ?? ""),
                      fields: f, beats: beats, expected: expected)
    }
}

/// A convolution layer's tensors and how the mapper splits it into passes.
private struct EULayer {
    /// `folded`: a pointwise layer (same tensors, same outputs) run as folded passes (mode 3).
    /// `wide`: a pointwise layer run as wide passes (S = pointwiseSlices filter groups a position).
    enum Kind { case standard, pointwise, depthwise, folded, wide }
    var kind: Kind
    var h, w, cin, cout: Int
    var stride2 = false
    var pads = (top: false, bottom: false, left: false, right: false)
    var threshold = 0
    var input: [Int8]            // HWC
    var weights: [Int8]          // standard [O][3][3][I], pointwise and folded [O][I], depthwise [3][3][C]
    var bias: [Int32], multipliers: [Int32], shifts: [Int]
    var inZp, outZp, actMin, actMax: Int32
    var residual: EUResidual?
    var residualTensor: [Int8]   // [OH·OW][cout]
    var reuse = false


    /// A 1×1 layer, whichever mode runs it.
    var isPointwise: Bool { kind == .pointwise || kind == .folded || kind == .wide }
    var taps: Int { isPointwise ? 1 : 9 }
    var oh: Int { isPointwise ? h : ReshapeUnit.outputSize(h, padBefore: pads.top, padAfter: pads.bottom, stride2: stride2) }
    var ow: Int { isPointwise ? w : ReshapeUnit.outputSize(w, padBefore: pads.left, padAfter: pads.right, stride2: stride2) }

    init(kind: Kind, h: Int, w: Int, cin: Int, cout: Int, stride2: Bool, pads: (Bool, Bool, Bool, Bool), threshold: Int,
         residual: EUResidual?, rng: inout SplitMix) {
        func int8() -> Int8 { Int8(truncatingIfNeeded: rng.below(256)) }
        self.kind = kind
        self.h = h; self.w = w; self.cin = cin; self.cout = cout
        self.stride2 = stride2
        self.pads = (pads.0, pads.1, pads.2, pads.3)
        self.threshold = threshold
        input = (0 ..< h * w * cin).map { _ in int8() }
        let n = kind == .depthwise ? 9 * cout : cout * (kind == .pointwise || kind == .folded || kind == .wide ? 1 : 9) * cin
        weights = (0 ..< n).map { _ in int8() }
        bias = (0 ..< cout).map { _ in Int32(rng.below(20_000)) - 10_000 }
        let q = (0 ..< cout).map { _ in FixedPoint.quantizeMultiplier(0.0001 + Double(rng.below(2000)) / 1_000_000) }
        multipliers = q.map(\.multiplier)
        shifts = q.map(\.shift)
        inZp = Int32(rng.below(256)) - 128
        outZp = Int32(rng.below(64)) - 32
        let relu = rng.below(2) == 0
        actMin = relu ? outZp : -128
        actMax = relu ? min(127, outZp + 90) : 127
        self.residual = residual
        residualTensor = []
        residualTensor = (0 ..< oh * ow * cout).map { _ in int8() }
    }

    static func standard(h: Int, w: Int, cin: Int, cout: Int, stride2: Bool, pads: (Bool, Bool, Bool, Bool),
                         residual: EUResidual? = nil, rng: inout SplitMix) -> EULayer {
        EULayer(kind: .standard, h: h, w: w, cin: cin, cout: cout, stride2: stride2, pads: pads, threshold: 0, residual: residual, rng: &rng)
    }

    static func pointwise(h: Int, w: Int, cin: Int, cout: Int, residual: EUResidual? = nil, rng: inout SplitMix) -> EULayer {
        EULayer(kind: .pointwise, h: h, w: w, cin: cin, cout: cout, stride2: false, pads: (false, false, false, false), threshold: 0,
                residual: residual, rng: &rng)
    }

    static func wide(h: Int, w: Int, cin: Int, cout: Int, rng: inout SplitMix) -> EULayer {
        EULayer(kind: .wide, h: h, w: w, cin: cin, cout: cout, stride2: false, pads: (false, false, false, false), threshold: 0,
                residual: nil, rng: &rng)
    }

    /// `reuse`: the first filter group's passes keep their positions in the input buffer (chunk k at
    /// words k·H·W ...) and the later groups replay them, one junk pixel beat per position.
    static func folded(h: Int, w: Int, cin: Int, cout: Int, residual: EUResidual? = nil, reuse: Bool = false, rng: inout SplitMix) -> EULayer {
        var layer = EULayer(kind: .folded, h: h, w: w, cin: cin, cout: cout, stride2: false, pads: (false, false, false, false), threshold: 0,
                            residual: residual, rng: &rng)
        layer.reuse = reuse
        return layer
    }

    static func depthwise(h: Int, w: Int, channels: Int, stride2: Bool, pads: (Bool, Bool, Bool, Bool), threshold: Int,
                          rng: inout SplitMix) -> EULayer {
        EULayer(kind: .depthwise, h: h, w: w, cin: channels, cout: channels, stride2: stride2, pads: pads, threshold: threshold,
                residual: nil, rng: &rng)
    }

    /// The layer's output [OH·OW][cout], by slow loops over the tensors (TFLite's CONV_2D /
    /// DEPTHWISE_CONV_2D: taps outside the image are skipped), then the ADD where fused.
    func model() -> [[Int8]] {
        let s = stride2 ? 2 : 1, pt = pads.top ? 1 : 0, pl = pads.left ? 1 : 0
        func weight(_ oc: Int, _ ky: Int, _ kx: Int, _ ic: Int) -> Int32 {
            let wv: Int8 = switch kind {
            case .standard: weights[((oc * 3 + ky) * 3 + kx) * cin + ic]
            case .pointwise, .folded, .wide: weights[oc * cin + ic]
            case .depthwise: weights[(ky * 3 + kx) * cout + oc]
            }
            return abs(Int(wv)) <= threshold ? 0 : Int32(wv)
        }
        return (0 ..< oh * ow).map { n in
            let oy = n / ow, ox = n % ow
            return (0 ..< cout).map { oc -> Int8 in
                var acc: Int32 = 0
                for ky in 0 ..< (isPointwise ? 1 : 3) {
                    for kx in 0 ..< (isPointwise ? 1 : 3) {
                        let iy = isPointwise ? oy : oy * s - pt + ky
                        let ix = isPointwise ? ox : ox * s - pl + kx
                        guard (0 ..< h).contains(iy), (0 ..< w).contains(ix) else { continue }
                        let channels = kind == .depthwise ? [oc] : Array(0 ..< cin)
                        for ic in channels {
                            acc = acc &+ weight(oc, ky, kx, ic) &* (Int32(input[(iy * w + ix) * cin + ic]) - inZp)
                        }
                    }
                }
                let y = FixedPoint.requantize(acc: acc &+ bias[oc], multiplier: multipliers[oc], shift: shifts[oc],
                                              outputZeroPoint: outZp, min: actMin, max: actMax)
                return residual.map { $0.apply(y, residualTensor[n * cout + oc]) } ?? y
            }
        }
    }

    /// The mapper's passes: per result group (PF filters, or for depthwise S = depthwiseSlices
    /// PC-channel slices, a pixel's S·PC channels a beat) and input-channel slice, with params
    /// (`lanes` records per slice) on the group's first pass and the outputs on its last.
    /// Folded layers take chunks of up to 9·PC channels (`foldChunks`) instead of PC-channel slices.
    func passes(_ c: AcceleratorConfig) -> [EUPass] {
        let pc = c.pc, pf = c.pf, b = c.streamBytes, lanes = max(pc, pf), t = c.foldTaps, sd = c.depthwiseSlices
        let sw = c.pointwiseSlices, kw = c.pointwiseBeatSlices
        // The input channels of each pass of a group (a depthwise group reads its own channels, below).
        let slices: [(first: Int, count: Int)] = switch kind {
        case .depthwise: [(0, sd * pc)]
        case .folded: foldChunks(c)
        // Wide: K slices a beat.
        case .wide: stride(from: 0, to: cin, by: kw * pc).map { ($0, min(kw * pc, cin - $0)) }
        default: stride(from: 0, to: cin, by: pc).map { ($0, min(pc, cin - $0)) }
        }
        let perGroup = kind == .depthwise ? sd * pc : kind == .wide ? sw * pf : pf
        let groups = (cout + perGroup - 1) / perGroup
        let y = model()
        var out: [EUPass] = []
        for g in 0 ..< groups {
            let chunk = min(perGroup, cout - g * perGroup)
            // Parameter groups of `lanes` records: a depthwise pass's slices, a wide pass's filter groups.
            let paramSlices = kind == .depthwise ? sd : kind == .wide ? (chunk + pf - 1) / pf : 1
            for (sl, slice) in slices.enumerated() {
                let first = sl == 0, last = sl == slices.count - 1
                let channel0 = kind == .depthwise ? g * perGroup : slice.first
                let inChunk = min(slice.count, cin - channel0)
                // Folded: each position is a region row of `beatsPerPosition` beats (t PC-channel
                // slices each), and the outputs are the positions as one row, as the mapper writes it.
                let beatsPerPosition = (inChunk + t * pc - 1) / (t * pc)
                let folded = kind == .folded
                let mode = switch kind { case .standard: 0; case .pointwise, .wide: 1; case .depthwise: 2; case .folded: 3 }
                var f = EUPass.fields([
                    "mode": mode, "first": first ? 1 : 0, "last": last ? 1 : 0,
                    "load_params": first ? 1 : 0, "stride2": stride2 ? 1 : 0,
                    "pad_top": pads.top ? 1 : 0, "pad_bottom": pads.bottom ? 1 : 0, "pad_left": pads.left ? 1 : 0,
                    "pad_right": pads.right ? 1 : 0, "region_rows": folded ? h * w : h, "region_cols": folded ? beatsPerPosition : w,
                    "out_rows": folded ? 1 : oh, "out_cols": folded ? h * w : ow,
                    "out_chunk": chunk, "fill_value": Int(inZp), "out_zp": Int(outZp), "act_min": Int(actMin), "act_max": Int(actMax),
                    "threshold": threshold, "param_records": first ? paramSlices * lanes : 0])
                if kind == .wide { f["wide"] = 1 }
                let replay = folded && reuse && g > 0
                if folded && reuse {
                    f["keep"] = g == 0 ? 1 : 0; f["replay"] = replay ? 1 : 0; f["buffer_row0"] = sl * h * w
                    if replay { f["region_cols"] = 1 }
                }
                var beats: [(phase: Int, bytes: [Int])] = []
                if first {
                    // The records, parameterRecordsPerBeat to a beat (record k in bytes 16k ..< 16k + 16).
                    var records = [[Int]]()
                    for sl in 0 ..< paramSlices { for j in 0 ..< lanes {
                        // Depthwise slice sl's channel j (wide: filter group sl's filter j) is lane j of
                        // parameter group sl.
                        let oc = kind == .depthwise ? g * perGroup + sl * pc + j : kind == .wide ? g * perGroup + sl * pf + j : g * perGroup + j
                        let real = (kind == .depthwise ? j < pc : kind == .wide ? j < pf : j < perGroup) && oc < cout
                        let words = real ? [Int(bias[oc]), Int(multipliers[oc]), shifts[oc], 0] : [0, 0, 0, 0]
                        records.append(words.flatMap { v in (0 ..< 4).map { Int(Int8(truncatingIfNeeded: v >> (8 * $0))) } })
                    } }
                    let perBeat = c.parameterRecordsPerBeat
                    for first in stride(from: 0, to: records.count, by: perBeat) {
                        beats.append(EUPass.beat(0, records[first ..< min(records.count, first + perBeat)].flatMap { $0 }, pad: 99, b: b))
                    }
                }
                // The weight set in the mode's byte order.
                var set: [Int] = []
                switch kind {
                case .standard:
                    for k in 0 ..< 9 { for ch in 0 ..< pc { for fl in 0 ..< pf {
                        let oc = g * pf + fl, ic = slice.first + ch
                        set.append(oc < cout && ic < cin ? Int(weights[(oc * 9 + k) * cin + ic]) : 0)
                    } } }
                case .pointwise:
                    for ch in 0 ..< pc { for fl in 0 ..< pf {
                        let oc = g * pf + fl, ic = slice.first + ch
                        set.append(oc < cout && ic < cin ? Int(weights[oc * cin + ic]) : 0)
                    } }
                case .wide:
                    // Filter group v's weights of the beat's slice q on pixel lane q·S + v: byte
                    // ((q·S + v)·PC + c)·PF + f, up to the last slice's last group.
                    let beatSlices = (inChunk + pc - 1) / pc
                    for q in 0 ..< beatSlices { for v in 0 ..< (q == beatSlices - 1 ? paramSlices : sw) { for ch in 0 ..< pc { for fl in 0 ..< pf {
                        let oc = g * perGroup + v * pf + fl, ic = slice.first + q * pc + ch
                        set.append(v < paramSlices && oc < cout && ic < cin ? Int(weights[oc * cin + ic]) : 0)
                    } } } }
                case .depthwise:
                    // Slice s's taps on window group s: byte (s·9 + k)·PC + c.
                    for s in 0 ..< sd { for k in 0 ..< 9 { for ch in 0 ..< pc {
                        let cc = g * perGroup + s * pc + ch
                        set.append(cc < cout ? Int(weights[k * cout + cc]) : 0)
                    } } }
                case .folded:
                    // The standard layout with chunk channel d = k·PC + c on tap k, channel c. A real
                    // filter's weights beyond the chunk are random and nonzero, not the mapper's zeros:
                    // those taps get the fill value (the input zero point), either from the control unit
                    // (the rest of a beat) or from the unit itself (taps no beat of the position carries,
                    // k ≥ beatsPerPosition·t, still holding the previous pass's data), so they must add 0.
                    var junk = SplitMix(state: UInt64(g * 97 + sl * 13 + 5))
                    for d in 0 ..< 9 * pc { for fl in 0 ..< pf {
                        let oc = g * pf + fl
                        let nonzero = Int(Int8(truncatingIfNeeded: 1 + junk.below(255)))
                        set.append(oc >= cout ? 0 : d < slice.count ? Int(weights[oc * cin + slice.first + d]) : nonzero)
                    } }
                }
                let weightBeats = (set.count + b - 1) / b
                f["weight_beats"] = weightBeats
                for i in 0 ..< weightBeats {
                    beats.append(EUPass.beat(1, Array(set[(i * b) ..< min(set.count, (i + 1) * b)]), pad: 77, b: b))
                }
                if last, let residual {
                    f.merge(residual.fields) { $1 }
                    var rng = SplitMix(state: UInt64(g * 31 + 7))
                    let r = (0 ..< oh * ow).map { n in (0 ..< chunk).map { residualTensor[n * cout + g * perGroup + $0] } }
                    beats += EUPass.residualBeats(r, b: b, rng: &rng)
                }
                var junk = SplitMix(state: UInt64(g * 1009 + sl * 101 + 3))
                for n in 0 ..< h * w {
                    if replay {
                        // The position comes from the input buffer: whatever the beat carries is ignored.
                        beats.append((3, (0 ..< b).map { _ in junk.below(256) - 128 }))
                    } else if folded {
                        // Beat x carries chunk channels x·t·PC ..< (x + 1)·t·PC (byte j·PC + c: tap x·t + j,
                        // channel c); bytes at or above the chunk are the fill value, as the control unit sends them.
                        for x in 0 ..< beatsPerPosition {
                            let px = (0 ..< t * pc).map { i in
                                let d = x * t * pc + i
                                return d < slice.count ? Int(input[n * cin + slice.first + d]) : Int(inZp)
                            }
                            beats.append(EUPass.beat(3, px, pad: Int(inZp), b: b))
                        }
                    } else {
                        let px = (0 ..< inChunk).map { Int(input[n * cin + channel0 + $0]) }
                        beats.append(EUPass.beat(3, px, pad: Int(inZp), b: b))
                    }
                }
                let expected = last ? (0 ..< oh * ow).map { n in EUPass.output((0 ..< chunk).map { y[n][g * perGroup + $0] }, b: b) } : []
                let part = folded ? "chunk \(sl) (channels \(slice.first) ..< \(slice.first + slice.count), \(beatsPerPosition) beats a position)"
                    : "slice \(sl)"
                out.append(EUPass(label: "\(kind) \(h)×\(w)×\(cin) → \(cout), group \(g), \(part)"
                                  + (residual.map { $0.resultSecond ? ", add(r, y)" : ", add(y, r)" } ?? ""),
                                  fields: f, beats: beats, expected: expected,
                                  engineBeats: kind == .pointwise ? (h * w + c.pv - 1) / c.pv : oh * ow))
            }
        }
        return out
    }

    /// A folded layer's channel chunks, as ControlPlan.foldChunks makes them: 9·PC channels, the
    /// last one what is left (its last beat partly fill).
    func foldChunks(_ c: AcceleratorConfig) -> [(first: Int, count: Int)] {
        stride(from: 0, to: cin, by: 9 * c.pc).map { ($0, min(9 * c.pc, cin - $0)) }
    }
}
