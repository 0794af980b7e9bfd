import Accelerator
import Foundation
import HDLKit
import XCTest

/// The on-chip memory between the units and the DataMover ports, closed loop in Verilator: a Swift
/// bench plays the control unit (read and write commands), the execution unit (write beats) and the
/// DataMover (a byte-array external memory), with random back-pressure on every ready/valid. The
/// on-chip side is modelled by its own byte array, written in full when a write command is accepted
/// and read when a read command is accepted, which is the contract: a read sees every write accepted
/// before it (or in the same cycle). Every beat the control unit receives is checked (bytes below the
/// chunk, tlast, order), and so are the commands and bytes that reach external memory.
final class OnChipMemoryTests: XCTestCase {
    static let base = Int(AcceleratorConfig.onChipBase)
    /// External writes land here; external reads never look here, so their data is a fixed function
    /// of the address whatever order the DataMover serves things in.
    static let externalWriteBase = 0x4000_0000

    /// Default configuration with 4 KiB each of RAM-S and RAM-M (or `ramMBytes`), to keep the simulation small.
    static func config(streamBytes: Int, ramMBytes: Int = 4096) -> AcceleratorConfig {
        var c = AcceleratorConfig()
        c.streamBytes = streamBytes
        c.ramSBytes = 4096
        c.ramMBytes = ramMBytes
        return c
    }

    // MARK: specifications

    func testRandomTrafficMatchesTheModelsAtSixteenBytes() throws {
        try runRandomTraffic(Self.config(streamBytes: 16), seed: 0x0C_0016)
    }

    /// 64-byte beats and 6 KiB: 96 rows a bank, not a power of two.
    func testRandomTrafficMatchesTheModelsAtSixtyFourBytes() throws {
        try runRandomTraffic(Self.config(streamBytes: 64, ramMBytes: 2048), seed: 0x0C_0064)
    }

    /// 256-byte beats: chunks up to 256 need the commands' ninth chunk bit.
    func testRandomTrafficMatchesTheModelsAtTwoHundredFiftySixBytes() throws {
        try runRandomTraffic(Self.config(streamBytes: 256), seed: 0x0C_0256)
    }

    /// The control unit offers a pass's write command before the pass's own reads, and the write's
    /// beats need those reads. A read that does not overlap a pending write therefore must not wait
    /// for it; one that does must wait and then see it.
    func testAReadWaitsOnlyForEarlierWritesItOverlaps() throws {
        let c = Self.config(streamBytes: 16), b = c.streamBytes
        var rng = SplitMix(state: 0xDEAD)
        var p = Program()
        let regionA = OCMCommand(address: Self.base + 100, chunk: 13, count1: 5, stride1: 13, count2: 2, stride2: 80)
        let regionB = OCMCommand(address: Self.base + 2001, chunk: 16, count1: 6, stride1: 19, count2: 3, stride2: 130)
        p.write(regionA, b: b, rng: &rng)
        p.read(regionA, afterWrites: 1)
        // The pass's own write: its beats come only once read 1 (this pass's input) is all in.
        p.write(regionB, b: b, rng: &rng, afterReads: 1, holdBeatsUntilRead: 1)
        p.read(OCMCommand(address: Self.base + 90, chunk: 16, count1: 8, stride1: 16, count2: 1, stride2: 0), afterWrites: 2)
        // The next pass's input, which the held write produces.
        p.read(OCMCommand(address: Self.base + 2001 + 7, chunk: 9, count1: 4, stride1: 23, count2: 3, stride2: 130), afterWrites: 2)
        p.read(OCMCommand(address: 0x1000_0003, chunk: 5, count1: 3, stride1: 64, count2: 1, stride2: 0), afterWrites: 2)
        let bench = try simulate(c, p, seed: 7, maxCycles: 3000)
        XCTAssertEqual(bench.failures, [])
        XCTAssertEqual(bench.received, bench.expected.count)
        XCTAssertEqual(bench.expected.count, 10 + 8 + 12 + 3)
        XCTAssertGreaterThan(bench.rawStalls, 0, "read 2 waited for the held write")
    }

