import HDLKit
import XCTest

/// The standard library blocks side by side in one module (one simulator build), each driven by
/// its own random traffic and compared every cycle with a plain Swift model of its contract.
enum LibraryZoo {
    struct FIFOUnderTest {
        let tag: String
        let fifo: FIFO
    }

    static var fifos: [FIFOUnderTest] {
        [
            FIFOUnderTest(tag: "fa", fifo: FIFO(depth: 5, payload: .uint(7), firstWordFallThrough: true, storage: .registers)),
            FIFOUnderTest(tag: "fb", fifo: FIFO(depth: 5, payload: .uint(7), firstWordFallThrough: false, storage: .registers)),
            FIFOUnderTest(tag: "fc", fifo: FIFO(depth: 37, payload: .sint(9), firstWordFallThrough: true)),
            FIFOUnderTest(tag: "fd", fifo: FIFO(depth: 32, payload: .sint(9), firstWordFallThrough: false, storage: .memory(.block))),
        ]
    }

    static let tagShape = BundleShape([BundleField("valid", .bool), BundleField("data", .sint(4))])

    static func build() -> Module {
        Module("LibraryZoo") { m in
            for f in fifos {
                let u = m.instance(f.fifo.module, "u_\(f.tag)")
                m.connect(u.bundle("push", .stream(f.fifo.payload)), m.input("\(f.tag)_push", .stream(f.fifo.payload)))
                m.connect(m.output("\(f.tag)_pop", .stream(f.fifo.payload)), u.bundle("pop", .stream(f.fifo.payload)))
                for p in ["count", "full", "empty"] { m.output("\(f.tag)_\(p)", u.port(p)) }
            }
            let skid = m.instance(SkidBuffer(payload: .uint(6)).module, "u_skid")
            m.connect(skid.bundle("push", .stream(.uint(6))), m.input("sk_push", .stream(.uint(6))))
            m.connect(m.output("sk_pop", .stream(.uint(6))), skid.bundle("pop", .stream(.uint(6))))

            m.output("x_late", m.delay(m.input("x", .uint(5)), by: 3, name: "x"))
            m.connect(m.output("tag_late", tagShape), m.delay(m.input("tag", tagShape), by: 2, name: "tag", reset: ["valid": 0]))

            let beat = m.counter("beat", modulus: 6, enable: m.input("cen", .bool), clear: m.input("cclr", .bool))
            m.output("beat_value", beat.value)
            m.output("beat_wrap", beat.tick)
            let free = m.counter("free", modulus: 4)
            m.output("free_value", free.value)
            m.output("free_wrap", free.tick)
        }
    }

    /// A FIFO's contract: a queue of `depth` words; `push_ready` is `!full`. Fall-through shows the
    /// head; standard mode delivers a requested word one cycle later.
    struct FIFOModel {
        let tag: String, depth: Int, fallThrough: Bool
        var queue: [Int] = []
        var pending: Int?
        var sawFull = false, sawEmpty = false, sawBoth = false

        mutating func step(_ i: [String: Int], into out: inout [String: Int?]) {
            let full = queue.count == depth, empty = queue.isEmpty
            sawFull = sawFull || full
            sawEmpty = sawEmpty || empty
            out["\(tag)_push_ready"] = full ? 0 : 1
            out["\(tag)_count"] = queue.count
            out["\(tag)_full"] = full ? 1 : 0
            out["\(tag)_empty"] = empty ? 1 : 0
            if fallThrough {
                out["\(tag)_pop_valid"] = empty ? 0 : 1
                out["\(tag)_pop_payload"] = queue.first
            } else {
                out["\(tag)_pop_valid"] = pending == nil ? 0 : 1
                out["\(tag)_pop_payload"] = pending
            }
            let push = i["\(tag)_push_valid"]! == 1 && !full
            let pop = i["\(tag)_pop_ready"]! == 1 && !empty
            sawBoth = sawBoth || (push && pop)
            pending = nil
            if pop {
                let word = queue.removeFirst()
                if !fallThrough { pending = word }
            }
            if push { queue.append(i["\(tag)_push_payload"]!) }
        }
    }

    /// The skid buffer behaves as a two-word queue whose `push_ready` is "fewer than two held".
    struct SkidModel {
        var queue: [Int] = []
        mutating func step(_ i: [String: Int], into out: inout [String: Int?]) {
            out["sk_push_ready"] = queue.count < 2 ? 1 : 0
            out["sk_pop_valid"] = queue.isEmpty ? 0 : 1
            out["sk_pop_payload"] = queue.first
            let push = i["sk_push_valid"]! == 1 && queue.count < 2
            if i["sk_pop_ready"]! == 1 && !queue.isEmpty { queue.removeFirst() }
            if push { queue.append(i["sk_push_payload"]!) }
        }
    }

