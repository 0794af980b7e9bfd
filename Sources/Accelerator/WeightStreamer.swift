import HDLKit

/// The weight stream (docs/control.md, "Weight stream"): the program's weight sets lie in memory
/// one after another in the order the passes load them (`WEIGHT_BASE`, `WEIGHT_BEATS` beats of B
/// bytes), so this unit reads them as one sequential stream on its own read port (`m_wt_cmd`,
/// `s_axis_wt`), apart from the records, parameters and pixels on `m_rd_cmd`/`s_axis`. It cuts
/// the stream into sets by the control unit's announcements (`set_push`: a record's weight beats
/// and layout, pushed as the record arrives, in record order) and hands them to the execution
/// unit's next weight set (`wt_*`, `wt_set_last` on a set's last beat).
///
/// Why a stream of its own: a pass's weights (2,304 bytes at PC = PF = 16) used to wait on the
/// one in-order data stream behind the pass before's pixels and for their own read's latency, so
/// passes of on-chip pixels paid both, one after the other. Read as a stream that runs ahead of
/// what has been loaded, into the weight buffer (`bufferBeats`), the weights need no per-pass
/// command: their latency is paid once per run, and a pass's set comes in while the passes before
/// it compute.
///
/// Commands ask for `commandBeats` beats each (fewer for the last), as long as the beats asked for
/// and not yet taken stay within the window (`window`). `flush` (the control unit's end of a run) stops
/// the commands and takes and drops the beats still coming; `idle` says that none are.
public struct WeightStreamer {
    public let config: AcceleratorConfig
    public let module: Module

    /// Beats one read command asks for.
    public static let commandBeats = 32
    /// Beats asked for and not yet taken, at least: at 64 bytes a cycle they cover a latency of
    /// 256·B / 64 cycles (512 at B = 128), and a memory that answers late stalls the run instead
    /// of the unit asking for more. A weight buffer deeper than that widens the window to its depth.
    public static let windowBeats = 256

    /// The weight buffer, in beats: `weightBufferDepth` words of PK·PC·PF weights (at least two
    /// beats). It is the stream's read-ahead FIFO: beats come into it from the memory whenever it
    /// has room, whatever the sets announced, so the weights of a layer that is bound by them
    /// (MobileNetV2's FC: 1.28 MB in 567 passes) come in while the layers before it compute.
    public static func bufferBeats(_ c: AcceleratorConfig) -> Int { max(2, c.weightBufferBits / (8 * c.streamBytes)) }

    /// Beats asked for and not yet taken, at most.
    public static func window(_ c: AcceleratorConfig) -> Int { max(windowBeats, bufferBeats(c)) }
    /// Sets announced and not yet loaded: the control unit holds at most `ControlUnit.recordsAhead`
    /// + 1 records (the running one and those ahead), so one more; it fetches a record only while
    /// `sets_held` plus its fetches in flight leave room.
    public static let setDepth = ControlUnit.recordsAhead + 2