    /// A read and a write accepted in the same cycle: the write counts as the earlier one.
    func testAReadAcceptedWithAWriteSeesIt() throws {
        let c = Self.config(streamBytes: 16), b = c.streamBytes
        var rng = SplitMix(state: 0xBEEF)
        var p = Program()
        let region = OCMCommand(address: Self.base + 777, chunk: 11, count1: 12, stride1: 11, count2: 2, stride2: 300)
        p.write(region, b: b, rng: &rng)
        p.read(region)
        let bench = try simulate(c, p, seed: 3, eager: true, maxCycles: 500)
        XCTAssertEqual(bench.readAcceptedAt, bench.writeAcceptedAt, "both commands in one cycle")
        XCTAssertEqual(bench.failures, [])
        XCTAssertEqual(bench.checkedOnChipBytes, 24 * 11)
        XCTAssertGreaterThan(bench.rawStalls, 0)
    }

    /// Nothing stalls: an on-chip read's first beat comes `readLatency` cycles after its command,
    /// then one beat a cycle across on-chip and external commands alike; an on-chip write takes one
    /// beat a cycle from two cycles after its command.
    func testStreamsMoveOneBeatPerCycle() throws {
        for b in [16, 64] {
            let c = Self.config(streamBytes: b)
            var rng = SplitMix(state: UInt64(b))
            var p = Program()
            p.write(OCMCommand(address: Self.base + 6000, chunk: b - 3, count1: 30, stride1: b, count2: 1, stride2: 0), b: b, rng: &rng)
            p.read(OCMCommand(address: Self.base + 5, chunk: b, count1: 20, stride1: b, count2: 2, stride2: 1400))
            p.read(OCMCommand(address: Self.base + 3001, chunk: 7, count1: 9, stride1: 7, count2: 1, stride2: 0))
            p.read(OCMCommand(address: 0x2000_0010, chunk: b, count1: 12, stride1: b, count2: 1, stride2: 0))
            p.read(OCMCommand(address: Self.base + 4003, chunk: b / 2, count1: 5, stride1: 3, count2: 2, stride2: 200))
            let bench = try simulate(c, p, seed: 1, eager: true, maxCycles: 1000)
            XCTAssertEqual(bench.failures, [], "B = \(b)")
            XCTAssertEqual(bench.beatCycles.count, 40 + 9 + 12 + 10, "B = \(b)")
            XCTAssertEqual(bench.beatCycles.first, bench.readAcceptedAt[0] + OnChipMemory.readLatency, "B = \(b)")
            for n in 1 ..< bench.beatCycles.count {
                XCTAssertEqual(bench.beatCycles[n], bench.beatCycles[n - 1] + 1, "B = \(b): a bubble before beat \(n)")
            }
            XCTAssertEqual(bench.writeBeatCycles.count, 30, "B = \(b)")
            XCTAssertEqual(bench.writeBeatCycles.first, bench.writeAcceptedAt[0] + 2, "B = \(b)")
            XCTAssertEqual(bench.writeBeatCycles.last, bench.writeAcceptedAt[0] + 31, "B = \(b)")
        }
    }

    /// An external read behind an on-chip one does not wait for it: the memory's beats come in
    /// while the on-chip beats stream (up to `externalReadAhead`, 4 KiB, of them), and then leave
    /// right behind the on-chip read's last beat, one a cycle.
    func testExternalBeatsComeInWhileAnOnChipReadStreams() throws {
        for b in [16, 256] {
            let c = Self.config(streamBytes: b, ramMBytes: 16384)
            let ahead = OnChipMemory.externalReadAhead(streamBytes: b), onChip = ahead + 24
            var p = Program()
            p.read(OCMCommand(address: Self.base + 64, chunk: b, count1: onChip, stride1: b, count2: 1, stride2: 0))
            p.read(OCMCommand(address: 0x2000_0000, chunk: b, count1: ahead, stride1: b, count2: 1, stride2: 0))
            p.read(OCMCommand(address: 0x2000_4000, chunk: b / 2, count1: 10, stride1: b, count2: 1, stride2: 0))
            let bench = try simulate(c, p, seed: 1, eager: true, maxCycles: 2000)
            XCTAssertEqual(bench.failures, [], "B = \(b)")
            guard bench.beatCycles.count == onChip + ahead + 10, bench.externalBeatCycles.count == ahead + 10 else {
                return XCTFail("B = \(b): \(bench.beatCycles.count) beats delivered, \(bench.externalBeatCycles.count) taken from the memory")
            }
            // The read-ahead FIFO holds the first external read whole before the on-chip read ends.
            XCTAssertLessThan(bench.externalBeatCycles[ahead - 1], bench.beatCycles[onChip - 1], "B = \(b)")
            for n in 1 ..< bench.beatCycles.count {
                XCTAssertEqual(bench.beatCycles[n], bench.beatCycles[n - 1] + 1, "B = \(b): a bubble before beat \(n)")
            }
        }
    }

