/// A synchronous FIFO of `depth` words with stream ports.
///
/// Ports (on `clk`/`rst`): `push` (stream in; `push_ready` is `!full`), `pop` (stream out), `count`
/// (words held), `full`, `empty`. All of `push_ready`, `count`, `full` and `empty` come from registers.
///
/// - First-word fall-through (`firstWordFallThrough: true`): `pop_valid` is `!empty` and `pop_payload`
///   shows the oldest word; it leaves when `pop_ready` is high. A pushed word can be popped the next cycle.
/// - Standard: `pop_ready` is a read request; it is accepted when the FIFO is not empty, and the word
///   appears on `pop_payload` with `pop_valid` high one cycle later, for that cycle only (the block-RAM
///   read protocol, so the receiver must be able to take it).
///
/// Storage is registers for small FIFOs and a synchronous-read `Memory` (block or distributed RAM)
/// for deep ones; a fall-through FIFO over a memory forwards a word written into the slot being read.
public struct FIFO {
    public enum Storage: Sendable, Hashable {
        /// Registers up to `registerLimit` words, a memory above.
        case auto
        case registers
        case memory(MemoryStyle)
    }

    /// Deepest FIFO that `.auto` builds from registers.
    public static let registerLimit = 16

    public let depth: Int
    public let payload: HWType
    public let firstWordFallThrough: Bool
    public let module: Module

    /// Cycles from a pop request to its word at `pop_payload`: 0 with fall-through, 1 without.
    public var readLatency: Int { firstWordFallThrough ? 0 : 1 }

    public init(depth: Int, payload: HWType, firstWordFallThrough: Bool = true, storage: Storage = .auto,
                file: StaticString = #fileID, line: UInt = #line) {
        self.depth = depth
        self.payload = payload
        self.firstWordFallThrough = firstWordFallThrough
        let words = max(depth, 1)
        let style: MemoryStyle?
        switch storage {
        case .auto: style = words > FIFO.registerLimit ? .auto : nil
        case .registers: style = nil
        case .memory(let s): style = s
        }
        let storageTag = style.map { $0 == .auto ? "_ram" : "_ram\($0.rawValue)" } ?? "_regs"
        let name = "FIFO_d\(depth)_\(payload.shortName)\(firstWordFallThrough ? "_fwft" : "")\(storageTag)"
        let loc = SourceLocation(file: file, line: line)
        module = Module(name, file: file, line: line) { m in
            if depth < 1 { m.error("FIFO depth must be at least 1, not \(depth)", at: loc) }
            if style != nil && words < 2 { m.error("a FIFO in memory needs a depth of at least 2, not \(depth)", at: loc) }
            let push = m.input("push", .stream(payload))
            let pop = m.output("pop", .stream(payload))
            let countOut = m.output("count", .uint(bitsNeeded(words, signed: false)))
            let fullOut = m.output("full", .bool)
            let emptyOut = m.output("empty", .bool)

            let held = m.reg("held", countOut.type, reset: 0)
            let writeAt = m.reg("write_at", .uint(addressWidth(words)), reset: 0)
            let readAt = m.reg("read_at", .uint(addressWidth(words)), reset: 0)
            let full = m.wire("is_full", held == words)
            let empty = m.wire("is_empty", held == 0)
            countOut.assign(held)
            fullOut.assign(full)
            emptyOut.assign(empty)
            push.ready.assign(!full)

            let pushFire = m.wire("push_fire", push.valid && !full)
            let popFire = m.wire("pop_fire", pop.ready && !empty)
            func successor(_ p: Signal) -> Signal { mux(p == words - 1, .literal(0, p.type), p &+ 1) }
            m.when(pushFire) { writeAt.assign(successor(writeAt)) }
            m.when(popFire) { readAt.assign(successor(readAt)) }
            m.when(pushFire && !popFire) { held.assign(held &+ 1) }
                .elsewhen(popFire && !pushFire) { held.assign(held &- 1) }

            if firstWordFallThrough {
                pop.valid.assign(!empty)
            } else {
                pop.valid.assign(m.reg("pop_valid_q", next: popFire, reset: 0))
            }

            if let style {
                let mem = m.memory("storage", depth: words, payload, style: style)
                mem.write(writeAt, push.payload, enable: pushFire)
                if firstWordFallThrough {
                    // Read ahead: the synchronous read port always holds the word at the next read
                    // address; a write into that very slot in the same cycle is forwarded around the
                    // memory (which returns the old word for a read during write).
                    let readNext = m.wire("read_next", mux(popFire, successor(readAt), readAt))
                    let ahead = mem.read(readNext, name: "head_q")
                    let forward = m.reg("forward", next: pushFire && writeAt == readNext)
                    let forwardPayload = m.reg("forward_payload", next: push.payload)
                    pop.payload.assign(mux(forward, forwardPayload, ahead))
                } else {
                    pop.payload.assign(mem.read(readAt, enable: popFire, name: "pop_payload_q"))
                }
            } else {
                let cells = m.regs("cell", count: words, payload)
                for (i, cell) in cells.enumerated() {
                    m.when(pushFire && writeAt == i) { cell.assign(push.payload) }
                }
                let head = select(readAt, cells)
                if firstWordFallThrough {
                    pop.payload.assign(head)
                } else {
                    let q = m.reg("pop_payload_q", payload)
                    m.when(popFire) { q.assign(head) }
                    pop.payload.assign(q)
                }
            }
        }
    }
}
