import HDLKit

/// The bottleneck memory of seed 003 section 3.4: RAM-S and RAM-M as one banked on-chip memory
/// between the control and execution units and the top's DataMover ports. Every command whose
/// `address` lies in [`AcceleratorConfig.onChipBase`, onChipBase + onChipBytes) is served from
/// on-chip RAM; every other command, with its beats, passes to the external ports unchanged. The
/// units see the stream semantics of docs/control.md either way, so a feature map that stays on chip
/// costs them nothing but a different address in the control record.
///
/// Ports (clk, rst; commands: `_valid`, `_address` 32, `_chunk` 8 (9 at B = 256), `_count1` 16, `_stride1` 32,
/// `_count2` 16, `_stride2` 32, `_ready`; data: one 8·B-bit vector, byte b in bits 8b+7 ... 8b):
///   upstream:   up_rd_cmd_* (in), up_s_axis_tvalid/tdata/tlast (out, tready in), up_wr_cmd_* (in),
///               up_m_axis_tvalid/tdata/tlast (in, tready out);
///   downstream: m_rd_cmd_* (out), s_axis_tvalid/tdata/tlast (in, tready out), m_wr_cmd_* (out),
///               m_axis_tvalid/tdata/tlast (out, tready in);
///   figures:    onchip_read_beats, onchip_write_beats (beats moved on chip), onchip_raw_stalls
///               (cycles an on-chip read waited for an earlier write); 32 bits, wrapping, cleared
///               by reset and by `clear` (one cycle: the run's start, so they count one run as the
///               other figures of the register map do).
///
/// Order. The control unit takes the beats of its reads in the order it issued them, on-chip and
/// external mixed, so a tag FIFO remembers where each accepted read goes and `up_s_axis` carries
/// the beats of the read at its head: on-chip ones from the read engine's output FIFO, external ones
/// from the read-ahead FIFO (`externalReadAhead` beats), which takes `s_axis` beats whenever it has
/// room and no external write is pending, so the memory streams the external reads behind an
/// on-chip one instead of waiting for it; while that FIFO is empty and an external read is at the
/// head, `s_axis` passes straight through (combinational both ways, no bubble). A write tag FIFO
/// splits the output beats between `m_axis` and the write engine the same way. A command with a
/// count of 0 has no beats: it gets no tag, and on chip it does nothing.
///
/// External commands leave through two-entry queues, so `m_rd_cmd`/`m_wr_cmd` hold valid and
/// fields until their handshake and never depend on the DataMover's ready.
///
/// Read after write. The control unit issues the next pass's reads while the running pass still
/// writes, and a pass may read what the pass before it wrote, so an on-chip read must see every
/// on-chip write accepted before it (a read and a write accepted in the same cycle: the write
/// first; a read is never accepted while a write command waits). Waiting for all of them, though,
/// would deadlock: the control unit offers a pass's write command at the pass start, before the
/// pass's own reads (those not issued during the pass before), and the write's beats need those
/// reads' data. So each pending on-chip write (at most `writeSlots`) keeps its footprint, lowest
/// to highest byte, and a read beat waits only while an earlier write still pending overlaps the
/// beat's bytes. A pass reads what another pass wrote, never what it writes itself, so the write
/// waited for never needs the waiting read. The footprint's end, address + (count2−1)·stride2 +
/// (count1−1)·stride1 + chunk − 1, is summed by shift and add over the count bits (at most 17
/// cycles, no multiplier); until it is known, the write blocks later reads of bytes from its first one up.
///
/// RAM. B banks of one byte (B = streamBytes), `rowsPerBank` rows each, one simple dual-port block
/// RAM per bank (`bank_<b>`): bank b holds the bytes whose window offset mod B is b. The beat at
/// offset a covers bytes a ... a+chunk−1: bank b uses row a/B, plus 1 where b < a mod B, and the
/// beat is rotated by a mod B (before the write; after the registered read, by the delayed
/// amount), so any alignment costs nothing. Writes enable only the banks of bytes < chunk. The
/// engines walk (j, i) by adding strides to a running row start and column (no multiplier).
///
/// Timing. An on-chip read's first beat is on `up_s_axis` `readLatency` cycles after its command's
/// handshake (its tag at the head, nothing to wait for), then one beat per cycle while
/// `up_s_axis_tready` is high, also from one command into the next; the engine reads ahead into a
/// four-beat FIFO, which covers the RAM's cycle of latency. On-chip writes take one beat per cycle
/// (`up_m_axis_tready` is high while the head write tag is on chip and its command is loaded, from
/// the second cycle after its handshake); a write's bytes are readable two cycles after its last beat.
///
/// Assumptions (the mapper's): an on-chip command's whole footprint lies in the window, its
/// strides are non-negative (its first beat's first byte is its lowest, its last beat's last byte
/// its highest), and 1 ≤ chunk ≤ B; the `up_wr_cmd` valid does not depend on `up_rd_cmd_ready`
/// (that ready looks at the write command; the control unit's valids are registers).
public struct OnChipMemory {
    public let config: AcceleratorConfig
    public let module: Module
    public static let moduleName = "OnChipMemory"