    /// Nothing orders an external read after an external write, so while one is pending the FIFO
    /// takes no beat ahead: the external read behind an on-chip one waits until it is at the head
    /// (which the control unit reaches only once the pass before has written everything), as
    /// without the FIFO. Here the write's beats wait for the on-chip read to be taken whole.
    func testNoExternalBeatIsTakenAheadWhileAnExternalWriteIsPending() throws {
        let b = 16, c = Self.config(streamBytes: b)
        var rng = SplitMix(state: 7)
        var p = Program()
        p.write(OCMCommand(address: Self.externalWriteBase, chunk: b, count1: 8, stride1: b, count2: 1, stride2: 0), b: b, rng: &rng,
                holdBeatsUntilRead: 0)
        p.read(OCMCommand(address: Self.base + 64, chunk: b, count1: 40, stride1: b, count2: 1, stride2: 0), afterWrites: 1)
        p.read(OCMCommand(address: 0x2000_0000, chunk: b, count1: 12, stride1: b, count2: 1, stride2: 0), afterWrites: 1)
        let bench = try simulate(c, p, seed: 1, eager: true, maxCycles: 1000)
        XCTAssertEqual(bench.failures, [])
        guard bench.beatCycles.count == 52, let first = bench.externalBeatCycles.first else {
            return XCTFail("\(bench.beatCycles.count) beats delivered, \(bench.externalBeatCycles.count) taken from the memory")
        }
        XCTAssertGreaterThan(first, bench.beatCycles[39])
    }

    func testVerilogPassesTheThreeToolLint() throws {
        for b in [16, 64] {
            let memory = try OnChipMemory(config: Self.config(streamBytes: b))
            XCTAssertEqual(memory.module.name, "OnChipMemory")
            try assertThreeToolLintClean(memory.module)
        }
    }

    func testAConfigurationWithoutOnChipMemoryIsRefused() {
        var c = AcceleratorConfig()
        c.ramSBytes = 0
        c.ramMBytes = 0
        XCTAssertThrowsError(try OnChipMemory(config: c)) { error in
            XCTAssertTrue("\(error)".contains("no on-chip memory"), "\(error)")
        }
    }

    // MARK: random traffic

