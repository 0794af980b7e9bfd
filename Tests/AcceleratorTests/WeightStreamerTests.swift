import Accelerator
import HDLKit
import XCTest

/// WeightStreamer against a Swift memory with latency and a consumer that stalls: the stream is
/// asked for in `commandBeats` commands from WEIGHT_BASE on, never more than the window (at least
/// `windowBeats`, the weight buffer's depth where that is more) ahead of what the consumer took;
/// the buffer takes the stream's beats while the consumer stalls, up to its depth; each announced
/// set reaches the consumer whole, in order, with its layout and its last beat marked; a flush
/// drops whatever was asked for and not needed, and `idle` comes only when nothing is left in
/// flight.
final class WeightStreamerTests: XCTestCase {
    private struct Bench: ControlTestBench {
        let b = 16
        let base = 0x1000, total: Int
        /// Announced sets: beats, mode, wide; pushed one a cycle from cycle 3 on while the streamer
        /// holds fewer than `setDepth` (as the control unit does).
        let sets: [(beats: Int, mode: Int, wide: Bool)]
        /// The consumer takes nothing before this cycle, then about two beats in three.
        let consumeFrom: Int
        /// Flush once this many beats were delivered (nil: never).
        let flushAfter: Int?
        var rng = SplitMix(state: 0x57)
        var cycle = 0
        var pushed = 0
        var commands: [(address: Int, count: Int, cycle: Int)] = []
        var queue: [(address: Int, readyAt: Int)] = []   // beats asked for, in order, with their arrival
        var taken = 0                                      // beats taken off the stream
        var delivered: [(byte: Int, last: Bool, mode: Int, wide: Bool)] = []
        var dropped = 0                                    // beats taken and dropped while flushing
        var mostAhead = 0, mostBuffered = 0
        var flushing = false
        var idleSeen: Int?
        var validWhileFlushing = false
        var consumerReady = false, cmdReady = true
        var held = 0
        let latency = 20

        var setBeats: Int { sets.reduce(0) { $0 + $1.beats } }
        var finished: Bool { idleSeen != nil || (flushAfter == nil && delivered.count == setBeats) || cycle > 6000 }
        /// Commands that were not B-byte beats of one row.
        var oddCommands = 0

        func inputs() -> [String: Int] {
            var i: [String: Int] = ["start": cycle == 1 ? 1 : 0, "weight_base": base, "weight_beats": total,
                                    "flush": flushing ? 1 : 0, "m_wt_cmd_ready": cmdReady ? 1 : 0, "wt_ready": consumerReady ? 1 : 0,
                                    "set_push": 0, "set_beats": 0, "set_mode": 0, "set_wide": 0, "s_axis_wt_tvalid": 0, "s_axis_wt_tlast": 0]
            if cycle >= 3 && pushed < sets.count && held < WeightStreamer.setDepth {
                i["set_push"] = 1; i["set_beats"] = sets[pushed].beats; i["set_mode"] = sets[pushed].mode; i["set_wide"] = sets[pushed].wide ? 1 : 0
            }
            for k in 0 ..< b { i["s_axis_wt_tdata_\(k)"] = 0 }
            if let beat = queue.first, beat.readyAt <= cycle {
                i["s_axis_wt_tvalid"] = 1
                for k in 0 ..< b { i["s_axis_wt_tdata_\(k)"] = (beat.address + k) & 0xFF }
            }
            return i
        }

        mutating func observe(_ o: [String: Int], _ i: [String: Int]) {
            func v(_ n: String) -> Int { o[n, default: 0] }
            if i["set_push"] == 1 { pushed += 1 }
            held = v("sets_held") + (i["set_push"] == 1 ? 1 : 0)
            if v("m_wt_cmd_valid") == 1 && cmdReady {
                let count = v("m_wt_cmd_count1")
                commands.append((v("m_wt_cmd_address"), count, cycle))
                if [v("m_wt_cmd_chunk"), v("m_wt_cmd_stride1"), v("m_wt_cmd_count2")] != [b, b, 1] { oddCommands += 1 }
                for n in 0 ..< count { queue.append((v("m_wt_cmd_address") + n * b, cycle + latency)) }
            }
            if flushing && v("wt_valid") == 1 { validWhileFlushing = true }
            if v("wt_valid") == 1 && consumerReady {
                delivered.append((v("wt_byte_0") & 0xFF, v("wt_set_last") == 1, v("wt_mode"), v("wt_wide") == 1))
            }
            if i["s_axis_wt_tvalid"] == 1 && v("s_axis_wt_tready") == 1 {
                queue.removeFirst()
                taken += 1
            }
            if flushing { dropped = taken - delivered.count }
            let asked = commands.reduce(0) { $0 + $1.count }
            mostAhead = max(mostAhead, asked - delivered.count - dropped)
            mostBuffered = max(mostBuffered, taken - delivered.count - dropped)
            if let f = flushAfter, delivered.count >= f { flushing = true }
            if flushing && v("idle") == 1 && idleSeen == nil { idleSeen = cycle }
            cycle += 1
            consumerReady = cycle >= consumeFrom && rng.below(3) != 0
            cmdReady = rng.below(4) != 0
        }
    }