    /// Read commands in flight (tagged, not yet delivered): the control unit has up to 9.
    public static let readTagDepth = 16
    /// Write commands whose beats have not all passed: one per pass, a few passes deep.
    public static let writeTagDepth = 4
    /// On-chip writes pending at once (accepted, not yet in RAM). A pass's write finishes before
    /// the next pass starts, so two never stall the control unit.
    public static let writeSlots = 2
    /// Entries of each external command queue.
    public static let commandDepth = 2
    /// The read engine's output FIFO: the RAM's cycle plus the registered credit count.
    public static let outputDepth = 4
    /// External read beats taken ahead of the read at the head, 4 KiB of them (at least 16 beats):
    /// while a pass streams on chip, the next pass's parameter records and the record fetched ahead
    /// come in at the memory's pace instead of after the pass's last on-chip beat (MobileNetV2's 7×7
    /// depthwise passes at B = 256: 9 parameter beats and a record, 38 cycles of a 64-byte memory;
    /// at B = 64 the same 144 records are 36 beats).
    public static func externalReadAhead(streamBytes b: Int) -> Int { max(16, 4096 / b) }
    /// Cycles from an on-chip read command's handshake to its first beat: the command queue (1),
    /// loading the engine (1), the RAM read (1), the output FIFO (1).
    public static let readLatency = 4
    /// Width of the write sequence numbers that order reads against writes.
    static let indexBits = 16

    /// A command's fields; the chunk is `AcceleratorConfig.chunkWidth` bits (8, or 9 at B = 256).
    public static func commandFields(chunkWidth: Int) -> [(name: String, type: HWType)] {
        [("address", .uint(32)), ("chunk", .uint(chunkWidth)), ("count1", .uint(16)), ("stride1", .uint(32)),
         ("count2", .uint(16)), ("stride2", .uint(32))]
    }

    /// Bytes per beat and banks (B).
    public var banks: Int { config.streamBytes }
    /// Words of each bank: onChipBytes / B, rounded up.
    public var rowsPerBank: Int { (config.onChipBytes + banks - 1) / banks }
    /// Bits of an offset into the window.
    public var offsetBits: Int { addressWidth(config.onChipBytes) }