    private func runRandomTraffic(_ c: AcceleratorConfig, seed: UInt64) throws {
        let b = c.streamBytes, size = c.onChipBytes
        var rng = SplitMix(state: seed)
        var p = Program()
        let readCount = 70, writeCount = 30
        var plannedWrites: [OCMCommand] = []
        for w in 0 ..< writeCount {
            // Mostly on chip; a few external, and one on-chip write with no beats.
            let onChip = w == 5 || rng.below(10) < 7
            var cmd = Self.randomCommand(b: b, rng: &rng)
            cmd.address = onChip ? Self.base + rng.below(size - cmd.length + 1) : Self.externalWriteBase + rng.below(0x1_0000 - cmd.length)
            if w == 5 { cmd.count2 = 0 }
            plannedWrites.append(cmd)
            // A write waits for the reads planned before it, as a pass's write follows the reads
            // of the pass before.
            p.write(cmd, b: b, rng: &rng, afterReads: w * readCount / writeCount)
        }
        for r in 0 ..< readCount {
            // Keep the two command streams roughly in step, so that reads aimed at a write come
            // right after it, often while its beats still arrive.
            let w = min(writeCount - 1, r * writeCount / readCount)
            let after = min(writeCount, w + 1)
            let kind = rng.below(10)
            var cmd: OCMCommand
            if kind < 5, plannedWrites[w].beats > 0, Self.isOnChip(plannedWrites[w].address, size: size) {
                // Into write w's footprint, at another alignment and shape.
                cmd = Self.randomCommand(b: b, rng: &rng)
                let target = plannedWrites[w].address - Self.base + rng.below(plannedWrites[w].length)
                cmd.address = Self.base + max(0, min(size - cmd.length, target - rng.below(cmd.length)))
            } else if kind < 7 {
                cmd = Self.randomCommand(b: b, rng: &rng)
                cmd.address = Self.base + rng.below(size - cmd.length + 1)
            } else {
                // External: anywhere, just below the window or just above it.
                cmd = Self.randomCommand(b: b, rng: &rng)
                switch rng.below(3) {
                case 0: cmd.address = 0x0100_0000 + rng.below(0x100_0000)
                case 1: cmd.address = Self.base - cmd.length - rng.below(64)
                default: cmd.address = Self.base + size + rng.below(64)
                }
            }
            if r == 17 { cmd = OCMCommand(address: Self.base + 64, chunk: 4, count1: 0, stride1: 4, count2: 3, stride2: 16) }
            p.read(cmd, afterWrites: after)
        }
        // Everything written on chip, read back across every bank boundary.
        p.read(OCMCommand(address: Self.base + 1, chunk: b, count1: size / b - 1, stride1: b, count2: 1, stride2: 0), afterWrites: writeCount)

        let started = Date()
        // Two run starts in the middle of the traffic clear the figures (checked every cycle).
        let bench = try simulate(c, p, seed: seed ^ 0x5EED, maxCycles: 20000, clearAt: [150, 600])
        XCTAssertEqual(bench.failures, [], "B = \(b)")
        XCTAssertEqual(bench.clears, 2, "B = \(b)")
        XCTAssertEqual(bench.received, bench.expected.count, "B = \(b)")
        XCTAssertEqual(bench.seenExternalReads, bench.expectedExternalReads, "B = \(b): external read commands, in order, unchanged")
        XCTAssertEqual(bench.seenExternalWrites, bench.expectedExternalWrites, "B = \(b): external write commands, in order, unchanged")
        XCTAssertEqual(bench.externalMemory, bench.expectedExternalMemory, "B = \(b): external memory after the writes")
        XCTAssertGreaterThan(bench.checkedOnChipBytes, 1000, "B = \(b): on-chip bytes compared")
        XCTAssertGreaterThan(bench.readsDuringWrites, 3, "B = \(b): reads issued while the write they overlap still took beats")
        XCTAssertGreaterThan(bench.rawStalls, 0, "B = \(b)")
        XCTAssertEqual(bench.onChipReadBeats, bench.expectedOnChipBeats, "B = \(b): on-chip beats read")
        XCTAssertEqual(bench.onChipWriteBeats, bench.expectedOnChipWriteBeats, "B = \(b): on-chip beats written")
        print("OnChipMemoryTests B = \(b): \(bench.cycle) cycles, \(bench.expected.count) beats in, \(bench.readsDuringWrites) reads "
              + "during their write, \(bench.rawStalls) RAW stall cycles, \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
    }

    static func isOnChip(_ address: Int, size: Int) -> Bool { address >= base && address < base + size }

    /// A random shape at address 0: non-negative strides, beats and rows that may overlap, strides
    /// of 0 now and then.
    static func randomCommand(b: Int, rng: inout SplitMix) -> OCMCommand {
        let chunk = 1 + rng.below(b)
        let count1 = 1 + rng.below(6), count2 = 1 + rng.below(3)
        let stride1: Int
        switch rng.below(5) {
        case 0: stride1 = chunk
        case 1: stride1 = 0
        case 2: stride1 = chunk + rng.below(b)
        default: stride1 = 1 + rng.below(2 * b)
        }
        let stride2 = count2 == 1 && rng.below(2) == 0 ? 0 : rng.below(count1 * stride1 + 3 * b)
        return OCMCommand(address: 0, chunk: chunk, count1: count1, stride1: stride1, count2: count2, stride2: stride2)
    }

    // MARK: the bench

    /// Ports up to 64 bits pass through; the data vectors travel as 32-bit words `<port>_w<k>`, which
    /// the Simulator's integer interface carries.
    static func wrapper(_ dut: Module, bytes b: Int) -> Module {
        Module("OnChipMemoryBench_b\(b)") { m in
            let u = m.instance(dut, "dut")
            for p in dut.portList {
                if p.type.width <= 64 {
                    if p.isInput { u.port(p.name).assign(m.input(p.name, p.type)) } else { m.output(p.name, u.port(p.name)) }
                } else if p.isInput {
                    u.port(p.name).assign(cat((0 ..< p.type.width / 32).reversed().map { m.input("\(p.name)_w\($0)", .uint(32)) }))
                } else {
                    for k in 0 ..< p.type.width / 32 { m.output("\(p.name)_w\(k)", u.port(p.name).bits(32 * k + 31, 32 * k)) }
                }
            }
        }
    }

    private func simulate(_ c: AcceleratorConfig, _ p: Program, seed: UInt64, eager: Bool = false, maxCycles: Int,
                          clearAt: Set<Int> = []) throws -> OCMBench {
        let b = c.streamBytes
        // Verilator builds are cached by the Verilog's hash, so only the first test of a B compiles.
        let sim = try Simulator(Design(top: Self.wrapper(try OnChipMemory(config: c).module, bytes: b)))
        var bench = OCMBench(b: b, size: c.onChipBytes, program: p, rng: SplitMix(state: seed), eager: eager, limit: maxCycles)
        bench.clearAt = clearAt
        let result = try controlCosimulate(sim, bench, maxCycles: maxCycles + 1, window: 256)
        XCTAssertLessThan(result.bench.cycle, maxCycles, "B = \(b): the traffic did not finish (a deadlock?)")
        print("OnChipMemoryTests B = \(b): \(result.cycles) cycles in \(result.runs) simulator runs")
        return result.bench
    }
}

/// A DataMover command (docs/control.md): beat (j, i) is the `chunk` bytes at address + j·stride2 + i·stride1.
struct OCMCommand: Equatable, CustomStringConvertible {
    var address, chunk, count1, stride1, count2, stride2: Int
    var beats: Int { count1 * count2 }
    func beatAddress(_ n: Int) -> Int { address + (n / count1) * stride2 + (n % count1) * stride1 }
    /// Bytes from the first beat's first byte to the last beat's last.
    var length: Int { last - address + 1 }
    /// The footprint's last byte.
    var last: Int { address + (count2 - 1) * stride2 + (count1 - 1) * stride1 + chunk - 1 }
    func overlaps(_ o: OCMCommand) -> Bool { beats > 0 && o.beats > 0 && address <= o.last && o.address <= last }
    var fields: [Int] { [address, chunk, count1, stride1, count2, stride2] }
    static let fieldNames = ["address", "chunk", "count1", "stride1", "count2", "stride2"]
    var description: String {
        "(0x\(String(address, radix: 16)), chunk \(chunk), \(count1)×\(stride1), \(count2)×\(stride2))"
    }
}

/// What the bench issues: reads and writes in two streams, each gated by the other's progress.
private struct Program {
    var reads: [OCMCommand] = []
    /// Writes accepted before read n may be offered.
    var readAfterWrites: [Int] = []
    var writes: [OCMCommand] = []
    var writeData: [[[Int]]] = []
    /// Reads accepted before write n may be offered.
    var writeAfterReads: [Int] = []
    /// Write n's beats wait until this read has been received in full.
    var holdBeatsUntilRead: [Int?] = []

