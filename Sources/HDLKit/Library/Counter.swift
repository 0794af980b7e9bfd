/// A wrap-around counter: counts 0, 1, …, `modulus - 1`, 0, … in cycles where `enable` is high,
/// and returns to 0 when `clear` is high (clear wins over enable).
public struct Counter {
    /// The register holding the count, `uint(addressWidth(modulus))`, reset to 0.
    public let value: Signal
    /// High in the cycle the counter wraps: `enable` and `value == modulus - 1` (whatever `clear` says).
    public let tick: Signal
    public let modulus: Int
}

extension Module {
    /// A counter named `name` (register `name`, wire `<name>_tick`).
    public func counter(_ name: String, modulus: Int, enable: Signal? = nil, clear: Signal? = nil,
                        domain: String = Module.defaultDomain, file: StaticString = #fileID, line: UInt = #line) -> Counter {
        let loc = SourceLocation(file: file, line: line)
        if modulus < 1 { error("counter '\(name)' needs a modulus of at least 1, not \(modulus)", at: loc) }
        let last = max(modulus, 1) - 1
        let value = reg(name, .uint(addressWidth(max(modulus, 1))), reset: 0, domain: domain, file: file, line: line)
        let atLast = value == last
        let next = mux(atLast, .literal(0, value.type), value &+ 1)
        let tick: Signal
        if let enable {
            tick = wire("\(name)_tick", enable && atLast, file: file, line: line)
            when(enable, file: file, line: line) { value.assign(next, file: file, line: line) }
        } else {
            tick = wire("\(name)_tick", atLast, file: file, line: line)
            value.assign(next, file: file, line: line)
        }
        if let clear {
            when(clear, file: file, line: line) { value.assign(0, file: file, line: line) }
        }
        return Counter(value: value, tick: tick, modulus: modulus)
    }
}