    /// Delay lines start unknown, then see the two reset cycles' zero inputs (valid bits reset).
    struct Model {
        var fifos = LibraryZoo.fifos.map { FIFOModel(tag: $0.tag, depth: $0.fifo.depth, fallThrough: $0.fifo.firstWordFallThrough) }
        var skid = SkidModel()
        var x: [Int?] = [nil, 0, 0]          // oldest first
        var tag: [(valid: Int, data: Int?)] = [(0, 0), (0, 0)]
        var beat = 0, free = 0

        mutating func step(_ i: [String: Int]) -> [String: Int?] {
            var out: [String: Int?] = [:]
            for k in fifos.indices { fifos[k].step(i, into: &out) }
            skid.step(i, into: &out)
            out["x_late"] = x.removeFirst()
            x.append(i["x"]!)
            let late = tag.removeFirst()
            out["tag_late_valid"] = late.valid
            out["tag_late_data"] = late.valid == 1 ? late.data : nil
            tag.append((i["tag_valid"]!, i["tag_data"]!))
            let cen = i["cen"]! == 1
            out["beat_value"] = beat
            out["beat_wrap"] = cen && beat == 5 ? 1 : 0
            out["free_value"] = free
            out["free_wrap"] = free == 3 ? 1 : 0
            if i["cclr"]! == 1 { beat = 0 } else if cen { beat = (beat + 1) % 6 }
            free = (free + 1) % 4
            return out
        }
    }

    /// Phases of filling, draining and mixed traffic, so every FIFO reaches full and empty.
    static func stimulus(cycles: Int, seed: UInt64) -> [[String: Int]] {
        var rng = SplitMix64(seed: seed)
        let payloads = Dictionary(uniqueKeysWithValues: fifos.map { ($0.tag, $0.fifo.payload) } + [("sk", HWType.uint(6))])
        return (0..<cycles).map { t in
            let (pushP, popP): (Double, Double) = [(0.9, 0.2), (0.2, 0.9), (0.6, 0.6), (0.95, 0.05), (0.05, 0.95)][(t / 120) % 5]
            var s: [String: Int] = ["x": rng.value(.uint(5)), "tag_valid": rng.value(.bool), "tag_data": rng.value(.sint(4)),
                                    "cen": rng.chance(0.7) ? 1 : 0, "cclr": rng.chance(0.05) ? 1 : 0]
            for (tag, payload) in payloads {
                s["\(tag)_push_valid"] = rng.chance(pushP) ? 1 : 0
                s["\(tag)_push_payload"] = rng.value(payload)
                s["\(tag)_pop_ready"] = rng.chance(popP) ? 1 : 0
            }
            return s
        }
    }
}

final class LibraryTests: XCTestCase {
    func testFIFOsSkidBufferDelayLinesAndCountersMatchTheirModels() throws {
        let stimulus = LibraryZoo.stimulus(cycles: 1200, seed: 21)
        var model = LibraryZoo.Model()
        let expected = stimulus.map { model.step($0) }
        for f in model.fifos {
            XCTAssertTrue(f.sawFull && f.sawEmpty && f.sawBoth, "\(f.tag): traffic must reach full, empty, and push with pop")
        }
        let sim = try Simulator(Design(top: LibraryZoo.build()), backend: .verilator)
        assertCycles(try sim.run(stimulus), expected, stimulus: stimulus, "LibraryZoo")
    }

    func testFIFOModuleNamesFollowTheirParameters() {
        XCTAssertEqual(LibraryZoo.fifos.map(\.fifo.module.name),
                       ["FIFO_d5_u7_fwft_regs", "FIFO_d5_u7_regs", "FIFO_d37_s9_fwft_ram", "FIFO_d32_s9_ramblock"])
        XCTAssertEqual(SkidBuffer(payload: .sint(12)).module.name, "SkidBuffer_s12")
    }

    func testAStreamFiresWhenValidAndReadyAreBothHigh() throws {
        let m = Module("FireProbe") { m in
            let s = m.input("s", .stream(.uint(3)))
            s.ready.assign(m.input("go", .bool))
            m.output("fire", s.fire)
            m.output("stall", s.isStall)
            m.discard(s.payload)
        }
        XCTAssertEqual(BundleShape.stream(.uint(3)).streamPayload, .uint(3))
        let stimulus = (0..<4).map { ["s_valid": $0 & 1, "go": $0 >> 1] }
        let out = try Simulator(Design(top: m), backend: .icarus).run(stimulus)
        XCTAssertEqual(out.map { $0["fire"]! }, [0, 0, 0, 1])
        XCTAssertEqual(out.map { $0["stall"]! }, [0, 1, 0, 0])
    }
}