    mutating func read(_ c: OCMCommand, afterWrites: Int = 0) {
        reads.append(c)
        readAfterWrites.append(afterWrites)
    }

    /// A write of random bytes (those at or above the chunk too: they must be ignored).
    mutating func write(_ c: OCMCommand, b: Int, rng: inout SplitMix, afterReads: Int = 0, holdBeatsUntilRead hold: Int? = nil) {
        writes.append(c)
        writeData.append((0 ..< c.beats).map { _ in (0 ..< b).map { _ in rng.below(256) } })
        writeAfterReads.append(afterReads)
        holdBeatsUntilRead.append(hold)
    }
}

/// The closed-loop bench (see ControlCosimulation.swift): state → the next cycle's inputs; the
/// outputs of a cycle → handshakes, checks and the next choices.
private struct OCMBench: ControlTestBench {
    let b: Int, size: Int
    let program: Program
    var rng: SplitMix
    let eager: Bool
    let limit: Int
    var cycle = 0
    var failures: [String] = []

    // Control unit and execution unit.
    var readNext = 0, readOffered = false
    var writeNext = 0, writeOffered = false
    var beatWrite = 0, beatIndex = 0, beatOffered = false
    var sinkReady = false
    /// The on-chip model; −1: never written (not compared).
    var onChip: [Int]
    var expected: [(bytes: [Int], last: Bool, onChip: Bool)] = []
    var received = 0
    /// Per accepted read: the index in `expected` after its last beat.
    var readEnd: [Int] = []
    var readAcceptedAt: [Int] = [], writeAcceptedAt: [Int] = []
    var beatCycles: [Int] = [], writeBeatCycles: [Int] = []
    /// Cycles in which the DataMover's `s_axis` beats were taken.
    var externalBeatCycles: [Int] = []
    var readsDuringWrites = 0
    var checkedOnChipBytes = 0
    var expectedOnChipBeats = 0, expectedOnChipWriteBeats = 0

