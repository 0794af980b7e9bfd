/// Delay lines: the way a generator matches side-bands (valid, indices, flags) to the known latency
/// of a pipelined datapath, with every stage a named register (`<name>_d1` … `<name>_d<n>`).
extension Module {
    /// `signal` delayed by `cycles` clock cycles (the signal itself for 0). With `reset`, every stage
    /// resets to that value (use it for valid bits); with `enable`, the line advances only when it is high.
    public func delay(_ signal: Signal, by cycles: Int, name: String, reset: Int? = nil, enable: Signal? = nil,
                      domain: String = Module.defaultDomain, file: StaticString = #fileID, line: UInt = #line) -> Signal {
        if cycles < 0 {
            error("delay '\(name)' by \(cycles) cycles: the delay must be at least 0", at: SourceLocation(file: file, line: line))
            return signal
        }
        var s = signal
        for stage in stride(from: 1, through: cycles, by: 1) {
            s = reg("\(name)_d\(stage)", next: s, reset: reset, enable: enable, domain: domain, file: file, line: line)
        }
        return s
    }

    /// Every field of `bundle` delayed by `cycles` (stage registers `<name>_<field>_d<k>`); fields
    /// listed in `reset` reset to the given value. A bundle with flipped fields (a stream's `ready`)
    /// cannot be delayed: back-pressure does not travel through a plain delay line.
    public func delay(_ bundle: Bundle, by cycles: Int, name: String, reset: [String: Int] = [:], enable: Signal? = nil,
                      domain: String = Module.defaultDomain, file: StaticString = #fileID, line: UInt = #line) -> Bundle {
        if let f = bundle.shape.fields.first(where: \.flipped) {
            error("delay '\(name)': field '\(f.name)' of bundle '\(bundle.prefix)' flows backwards and cannot be delayed",
                  at: SourceLocation(file: file, line: line))
            return bundle
        }
        var fields: [String: Signal] = [:]
        for f in bundle.shape.fields {
            fields[f.name] = delay(bundle.field(f.name), by: cycles, name: "\(name)_\(f.name)", reset: reset[f.name], enable: enable,
                                   domain: domain, file: file, line: line)
        }
        return Bundle(prefix: name, shape: bundle.shape, fields: fields)
    }
}