    /// The paper's configuration at B = 16 with a weight buffer of `words` words of 2,304 bytes
    /// (144 beats each).
    private func config(bufferWords words: Int) -> AcceleratorConfig {
        var c = AcceleratorConfig(); c.weightBufferDepth = words
        return c
    }

    private func simulator(_ c: AcceleratorConfig) throws -> Simulator {
        let streamer = try WeightStreamer(config: c).module
        let top = Module("WeightStreamerBench") { m in
            let u = m.instance(streamer, "dut")
            for p in streamer.portList {
                if p.name == "s_axis_wt_tdata" {
                    u.port(p.name).assign(cat((0 ..< 16).reversed().map { m.input("s_axis_wt_tdata_\($0)", .uint(8)) }))
                } else if p.isInput {
                    u.port(p.name).assign(m.input(p.name, p.type))
                } else {
                    m.output(p.name, u.port(p.name))
                }
            }
        }
        return try Simulator(Design(top: top))
    }

    /// A buffer of one word (144 beats) is shallower than the window of 256 beats: the stream
    /// fills it and waits in the memory; one of three words (432 beats) is deeper, so the window is
    /// its depth and every beat asked for has room in it (while the consumer takes nothing, 13
    /// commands of 32 beats: a 14th would pass the window).
    func testTheStreamRunsAWindowAheadAndCutsItIntoTheAnnouncedSets() throws {
        let sets: [(beats: Int, mode: Int, wide: Bool)] = [(9, 0, false), (1, 1, false), (144, 3, false), (40, 1, true), (106, 2, false)]
        let total = sets.reduce(0) { $0 + $1.beats } + 400   // more than the sets: the rest is never delivered
        for (words, window, buffer, filled) in [(1, 256, 144, 144), (3, 432, 432, 416)] {
            let c = config(bufferWords: words)
            XCTAssertEqual([WeightStreamer.window(c), WeightStreamer.bufferBeats(c)], [window, buffer])
            let bench = Bench(total: total, sets: sets, consumeFrom: 600, flushAfter: nil)
            let result = try controlCosimulate(try simulator(c), bench, maxCycles: 6000, window: 512).bench
            // Commands of 32 beats from WEIGHT_BASE on, back to back in memory, never more than the
            // window ahead of what the consumer took, even while it takes nothing.
            XCTAssertEqual(result.commands.map(\.address), result.commands.indices.map { 0x1000 + $0 * 32 * 16 })
            XCTAssertTrue(result.commands.dropLast().allSatisfy { $0.count == WeightStreamer.commandBeats })
            XCTAssertLessThanOrEqual(result.commands.reduce(0) { $0 + $1.count }, total)
            XCTAssertEqual(result.oddCommands, 0)
            XCTAssertEqual(result.mostAhead, window, "it fills the window while the consumer stalls, and no more (\(words) words)")
            XCTAssertEqual(result.mostBuffered, filled, "the buffer takes beats while the consumer stalls, up to its depth (\(words) words)")
            // Every announced set, whole and in order, with its layout and its last beat marked.
            let want = sets.flatMap { s in (0 ..< s.beats).map { (last: $0 == s.beats - 1, mode: s.mode, wide: s.wide) } }
            XCTAssertEqual(result.delivered.count, want.count)
            XCTAssertEqual(result.delivered.map(\.byte), (0 ..< want.count).map { (0x1000 + $0 * 16) & 0xFF })
            XCTAssertEqual(result.delivered.map(\.last), want.map(\.last))
            XCTAssertEqual(result.delivered.map(\.mode), want.map(\.mode))
            XCTAssertEqual(result.delivered.map(\.wide), want.map(\.wide))
        }
    }

    func testAFlushDropsWhatNoSetNeedsAndIdleWaitsForIt() throws {
        let bench = Bench(total: 1000, sets: [(10, 0, false)], consumeFrom: 0, flushAfter: 10)
        let result = try controlCosimulate(try simulator(config(bufferWords: 1)), bench, maxCycles: 6000, window: 512).bench
        XCTAssertNotNil(result.idleSeen)
        XCTAssertEqual(result.delivered.count, 10)
        XCTAssertFalse(result.validWhileFlushing, "nothing reaches the consumer while flushing")
        let asked = result.commands.reduce(0) { $0 + $1.count }
        XCTAssertGreaterThan(asked, 10, "the stream ran ahead of the one set")
        XCTAssertLessThan(asked, 1000, "a flush stops the commands")
        XCTAssertEqual(result.taken, asked, "idle only once every beat asked for was taken")
        XCTAssertEqual(result.mostBuffered > 0 ? result.dropped + result.delivered.count : 0, asked, "and the buffer's beats dropped")
        XCTAssertEqual(result.oddCommands, 0)
    }
}