    // DataMover.
    var readCommandReady = false, inValid = false
    var externalReads: [OCMCommand] = [], externalReadHead = 0, externalReadBeat = 0
    var writeCommandReady = false, outReady = false
    var externalWrites: [OCMCommand] = [], externalWriteHead = 0, externalWriteBeat = 0
    var externalMemory: [Int: Int] = [:], expectedExternalMemory: [Int: Int] = [:]
    var seenExternalReads: [OCMCommand] = [], expectedExternalReads: [OCMCommand] = []
    var seenExternalWrites: [OCMCommand] = [], expectedExternalWrites: [OCMCommand] = []

    /// The RAW stall cycles seen in the figure (what it held before each clear, plus what it holds
    /// now); on-chip beats moved before this cycle.
    var rawStalls = 0, onChipReadBeats = 0, onChipWriteBeats = 0
    /// Cycles `clear` is high (a run's start): the figures count from 0 again after them.
    var clearAt: Set<Int> = [], clears = 0
    /// What the figure registers must hold: the beats since the last clear, before this cycle.
    var readFigure = 0, writeFigure = 0, rawStallsBeforeClears = 0
    var previousOutputs: [String: Int] = [:], previousInputs: [String: Int] = [:]

    init(b: Int, size: Int, program: Program, rng: SplitMix, eager: Bool, limit: Int) {
        self.b = b
        self.size = size
        self.program = program
        self.rng = rng
        self.eager = eager
        self.limit = limit
        onChip = [Int](repeating: -1, count: size)
    }

    static let base = OnChipMemoryTests.base

    func isOnChip(_ c: OCMCommand) -> Bool { OnChipMemoryTests.isOnChip(c.address, size: size) }

    static func externalByte(_ a: Int) -> Int { Int(UInt64(truncatingIfNeeded: a &* 0x9E37_79B1) >> 13) & 0xFF }

    var finished: Bool {
        cycle >= limit || failures.count >= 20
            || (readNext == program.reads.count && writeNext == program.writes.count && received == expected.count
                && beatWrite == program.writes.count)
    }

    func inputs() -> [String: Int] {
        var i: [String: Int] = [:]
        func command(_ prefix: String, _ c: OCMCommand?, _ valid: Bool) {
            i["\(prefix)_valid"] = valid ? 1 : 0
            for (name, v) in zip(OCMCommand.fieldNames, c?.fields ?? [0, 0, 0, 0, 0, 0]) { i["\(prefix)_\(name)"] = v & 0xFFFF_FFFF }
        }
        func data(_ port: String, _ bytes: [Int]?) {
            for w in 0 ..< b / 4 {
                i["\(port)_w\(w)"] = bytes.map { d in (0 ..< 4).reduce(0) { $0 | d[4 * w + $1] << (8 * $1) } } ?? 0
            }
        }
        command("up_rd_cmd", readNext < program.reads.count ? program.reads[readNext] : nil, readOffered)
        command("up_wr_cmd", writeNext < program.writes.count ? program.writes[writeNext] : nil, writeOffered)
        let beat = beatOffered ? program.writeData[beatWrite][beatIndex] : nil
        i["up_m_axis_tvalid"] = beatOffered ? 1 : 0
        i["up_m_axis_tlast"] = beatOffered && beatIndex == program.writes[beatWrite].beats - 1 ? 1 : 0
        data("up_m_axis_tdata", beat)
        i["up_s_axis_tready"] = sinkReady ? 1 : 0
        i["m_rd_cmd_ready"] = readCommandReady ? 1 : 0
        i["m_wr_cmd_ready"] = writeCommandReady ? 1 : 0
        i["clear"] = clearAt.contains(cycle) ? 1 : 0
        // The DataMover takes output beats only for a command it holds.
        i["m_axis_tready"] = outReady && externalWriteHead < externalWrites.count ? 1 : 0
        if inValid && externalReadHead < externalReads.count {
            let c = externalReads[externalReadHead], a = c.beatAddress(externalReadBeat)
            i["s_axis_tvalid"] = 1
            i["s_axis_tlast"] = externalReadBeat == c.beats - 1 ? 1 : 0
            data("s_axis_tdata", (0 ..< b).map { Self.externalByte(a + $0) })
        } else {
            i["s_axis_tvalid"] = 0
            i["s_axis_tlast"] = 0
            data("s_axis_tdata", nil)
        }
        return i
    }

    mutating func fail(_ s: String) { if failures.count < 20 { failures.append("cycle \(cycle): \(s)") } }

