import HDLKit

/// The output buffer's accumulator (seed 003, section 3.4): sums the convolution engine's partial
/// sums over the channel slices (and 3×3 kernel pieces) of one output element, between the engine
/// and the quantization unit.
///
/// The engine emits, per channel slice, a whole pass over the output positions; the slices of a
/// layer come one pass after another. So every output position `in_addr` has, per lane, one int32
/// word of `depth`: a beat with `in_first` starts a new sum (the word's old value is ignored), any
/// other beat adds its partial sum to the word, and a beat with `in_last` (the final slice) shows
/// the total on `out_valid`/`sum_<j>`. Sums wrap in int32 exactly as TFLite's `acc +=` does.
/// A beat may have `in_first` and `in_last` both (a layer of one slice).
///
/// Ports: in_valid, in_first, in_last, in_end, in_addr (uint), part_<j> (sint accumulatorWidth);
/// out_valid, out_end, sum_<j> (0 while not valid). `in_end` is a side-band (e.g. the pass's last
/// output) carried to `out_end` with the sum, so that it lines up by construction.
///
/// Pipeline (`latency` = 2): stage 1 reads the word (synchronous read) while the beat is registered;
/// stage 2 adds and writes the word back and registers the result. A beat reading the word the
/// previous beat is writing gets the new value forwarded (the memory is read-first), so the same
/// address may repeat in consecutive cycles.
public struct SliceAccumulator: Sendable {
    public let config: AcceleratorConfig
    public let lanes: Int
    /// Output positions one pass may have (words per lane).
    public let depth: Int

    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    public init(config: AcceleratorConfig, lanes: Int, depth: Int) throws {
        try config.validate()
        guard (1 ... 4096).contains(lanes) else {
            throw Invalid(description: "SliceAccumulator lanes \(lanes): must be 1 to 4096")
        }
        guard (1 ... (1 << 22)).contains(depth) else {
            throw Invalid(description: "SliceAccumulator depth \(depth): must be 1 to \(1 << 22) output positions")
        }
        self.config = config
        self.lanes = lanes
        self.depth = depth
    }

    public static let latency = 2
    public var latency: Int { Self.latency }
    public var addressBits: Int { addressWidth(depth) }

    public var name: String { "SliceAccumulator_l\(lanes)_d\(depth)_a\(config.accumulatorWidth)" }

    public func module() -> Module {
        let aw = config.accumulatorWidth, ab = addressBits, lanes = lanes, depth = depth
        return Module(name) { m in
            let valid = m.input("in_valid", .bool)
            let first = m.input("in_first", .bool)
            let last = m.input("in_last", .bool)
            let end = m.input("in_end", .bool)
            let addr = m.input("in_addr", .uint(ab))
            let part = (0 ..< lanes).map { m.input("part_\($0)", .sint(aw)) }

            // Stage 1: the word is being read; the beat waits beside it.
            let s1Valid = m.reg("s1_valid", next: valid, reset: 0)
            let s1First = m.reg("s1_first", next: first, reset: 0)
            let s1Last = m.reg("s1_last", next: last, reset: 0)
            let s1End = m.reg("s1_end", next: end, reset: 0)
            let s1Addr = m.reg("s1_addr", next: addr, reset: 0)
            let s1Part = (0 ..< lanes).map { m.reg("s1_part_\($0)", next: part[$0]) }

            // Stage 2 registers, declared first because stage 1 forwards from them.
            let s2Valid = m.reg("s2_valid", next: s1Valid, reset: 0)
            let s2Last = m.reg("s2_last", next: s1Last, reset: 0)
            let s2End = m.reg("s2_end", next: s1End, reset: 0)
            let s2Addr = m.reg("s2_addr", next: s1Addr, reset: 0)
            let forward = m.wire("forward", s2Valid && s2Addr == s1Addr)

            var s2Sum: [Signal] = []
            for j in 0 ..< lanes {
                let mem = m.memory("words_\(j)", depth: depth, .sint(aw), style: .block)
                let word = mem.read(addr, enable: valid, name: "word_\(j)")
                let sumReg = m.reg("s2_sum_\(j)", .sint(aw))
                let old = m.wire("old_\(j)", mux(s1First, Signal.sint(0, width: aw), mux(forward, sumReg, word)))
                let sum = m.wire("sum_next_\(j)", old &+ s1Part[j])
                sumReg.assign(sum)
                mem.write(s1Addr, sum, enable: s1Valid)
                s2Sum.append(sumReg)
            }

            let outValid = m.wire("out_valid_w", s2Valid && s2Last)
            m.output("out_valid", outValid)
            m.output("out_end", outValid && s2End)
            for j in 0 ..< lanes { m.output("sum_\(j)", mux(outValid, s2Sum[j], Signal.sint(0, width: aw))) }
        }
    }
}