    public init(config c: AcceleratorConfig) throws {
        try c.validate()
        guard c.onChipBytes > 0 else {
            throw AcceleratorConfig.Invalid(description: "OnChipMemory: ramSBytes and ramMBytes are both 0 (--ram-s-kib 0 --ram-m-kib 0); "
                                            + "there is no on-chip memory to build, so build the accelerator without it")
        }
        let base = Int(AcceleratorConfig.onChipBase)
        guard base + c.onChipBytes <= 1 << 32 else {
            throw AcceleratorConfig.Invalid(description: "OnChipMemory: \(c.onChipBytes) bytes from 0x\(String(base, radix: 16)) run past the 32-bit address space")
        }
        guard c.streamBytes & (c.streamBytes - 1) == 0 else {
            throw AcceleratorConfig.Invalid(description: "OnChipMemory: --stream-bytes \(c.streamBytes) must be a power of two (one bank per byte of a beat, rotated by the address mod B)")
        }
        config = c
        let b = c.streamBytes, size = c.onChipBytes
        let ob = addressWidth(size), rb = addressWidth(b), rows = (size + b - 1) / b, rowBits = addressWidth(rows)
        let ib = Self.indexBits, slots = Self.writeSlots, sb = addressWidth(slots)
        let cw = c.chunkWidth, commandFields = Self.commandFields(chunkWidth: cw)
        let fieldWidths = commandFields.map(\.type.width)
        // An on-chip command in a queue: offset, chunk, last column, stride1, last row, stride2
        // (the counts minus one, so the walk compares against them directly).
        let onChipWidths = [ob, cw, 16, ob, 16, ob]

        let externalQueue = FIFO(depth: Self.commandDepth, payload: .uint(fieldWidths.reduce(0, +)))
        let readQueue = FIFO(depth: Self.readTagDepth, payload: .uint(onChipWidths.reduce(0, +) + ib), storage: .memory(.distributed))
        let readTagQueue = FIFO(depth: Self.readTagDepth, payload: .bool)
        let writeTagQueue = FIFO(depth: Self.writeTagDepth, payload: .bool)
        let beatQueue = FIFO(depth: Self.outputDepth, payload: .uint(8 * b + 1))
        let externalAhead = FIFO(depth: Self.externalReadAhead(streamBytes: b), payload: .uint(8 * b + 1), storage: .memory(.distributed))

        module = Module(Self.moduleName) { m in
            func commandPorts(_ prefix: String, input: Bool) -> [Signal] {
                commandFields.map { input ? m.input("\(prefix)_\($0.name)", $0.type) : m.output("\(prefix)_\($0.name)", $0.type) }
            }
            // MARK: ports
            let upRdValid = m.input("up_rd_cmd_valid", .bool)
            let upRd = commandPorts("up_rd_cmd", input: true)
            let upRdReady = m.output("up_rd_cmd_ready", .bool)
            let upSValid = m.output("up_s_axis_tvalid", .bool)
            let upSData = m.output("up_s_axis_tdata", .uint(8 * b))
            let upSLast = m.output("up_s_axis_tlast", .bool)
            let upSReady = m.input("up_s_axis_tready", .bool)
            let upWrValid = m.input("up_wr_cmd_valid", .bool)
            let upWr = commandPorts("up_wr_cmd", input: true)
            let upWrReady = m.output("up_wr_cmd_ready", .bool)
            let upMValid = m.input("up_m_axis_tvalid", .bool)
            let upMData = m.input("up_m_axis_tdata", .uint(8 * b))
            let upMLast = m.input("up_m_axis_tlast", .bool)
            let upMReady = m.output("up_m_axis_tready", .bool)

            let mRdValid = m.output("m_rd_cmd_valid", .bool)
            let mRd = commandPorts("m_rd_cmd", input: false)
            let mRdReady = m.input("m_rd_cmd_ready", .bool)
            let sValid = m.input("s_axis_tvalid", .bool)
            let sData = m.input("s_axis_tdata", .uint(8 * b))
            let sLast = m.input("s_axis_tlast", .bool)
            let sReady = m.output("s_axis_tready", .bool)
            let mWrValid = m.output("m_wr_cmd_valid", .bool)
            let mWr = commandPorts("m_wr_cmd", input: false)
            let mWrReady = m.input("m_wr_cmd_ready", .bool)
            let mValid = m.output("m_axis_tvalid", .bool)
            let mData = m.output("m_axis_tdata", .uint(8 * b))
            let mLast = m.output("m_axis_tlast", .bool)
            let mReady = m.input("m_axis_tready", .bool)

            let clear = m.input("clear", .bool)
            let readBeatsOut = m.output("onchip_read_beats", .uint(32))
            let writeBeatsOut = m.output("onchip_write_beats", .uint(32))
            let rawStallsOut = m.output("onchip_raw_stalls", .uint(32))

            func pack(_ fields: [Signal]) -> Signal { cat(fields.reversed()) }
            func unpack(_ word: Signal, _ widths: [Int]) -> [Signal] {
                var lo = 0
                return widths.map { w in
                    defer { lo += w }
                    return word.bits(lo + w - 1, lo)
                }
            }
            func successor(_ p: Signal, _ count: Int) -> Signal { mux(p == count - 1, .literal(0, p.type), p &+ 1) }
            func quiet(_ queue: Instance) { for p in ["count", "full", "empty"] { m.discard(queue.port(p)) } }
            let windowBase = Signal.uint(base, width: 32)
            func hasBeats(_ command: [Signal]) -> Signal { command[2] != 0 && command[4] != 0 }
            // An on-chip command as the queues and slots keep it.
            func onChip(_ command: [Signal], offset: Signal) -> [Signal] {
                [offset.truncate(to: ob), command[1], command[2] &- 1, command[3].truncate(to: ob), command[4] &- 1,
                 command[5].truncate(to: ob)]
            }
            /// Rotates `word` by `amount` units of `unit` bits, towards the high end (unit i → i + amount) or the low end.
            func rotate(_ word: Signal, by amount: Signal, unit: Int, up: Bool, name: String) -> Signal {
                let w = word.width
                var v = word
                for s in 0 ..< amount.width {
                    let k = unit << s
                    let turned = up ? cat(v.bits(w - k - 1, 0), v.bits(w - 1, w - k)) : cat(v.bits(k - 1, 0), v.bits(w - 1, k))
                    v = m.wire("\(name)_\(s)", mux(amount[s], turned, v))
                }
                return v
            }

            let bank = (0 ..< b).map { m.memory("bank_\($0)", depth: rows, .uint(8), style: .block) }

            // MARK: external commands
            let externalReads = m.instance(externalQueue.module, "external_read_commands")
            mRdValid.assign(externalReads.pop_valid)
            for (port, value) in zip(mRd, unpack(externalReads.pop_payload, fieldWidths)) { port.assign(value) }
            externalReads.pop_ready.assign(mRdReady)
            externalReads.push_payload.assign(pack(upRd))
            quiet(externalReads)
            let externalWrites = m.instance(externalQueue.module, "external_write_commands")
            mWrValid.assign(externalWrites.pop_valid)
            for (port, value) in zip(mWr, unpack(externalWrites.pop_payload, fieldWidths)) { port.assign(value) }
            externalWrites.pop_ready.assign(mWrReady)
            externalWrites.push_payload.assign(pack(upWr))
            quiet(externalWrites)

            // MARK: write commands
            let wrOffset = m.wire("wr_offset", upWr[0] &- windowBase)
            let wrOnChip = m.wire("wr_on_chip", wrOffset < size)
            let writeTags = m.instance(writeTagQueue.module, "write_tags")
            quiet(writeTags)
            // Pending on-chip writes, allocated in order at `slot_tail`; a slot frees when its last
            // beat is in RAM.
            let slotValid = m.regs("slot_valid", count: slots, .bool, reset: 0)
            let slotKnown = m.regs("slot_known", count: slots, .bool, reset: 0)
            let slotIndex = m.regs("slot_index", count: slots, .uint(ib))
            let slotHi = m.regs("slot_hi", count: slots, .uint(ob))
            let slotCommand = zip(["slot_lo", "slot_chunk", "slot_end1", "slot_stride1", "slot_end2", "slot_stride2"], onChipWidths)
                .map { name, w in m.regs(name, count: slots, .uint(w)) }
            let slotTail = m.reg("slot_tail", .uint(sb), reset: 0)
            let footprintBusy = m.reg("footprint_busy", .bool, reset: 0)
            let slotFree = m.wire("slot_free", !select(slotTail, slotValid) && !footprintBusy)
            upWrReady.assign(writeTags.push_ready && mux(wrOnChip, slotFree, externalWrites.push_ready))
            let wrFire = m.wire("wr_fire", upWrValid && upWrReady)
            let allocate = m.wire("wr_allocate", wrFire && wrOnChip && hasBeats(upWr))
            writeTags.push_valid.assign(wrFire && hasBeats(upWr))
            writeTags.push_payload.assign(wrOnChip)
            externalWrites.push_valid.assign(wrFire && !wrOnChip)
            // Sequence number of the next on-chip write.
            let writesAccepted = m.reg("writes_accepted", .uint(ib), reset: 0)
            let wrFields = onChip(upWr, offset: wrOffset)
            m.when(allocate) {
                writesAccepted.assign(writesAccepted &+ 1)
                slotTail.assign(successor(slotTail, slots))
                for k in 0 ..< slots {
                    m.when(slotTail == k) {
                        slotValid[k].assign(1)
                        slotKnown[k].assign(0)
                        slotIndex[k].assign(writesAccepted)
                        for (f, value) in wrFields.enumerated() { slotCommand[f][k].assign(value) }
                    }
                }
            }

            // The footprint's last byte: offset + chunk − 1 + Σ over the bits of count − 1 of the
            // stride shifted by the bit's place, both counts one bit per cycle.
            let footprintSlot = m.reg("footprint_slot", .uint(sb))
            let footprintEnd = m.reg("footprint_end", .uint(ob))
            let footprintCount1 = m.reg("footprint_count1", .uint(16))
            let footprintCount2 = m.reg("footprint_count2", .uint(16))
            let footprintStride1 = m.reg("footprint_stride1", .uint(ob))
            let footprintStride2 = m.reg("footprint_stride2", .uint(ob))
            m.when(allocate) {
                footprintBusy.assign(1)
                footprintSlot.assign(slotTail)
                footprintEnd.assign(wrFields[0] &+ upWr[1].resize(ob) &- 1)
                footprintCount1.assign(wrFields[2])
                footprintStride1.assign(wrFields[3])
                footprintCount2.assign(wrFields[4])
                footprintStride2.assign(wrFields[5])
            }.elsewhen(footprintBusy) {
                m.when(footprintCount1 == 0 && footprintCount2 == 0) {
                    footprintBusy.assign(0)
                    for k in 0 ..< slots {
                        m.when(footprintSlot == k) {
                            slotHi[k].assign(footprintEnd)
                            slotKnown[k].assign(1)
                        }
                    }
                }.otherwise {
                    footprintEnd.assign(footprintEnd &+ mux(footprintCount1[0], footprintStride1, 0)
                                        &+ mux(footprintCount2[0], footprintStride2, 0))
                    footprintCount1.assign(footprintCount1 >> 1)
                    footprintCount2.assign(footprintCount2 >> 1)
                    footprintStride1.assign((footprintStride1 << 1).truncate(to: ob))
                    footprintStride2.assign((footprintStride2 << 1).truncate(to: ob))
                }
            }

            // MARK: write beats
            let writeTagValid = writeTags.pop_valid, writeTagOnChip = writeTags.pop_payload
            // The walk of the on-chip write whose beats come next (slot `write_slot`).
            let wLoaded = m.reg("write_loaded", .bool, reset: 0)
            let wSlot = m.reg("write_slot", .uint(sb), reset: 0)
            let wAt = m.reg("write_at", .uint(ob))
            let wRowAt = m.reg("write_row_at", .uint(ob))
            let wI = m.reg("write_i", .uint(16)), wJ = m.reg("write_j", .uint(16))
            let wChunk = m.reg("write_chunk", .uint(cw))
            let wEnd1 = m.reg("write_end1", .uint(16)), wEnd2 = m.reg("write_end2", .uint(16))
            let wStride1 = m.reg("write_stride1", .uint(ob)), wStride2 = m.reg("write_stride2", .uint(ob))
            mValid.assign(writeTagValid && !writeTagOnChip && upMValid)
            mData.assign(upMData)
            mLast.assign(upMLast)
            upMReady.assign(writeTagValid && mux(writeTagOnChip, wLoaded, mReady))
            let writeBeat = m.wire("write_beat", upMValid && writeTagValid && writeTagOnChip && wLoaded)
            let writeLastBeat = m.wire("write_last_beat", wI == wEnd1 && wJ == wEnd2)
            writeTags.pop_ready.assign((writeBeat && writeLastBeat) || (mValid && mReady && upMLast))
            m.when(!wLoaded) {
                m.when(select(wSlot, slotValid)) {
                    let field = slotCommand.map { select(wSlot, $0) }
                    wLoaded.assign(1)
                    wAt.assign(field[0])
                    wRowAt.assign(field[0])
                    wChunk.assign(field[1])
                    wEnd1.assign(field[2])
                    wStride1.assign(field[3])
                    wEnd2.assign(field[4])
                    wStride2.assign(field[5])
                    wI.assign(0)
                    wJ.assign(0)
                }
            }.elsewhen(writeBeat) {
                m.when(wI == wEnd1) {
                    wI.assign(0)
                    m.when(wJ == wEnd2) {
                        wLoaded.assign(0)
                        wSlot.assign(successor(wSlot, slots))
                    }.otherwise {
                        wJ.assign(wJ &+ 1)
                        wRowAt.assign(wRowAt &+ wStride2)
                        wAt.assign(wRowAt &+ wStride2)
                    }
                }.otherwise {
                    wI.assign(wI &+ 1)
                    wAt.assign(wAt &+ wStride1)
                }
            }

            // One register stage, then the rotated beat into the banks.
            let stageValid = m.reg("stage_valid", next: writeBeat, reset: 0)
            let stageData = m.reg("stage_data", next: upMData, enable: writeBeat)
            let stageAt = m.reg("stage_at", next: wAt, enable: writeBeat)
            let stageChunk = m.reg("stage_chunk", next: wChunk, enable: writeBeat)
            let stageLast = m.reg("stage_last", next: writeLastBeat, enable: writeBeat)
            let stageSlot = m.reg("stage_slot", next: wSlot, enable: writeBeat)
            let stageShift = m.wire("stage_shift", stageAt.bits(rb - 1, 0))
            let stageRow = m.wire("stage_row", (stageAt >> rb).resize(rowBits))
            let stageRowNext = m.wire("stage_row_next", stageRow &+ 1)
            let keep = cat((0 ..< b).reversed().map { stageChunk > $0 })
            let bankData = rotate(stageData, by: stageShift, unit: 8, up: true, name: "write_rotate")
            let bankWrite = rotate(keep, by: stageShift, unit: 1, up: true, name: "write_keep")
            for k in 0 ..< b {
                let row = k == b - 1 ? stageRow : mux(stageShift > k, stageRowNext, stageRow)
                bank[k].write(row, bankData.bits(8 * k + 7, 8 * k), enable: stageValid && bankWrite[k])
            }
            for k in 0 ..< slots {
                m.when(stageValid && stageLast && stageSlot == k) { slotValid[k].assign(0) }
            }

            // MARK: read commands
            let rdOffset = m.wire("rd_offset", upRd[0] &- windowBase)
            let rdOnChip = m.wire("rd_on_chip", rdOffset < size)
            let readTags = m.instance(readTagQueue.module, "read_tags")
            quiet(readTags)
            let readCommands = m.instance(readQueue.module, "onchip_read_commands")
            quiet(readCommands)
            // A read accepted after a write command is offered must know of it.
            let writeWaiting = m.wire("write_waiting", upWrValid && !upWrReady)
            upRdReady.assign(!writeWaiting && readTags.push_ready && mux(rdOnChip, readCommands.push_ready, externalReads.push_ready))
            let rdFire = m.wire("rd_fire", upRdValid && upRdReady)
            readTags.push_valid.assign(rdFire && hasBeats(upRd))
            readTags.push_payload.assign(rdOnChip)
            externalReads.push_valid.assign(rdFire && !rdOnChip)
            readCommands.push_valid.assign(rdFire && rdOnChip && hasBeats(upRd))
            // Writes accepted before the read, one accepted in the same cycle included.
            readCommands.push_payload.assign(pack(onChip(upRd, offset: rdOffset) + [writesAccepted &+ allocate]))

            // MARK: read engine
            let head = unpack(readCommands.pop_payload, onChipWidths + [ib])
            let rActive = m.reg("read_active", .bool, reset: 0)
            let rAt = m.reg("read_at", .uint(ob))
            let rRowAt = m.reg("read_row_at", .uint(ob))
            let rI = m.reg("read_i", .uint(16)), rJ = m.reg("read_j", .uint(16))
            let rChunk = m.reg("read_chunk", .uint(cw))
            let rEnd1 = m.reg("read_end1", .uint(16)), rEnd2 = m.reg("read_end2", .uint(16))
            let rStride1 = m.reg("read_stride1", .uint(ob)), rStride2 = m.reg("read_stride2", .uint(ob))
            let rWrites = m.reg("read_writes_before", .uint(ib))
            let readLastBeat = m.wire("read_last_beat", rI == rEnd1 && rJ == rEnd2)

            let eb = max(ob, cw) + 1
            let rEndByte = m.wire("read_end_byte", rAt.extend(to: eb) &+ rChunk.extend(to: eb) &- 1)
            let waits = (0 ..< slots).map { k -> Signal in
                let newer = rWrites &- slotIndex[k]
                let earlier = newer != 0 && !newer.msb
                // Until the write's end is known, everything from its first byte up counts as its.
                let overlaps = rEndByte >= slotCommand[0][k] && (!slotKnown[k] || rAt <= slotHi[k])
                return m.wire("read_waits_for_slot_\(k)", slotValid[k] && earlier && overlaps)
            }
            let rawWait = m.wire("read_raw_wait", waits.dropFirst().reduce(waits[0]) { $0 || $1 })

            let beats = m.instance(beatQueue.module, "onchip_beats")
            for p in ["push_ready", "full", "empty"] { m.discard(beats.port(p)) }
            let inFlight = m.reg("read_in_flight", .bool, reset: 0)
            // Credits: the FIFO's words plus the one leaving the RAM never exceed its depth.
            let room = m.wire("read_room", beats.count + inFlight < Self.outputDepth)
            let issue = m.wire("read_issue", rActive && !rawWait && room)
            inFlight.assign(issue)
            let load = m.wire("read_load", readCommands.pop_valid && (!rActive || (issue && readLastBeat)))
            readCommands.pop_ready.assign(load)
            m.when(load) {
                rActive.assign(1)
                rAt.assign(head[0])
                rRowAt.assign(head[0])
                rChunk.assign(head[1])
                rEnd1.assign(head[2])
                rStride1.assign(head[3])
                rEnd2.assign(head[4])
                rStride2.assign(head[5])
                rWrites.assign(head[6])
                rI.assign(0)
                rJ.assign(0)
            }.elsewhen(issue) {
                m.when(readLastBeat) {
                    rActive.assign(0)
                }.elsewhen(rI == rEnd1) {
                    rI.assign(0)
                    rJ.assign(rJ &+ 1)
                    rRowAt.assign(rRowAt &+ rStride2)
                    rAt.assign(rRowAt &+ rStride2)
                }.otherwise {
                    rI.assign(rI &+ 1)
                    rAt.assign(rAt &+ rStride1)
                }
            }
            let readShift = m.wire("read_shift", rAt.bits(rb - 1, 0))
            let readRow = m.wire("read_row", (rAt >> rb).resize(rowBits))
            let readRowNext = m.wire("read_row_next", readRow &+ 1)
            let bankQ = (0 ..< b).map { k -> Signal in
                let row = k == b - 1 ? readRow : mux(readShift > k, readRowNext, readRow)
                return bank[k].read(row, enable: issue, name: "bank_\(k)_q")
            }
            let readShiftQ = m.reg("read_shift_q", next: readShift, enable: issue)
            let readLastQ = m.reg("read_last_q", next: readLastBeat, enable: issue)
            beats.push_valid.assign(inFlight)
            beats.push_payload.assign(cat(readLastQ, rotate(cat(bankQ.reversed()), by: readShiftQ, unit: 8, up: false, name: "read_rotate")))

            // MARK: the input stream, in the order of the read commands
            // A beat is read from external memory when it is taken, and nothing orders an external
            // read after an earlier external write (the DataMover's read and write channels are
            // apart). The control unit takes a pass's beats only once the pass before it has written
            // everything, so reading ahead is safe only while no external write is pending: a pass's
            // write command goes out at its start, before the next pass's reads.
            let externalWritesPending = m.reg("external_writes_pending", .uint(addressWidth(Self.writeTagDepth + 1)), reset: 0)
            let externalWriteIn = m.wire("external_write_in", wrFire && !wrOnChip && hasBeats(upWr))
            let externalWriteOut = m.wire("external_write_out", mValid && mReady && upMLast)
            m.when(externalWriteIn && !externalWriteOut) { externalWritesPending.assign(externalWritesPending &+ 1) }
                .elsewhen(externalWriteOut && !externalWriteIn) { externalWritesPending.assign(externalWritesPending &- 1) }
            let noExternalWrites = m.wire("no_external_writes", externalWritesPending == 0)
            // External beats the head read does not take yet wait in the read-ahead FIFO, in the
            // DataMover's order (the external reads' order); while it is empty and an external read
            // is at the head, they pass straight through.
            let ahead = m.instance(externalAhead.module, "external_ahead")
            quiet(ahead)
            let tagValid = readTags.pop_valid, tagOnChip = readTags.pop_payload
            let headExternal = m.wire("head_external", tagValid && !tagOnChip)
            let aheadHeld = ahead.pop_valid
            let bypass = m.wire("external_bypass", headExternal && !aheadHeld && upSReady)
            upSValid.assign(tagValid && mux(tagOnChip, beats.pop_valid, aheadHeld || sValid))
            upSData.assign(mux(tagOnChip, beats.pop_payload.bits(8 * b - 1, 0), mux(aheadHeld, ahead.pop_payload.bits(8 * b - 1, 0), sData)))
            upSLast.assign(mux(tagOnChip, beats.pop_payload[8 * b], mux(aheadHeld, ahead.pop_payload[8 * b], sLast)))
            ahead.push_valid.assign(sValid && !bypass && noExternalWrites)
            ahead.push_payload.assign(cat(sLast, sData))
            ahead.pop_ready.assign(headExternal && upSReady)
            sReady.assign(bypass || (ahead.push_ready && noExternalWrites))
            beats.pop_ready.assign(tagValid && tagOnChip && upSReady)
            readTags.pop_ready.assign(upSValid && upSReady && upSLast)

            // MARK: figures
            let readBeats = m.reg("read_beats_count", .uint(32), reset: 0)
            let writeBeats = m.reg("write_beats_count", .uint(32), reset: 0)
            let rawStalls = m.reg("raw_stalls_count", .uint(32), reset: 0)
            m.when(clear) { readBeats.assign(Signal.uint(0, width: 32)) }
                .elsewhen(tagValid && tagOnChip && beats.pop_valid && upSReady) { readBeats.assign(readBeats &+ 1) }
            m.when(clear) { writeBeats.assign(Signal.uint(0, width: 32)) }.elsewhen(writeBeat) { writeBeats.assign(writeBeats &+ 1) }
            m.when(clear) { rawStalls.assign(Signal.uint(0, width: 32)) }.elsewhen(rActive && rawWait) { rawStalls.assign(rawStalls &+ 1) }
            readBeatsOut.assign(readBeats)
            writeBeatsOut.assign(writeBeats)
            rawStallsOut.assign(rawStalls)
        }
    }
}