    mutating func observe(_ o: [String: Int], _ i: [String: Int]) {
        func v(_ n: String) -> Int { o[n, default: 0] }
        func bytes(_ port: String) -> [Int] {
            (0 ..< b).map { k in (v("\(port)_w\(k / 4)") >> (8 * (k % 4))) & 0xFF }
        }
        func command(_ prefix: String) -> OCMCommand {
            let f = OCMCommand.fieldNames.map { v("\(prefix)_\($0)") }
            return OCMCommand(address: f[0], chunk: f[1], count1: f[2], stride1: f[3], count2: f[4], stride2: f[5])
        }

        // What the memory offers must stay until taken (AXI).
        let held: [(valid: String, ready: String, payload: [String])] = [
            ("m_rd_cmd_valid", "m_rd_cmd_ready", OCMCommand.fieldNames.map { "m_rd_cmd_\($0)" }),
            ("m_wr_cmd_valid", "m_wr_cmd_ready", OCMCommand.fieldNames.map { "m_wr_cmd_\($0)" }),
            ("up_s_axis_tvalid", "up_s_axis_tready", ["up_s_axis_tlast"] + (0 ..< b / 4).map { "up_s_axis_tdata_w\($0)" }),
            ("m_axis_tvalid", "m_axis_tready", ["m_axis_tlast"] + (0 ..< b / 4).map { "m_axis_tdata_w\($0)" }),
        ]
        for h in held where previousOutputs[h.valid] == 1 && previousInputs[h.ready] == 0 {
            if v(h.valid) != 1 || h.payload.contains(where: { previousOutputs[$0] != o[$0] }) {
                fail("\(h.valid) dropped or changed before its handshake")
            }
        }

        // Commands: a write accepted in the same cycle as a read comes first.
        let writeFire = i["up_wr_cmd_valid"] == 1 && v("up_wr_cmd_ready") == 1
        let readFire = i["up_rd_cmd_valid"] == 1 && v("up_rd_cmd_ready") == 1
        if readFire && i["up_wr_cmd_valid"] == 1 && !writeFire { fail("read command accepted while a write command waits") }
        if writeFire { acceptWrite() }
        if readFire { acceptRead() }

        // Write beats from the execution unit.
        var onChipWriteBeat = false, onChipReadBeat = false
        if i["up_m_axis_tvalid"] == 1 && v("up_m_axis_tready") == 1 {
            onChipWriteBeat = isOnChip(program.writes[beatWrite])
            if onChipWriteBeat { writeBeatCycles.append(cycle) }
            beatIndex += 1
            if beatIndex == program.writes[beatWrite].beats { beatWrite += 1; beatIndex = 0 }
            beatOffered = false
        }

        // Beats to the control unit, in the order of its reads.
        if v("up_s_axis_tvalid") == 1 && i["up_s_axis_tready"] == 1 {
            beatCycles.append(cycle)
            if received >= expected.count {
                fail("a beat with no read outstanding")
            } else {
                let e = expected[received], got = bytes("up_s_axis_tdata")
                for (k, want) in e.bytes.enumerated() where want >= 0 && got[k] != want {
                    fail("beat \(received) byte \(k): \(got[k]), expected \(want)")
                }
                if (v("up_s_axis_tlast") == 1) != e.last { fail("beat \(received): tlast \(v("up_s_axis_tlast"))") }
                onChipReadBeat = e.onChip
                received += 1
            }
        }

        // DataMover: read commands and their beats.
        if v("m_rd_cmd_valid") == 1 && i["m_rd_cmd_ready"] == 1 {
            let c = command("m_rd_cmd")
            seenExternalReads.append(c)
            if c.beats > 0 { externalReads.append(c) }
        }
        if i["s_axis_tvalid"] == 1 && v("s_axis_tready") == 1 {
            externalBeatCycles.append(cycle)
            externalReadBeat += 1
            if externalReadBeat == externalReads[externalReadHead].beats { externalReadHead += 1; externalReadBeat = 0 }
            inValid = false
        }
        // DataMover: write commands and their beats.
        if v("m_wr_cmd_valid") == 1 && i["m_wr_cmd_ready"] == 1 {
            let c = command("m_wr_cmd")
            seenExternalWrites.append(c)
            if c.beats > 0 { externalWrites.append(c) }
        }
        if v("m_axis_tvalid") == 1 && i["m_axis_tready"] == 1 {
            let c = externalWrites[externalWriteHead], a = c.beatAddress(externalWriteBeat), got = bytes("m_axis_tdata")
            for k in 0 ..< c.chunk { externalMemory[a + k] = got[k] }
            if (v("m_axis_tlast") == 1) != (externalWriteBeat == c.beats - 1) { fail("m_axis tlast on beat \(externalWriteBeat) of \(c)") }
            externalWriteBeat += 1
            if externalWriteBeat == c.beats { externalWriteHead += 1; externalWriteBeat = 0 }
        }
        // The figures are registers: they show the beats of the cycles before.
        if v("onchip_read_beats") != readFigure || v("onchip_write_beats") != writeFigure {
            fail("figures \(v("onchip_read_beats")), \(v("onchip_write_beats")); beats since the last clear, before this cycle \(readFigure), \(writeFigure)")
        }
        rawStalls = rawStallsBeforeClears + v("onchip_raw_stalls")
        onChipReadBeats += onChipReadBeat ? 1 : 0
        onChipWriteBeats += onChipWriteBeat ? 1 : 0
        if i["clear"] == 1 {
            // A clear wins over a beat in the same cycle: the figures start from 0 after it.
            rawStallsBeforeClears = rawStalls
            readFigure = 0; writeFigure = 0; clears += 1
        } else {
            readFigure += onChipReadBeat ? 1 : 0
            writeFigure += onChipWriteBeat ? 1 : 0
        }

        // Next cycle's choices. Valids, once raised, stay until their handshake. The same draws
        // every cycle, whatever happened, so that a rerun from a different guess soon agrees again.
        let draw = (0 ..< 8).map { _ in rng.below(100) }
        func chance(_ n: Int, _ p: Int) -> Bool { eager || draw[n] < p }
        if !readOffered && readNext < program.reads.count && writeNext >= program.readAfterWrites[readNext] {
            readOffered = chance(0, 60)
        }
        if !writeOffered && writeNext < program.writes.count && readNext >= program.writeAfterReads[writeNext] && writeIsSafe() {
            writeOffered = chance(1, 40)
        }
        while beatWrite < writeNext && program.writes[beatWrite].beats == 0 { beatWrite += 1 }
        if !beatOffered && beatWrite < writeNext {
            let hold = program.holdBeatsUntilRead[beatWrite].map { r in r >= readEnd.count || received < readEnd[r] } ?? false
            if !hold { beatOffered = chance(2, 35) }
        }
        sinkReady = chance(3, 75)
        readCommandReady = chance(4, 60)
        writeCommandReady = chance(5, 50)
        outReady = chance(6, 70)
        if !inValid { inValid = chance(7, 70) }
        previousOutputs = o
        previousInputs = i
        cycle += 1
    }

