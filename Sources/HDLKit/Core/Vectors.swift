/// Vectors of signals: `count` separately named signals `<name>_0` … `<name>_<count-1>`, never one
/// wide vector with part-selects (which simulates far slower and hides the per-element names).
extension Module {
    private func vectorNames(_ name: String, _ count: Int, _ location: SourceLocation) -> [String] {
        guard count >= 0 else {
            error("vector '\(name)' needs a count of at least 0, not \(count)", at: location)
            return []
        }
        return (0..<count).map { "\(name)_\($0)" }
    }

    /// Input ports `<name>_0` … `<name>_<count-1>`.
    public func inputs(_ name: String, count: Int, _ type: HWType, file: StaticString = #fileID, line: UInt = #line) -> [Signal] {
        vectorNames(name, count, SourceLocation(file: file, line: line)).map { input($0, type, file: file, line: line) }
    }

    /// Output ports `<name>_0` … `<name>_<count-1>`, each assigned later.
    public func outputs(_ name: String, count: Int, _ type: HWType, file: StaticString = #fileID, line: UInt = #line) -> [Signal] {
        vectorNames(name, count, SourceLocation(file: file, line: line)).map { output($0, type, file: file, line: line) }
    }

    /// Output ports driven by `values`, one per element.
    @discardableResult
    public func outputs(_ name: String, _ values: [Signal], file: StaticString = #fileID, line: UInt = #line) -> [Signal] {
        values.enumerated().map { output("\(name)_\($0.offset)", $0.element, file: file, line: line) }
    }

    /// Combinational signals `<name>_0` … `<name>_<count-1>`, each assigned later.
    public func wires(_ name: String, count: Int, _ type: HWType, file: StaticString = #fileID, line: UInt = #line) -> [Signal] {
        vectorNames(name, count, SourceLocation(file: file, line: line)).map { wire($0, type, file: file, line: line) }
    }

    /// Names each of `values`.
    @discardableResult
    public func wires(_ name: String, _ values: [Signal], file: StaticString = #fileID, line: UInt = #line) -> [Signal] {
        values.enumerated().map { wire("\(name)_\($0.offset)", $0.element, file: file, line: line) }
    }

    /// Registers `<name>_0` … `<name>_<count-1>`, each assigned later.
    public func regs(_ name: String, count: Int, _ type: HWType, reset: Int? = nil, enable: Signal? = nil,
                     domain: String = Module.defaultDomain, file: StaticString = #fileID, line: UInt = #line) -> [Signal] {
        vectorNames(name, count, SourceLocation(file: file, line: line)).map {
            reg($0, type, reset: reset, enable: enable, domain: domain, file: file, line: line)
        }
    }

    /// Pipeline registers sampling each of `next`.
    @discardableResult
    public func regs(_ name: String, next: [Signal], reset: Int? = nil, enable: Signal? = nil,
                     domain: String = Module.defaultDomain, file: StaticString = #fileID, line: UInt = #line) -> [Signal] {
        next.enumerated().map {
            reg("\(name)_\($0.offset)", next: $0.element, reset: reset, enable: enable, domain: domain, file: file, line: line)
        }
    }
}
