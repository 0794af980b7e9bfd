import HDLKit

/// The weight staging of the ExecutionUnit: a weight set arrives as beats of B bytes (byte i of the
/// set is byte i mod B of beat i / B, docs/control.md) and is kept in one named register per byte
/// (`wstage_<i>`) until the whole set can be loaded into the datapath at once.
///
/// Each register loads only on its own beat (one shared decoder of the beat index feeds the
/// enables), so a set costs its bytes in flip-flops: 9·PC·PF·8 (18432 for the paper's
/// configuration) on top of the datapath's own next and active sets.
enum WeightLoader {
    struct Staging {
        /// Index of the beat the next weight beat fills (counts from 0 at `pass_start`).
        let beat: Signal
        /// Byte i of the set, sint 8.
        let bytes: [Signal]
    }

    static func staging(_ m: Module, bytes: [Signal], beat take: Signal, size: Int, passStart: Signal) -> Staging {
        let b = bytes.count
        let beats = (size + b - 1) / b
        let bb = addressWidth(beats)
        let at = m.reg("wstage_beat", .uint(bb), reset: 0)
        m.when(passStart) { at.assign(Signal.uint(0, width: bb)) }
            .elsewhen(take) { at.assign(at &+ 1) }
        let hit = (0 ..< beats).map { n in m.wire("wstage_hit_\(n)", take && at == n) }
        let regs = (0 ..< size).map { i in m.reg("wstage_\(i)", next: bytes[i % b], enable: hit[i / b]) }
        return Staging(beat: at, bytes: regs)
    }
}