    /// The control unit writes a region only once the reads of it issued before have been taken
    /// (a pass never overwrites what an earlier pass still reads).
    func writeIsSafe() -> Bool {
        let w = program.writes[writeNext]
        guard isOnChip(w) else { return true }
        for r in 0 ..< readNext where received < readEnd[r] && isOnChip(program.reads[r]) && program.reads[r].overlaps(w) { return false }
        return true
    }

    mutating func acceptWrite() {
        let c = program.writes[writeNext]
        writeAcceptedAt.append(cycle)
        if isOnChip(c) {
            expectedOnChipWriteBeats += c.beats
            for n in 0 ..< c.beats {
                let a = c.beatAddress(n) - Self.base
                for k in 0 ..< c.chunk { onChip[a + k] = program.writeData[writeNext][n][k] }
            }
        } else {
            expectedExternalWrites.append(c)
            for n in 0 ..< c.beats {
                for k in 0 ..< c.chunk { expectedExternalMemory[c.beatAddress(n) + k] = program.writeData[writeNext][n][k] }
            }
        }
        writeNext += 1
        writeOffered = false
    }

    mutating func acceptRead() {
        let c = program.reads[readNext], inside = isOnChip(c)
        readAcceptedAt.append(cycle)
        if inside {
            expectedOnChipBeats += c.beats
            // An accepted on-chip write whose beats are still coming, under this read.
            let pending = (beatWrite ..< writeNext).contains { isOnChip(program.writes[$0]) && program.writes[$0].overlaps(c) }
            if pending { readsDuringWrites += 1 }
        } else {
            expectedExternalReads.append(c)
        }
        for n in 0 ..< c.beats {
            let a = c.beatAddress(n)
            let bytes = (0 ..< c.chunk).map { k in inside ? onChip[a - Self.base + k] : Self.externalByte(a + k) }
            if inside { checkedOnChipBytes += bytes.filter { $0 >= 0 }.count }
            expected.append((bytes, n == c.beats - 1, inside))
        }
        readEnd.append(expected.count)
        readNext += 1
        readOffered = false
    }
}