    public init(config c: AcceleratorConfig) throws {
        try c.validate()
        config = c
        let b = c.streamBytes
        let window = Self.window(c), chunk = Self.commandBeats, depth = Self.setDepth
        let buffer = FIFO(depth: Self.bufferBeats(c), payload: .uint(8 * b), storage: .memory(.block))
        module = Module("WeightStreamer_b\(b)_d\(Self.bufferBeats(c))") { m in
            let start = m.input("start", .bool)
            let base = m.input("weight_base", .uint(32))
            let total = m.input("weight_beats", .uint(32))
            let flush = m.input("flush", .bool)

            // MARK: read commands, `commandBeats` at a time within the window
            let cmdValid = m.reg("cmd_valid", .bool, reset: 0)
            let cmdReady = m.input("m_wt_cmd_ready", .bool)
            let cmdAddress = m.reg("cmd_address", .uint(32), reset: 0)
            let cmdCount = m.reg("cmd_count", .uint(16), reset: 0)
            m.output("m_wt_cmd_valid", cmdValid)
            m.output("m_wt_cmd_address", cmdAddress)
            m.output("m_wt_cmd_chunk", Signal.uint(b, width: c.chunkWidth))
            m.output("m_wt_cmd_count1", cmdCount)
            m.output("m_wt_cmd_stride1", Signal.uint(b, width: 32))
            m.output("m_wt_cmd_count2", Signal.uint(1, width: 16))
            m.output("m_wt_cmd_stride2", Signal.uint(0, width: 32))
            // Beats asked for and beats taken (loaded or dropped) in this run; the next command's address.
            let issued = m.reg("issued", .uint(32), reset: 0)
            let taken = m.reg("taken", .uint(32), reset: 0)
            let nextAddress = m.reg("next_address", .uint(32), reset: 0)
            let running = m.reg("running", .bool, reset: 0)
            let left = m.wire("beats_left", total &- issued)
            let count = m.wire("command_beats", mux(left < chunk, left.truncate(to: 16), Signal.uint(chunk, width: 16)))
            let room = m.wire("window_room", (issued &- taken) <= window - chunk)
            let ask = m.wire("ask", running && !flush && !cmdValid && issued != total && room)
            m.when(start) {
                issued.assign(Signal.uint(0, width: 32))
                nextAddress.assign(base)
                running.assign(.true)
            }.elsewhen(ask) {
                cmdValid.assign(.true)
                cmdAddress.assign(nextAddress)
                cmdCount.assign(count)
                issued.assign(issued &+ count.resize(32))
                nextAddress.assign(nextAddress &+ (count.resize(32) * Signal.uint(b, width: 32)).truncate(to: 32))
            }.elsewhen(flush) { running.assign(.false) }
            m.when(cmdValid && cmdReady) { cmdValid.assign(.false) }

            // MARK: announced sets, a small ring cleared at the run's start
            let setPush = m.input("set_push", .bool)
            let setBeats = m.input("set_beats", .uint(16))
            let setMode = m.input("set_mode", .uint(2))
            let setWide = m.input("set_wide", .bool)
            let ab = addressWidth(depth)
            let beatsRing = (0 ..< depth).map { m.reg("set_beats_\($0)", .uint(16), reset: 0) }
            let modeRing = (0 ..< depth).map { m.reg("set_mode_\($0)", .uint(2), reset: 0) }
            let wideRing = (0 ..< depth).map { m.reg("set_wide_\($0)", .bool, reset: 0) }
            let writeAt = m.reg("set_write_at", .uint(ab), reset: 0)
            let readAt = m.reg("set_read_at", .uint(ab), reset: 0)
            let held = m.reg("set_count", .uint(addressWidth(depth + 1)), reset: 0)
            let headBeats = m.wire("head_beats", select(readAt, beatsRing))
            let hasSet = m.wire("has_set", held != 0)
            m.output("sets_held", held)
            m.when(setPush) {
                for n in 0 ..< depth {
                    m.when(writeAt == n) {
                        beatsRing[n].assign(setBeats)
                        modeRing[n].assign(setMode)
                        wideRing[n].assign(setWide)
                    }
                }
            }

            // MARK: beats → the weight buffer → the execution unit's next set, or dropped while flushing
            // Every beat asked for has room in the buffer (the window is at least its depth), so the
            // stream is always ready; while the buffer is empty, a beat the execution unit can take
            // passes straight through (no cycle lost where the weights are the bound).
            let sValid = m.input("s_axis_wt_tvalid", .bool)
            let sData = m.input("s_axis_wt_tdata", .uint(8 * b))
            m.discard(m.input("s_axis_wt_tlast", .bool))
            let wtReady = m.input("wt_ready", .bool)
            let beatInSet = m.reg("beat_in_set", .uint(16), reset: 0)
            let setLast = m.wire("set_last", beatInSet == headBeats &- 1)
            let delivering = m.wire("delivering", hasSet && !flush)
            let store = m.instance(buffer.module, "weight_buffer")
            for p in ["count", "full", "empty"] { m.discard(store.port(p)) }
            let buffered = store.pop_valid
            let consumer = m.wire("consumer_ready", flush || (delivering && wtReady))
            let bypass = m.wire("buffer_bypass", !buffered && consumer)
            let beatValid = m.wire("beat_valid", buffered || sValid)
            let beatData = m.wire("beat_data", mux(buffered, store.pop_payload, sData))
            store.push_valid.assign(sValid && !bypass)
            store.push_payload.assign(sData)
            store.pop_ready.assign(consumer)
            m.output("s_axis_wt_tready", bypass || store.push_ready)
            m.output("wt_valid", beatValid && delivering)
            for i in 0 ..< b { m.output("wt_byte_\(i)", beatData.bits(8 * i + 7, 8 * i).asSigned) }
            m.output("wt_set_last", setLast)
            m.output("wt_mode", select(readAt, modeRing))
            m.output("wt_wide", select(readAt, wideRing))
            let delivered = m.wire("delivered", beatValid && delivering && wtReady)
            let popped = m.wire("set_popped", delivered && setLast)
            func successor(_ p: Signal) -> Signal { mux(p == depth - 1, Signal.uint(0, width: ab), p &+ 1) }
            m.when(start) {
                writeAt.assign(Signal.uint(0, width: ab))
                readAt.assign(Signal.uint(0, width: ab))
                held.assign(Signal.uint(0, width: held.width))
                beatInSet.assign(Signal.uint(0, width: 16))
                taken.assign(Signal.uint(0, width: 32))
            }.otherwise {
                m.when(setPush) { writeAt.assign(successor(writeAt)) }
                m.when(popped) { readAt.assign(successor(readAt)) }
                m.when(setPush && !popped) { held.assign(held &+ 1) }.elsewhen(popped && !setPush) { held.assign(held &- 1) }
                m.when(popped) { beatInSet.assign(Signal.uint(0, width: 16)) }.elsewhen(delivered) { beatInSet.assign(beatInSet &+ 1) }
                m.when(beatValid && consumer) { taken.assign(taken &+ 1) }
            }
            m.output("idle", !cmdValid && issued == taken)
        }
    }
}
