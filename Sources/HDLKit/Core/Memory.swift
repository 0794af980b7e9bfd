/// How a memory should be mapped; emitted as Vivado's `ram_style`/`rom_style` attribute, which
/// Yosys reads too.
public enum MemoryStyle: String, Sendable {
    case auto, block, distributed, ultra
}

/// A synchronous-read memory: reads are registered (one cycle latency), writes happen at the clock
/// edge, and a read of the address being written returns the old data (read-first). This is the
/// template Vivado and Yosys map to block RAM. Ports written inside `when` are enabled by the
/// branch's condition.
public final class Memory {
    public let name: String
    public let depth: Int
    public let type: HWType
    public let style: MemoryStyle
    public let initial: [Int]?
    public let domain: String
    public let location: SourceLocation
    unowned let module: Module

    struct ReadPort { let data: Decl; let address: Node; let enable: Node? }
    struct WritePort { let address: Node; let data: Node; let enable: Node?; let location: SourceLocation }
    private(set) var reads: [ReadPort] = []
    private(set) var writes: [WritePort] = []

    init(name: String, depth: Int, type: HWType, style: MemoryStyle, initial: [Int]?, domain: String, location: SourceLocation, module: Module) {
        self.name = name
        self.depth = depth
        self.type = type
        self.style = style
        self.initial = initial
        self.domain = domain
        self.location = location
        self.module = module
    }

    public var addressBits: Int { addressWidth(depth) }

    private func check(_ address: Signal, _ enable: Signal?, _ loc: SourceLocation) -> Bool {
        if let p = address.node.problem ?? enable?.node.problem { module.error(p, at: loc); return false }
        guard address.type == .uint(addressBits) else {
            module.error("address of memory '\(name)' (\(depth) words) must be uint(\(addressBits)), not \(address.type)", at: loc)
            return false
        }
        if let e = enable, e.type != .bool {
            module.error("enable of memory '\(name)' must be Bool, not \(e.type)", at: loc)
            return false
        }
        return true
    }

    private func gate(_ enable: Signal?) -> Node? {
        switch (module.pathCondition, enable?.node) {
        case (nil, let e): return e
        case (let c?, nil): return c
        case (let c?, let e?): return Node(.binary(.and, c, e, extendTo: 1), .bool, module)
        }
    }

    /// A read port; the data appears one cycle after the address (held while `enable` is low).
    public func read(_ address: Signal, enable: Signal? = nil, name dataName: String? = nil,
                     file: StaticString = #fileID, line: UInt = #line) -> Signal {
        let loc = SourceLocation(file: file, line: line)
        let d = module.declare(dataName ?? "\(name)_rd\(reads.count)", type, .memoryReadData(domain: domain), loc)
        if check(address, enable, loc) { reads.append(ReadPort(data: d, address: address.node, enable: gate(enable))) }
        return Signal(Node(.ref(d), type, module))
    }

    /// A write port: `data` is stored at `address` at the clock edge when enabled.
    public func write(_ address: Signal, _ data: Signal, enable: Signal? = nil, file: StaticString = #fileID, line: UInt = #line) {
        let loc = SourceLocation(file: file, line: line)
        if initial != nil { module.error("ROM '\(name)' cannot be written", at: loc); return }
        guard check(address, enable, loc) else { return }
        if let p = data.node.problem { module.error(p, at: loc); return }
        guard type.holds(data.type) else {
            module.error("width mismatch: cannot write \(data.type) into memory '\(name)' of \(type)", at: loc)
            return
        }
        var v = data
        if type.isSigned && !data.isSigned { v = data.toSigned }
        writes.append(WritePort(address: address.node, data: v.extend(to: type.width).node, enable: gate(enable), location: loc))
    }
}

extension Module {
    /// A RAM of `depth` words of `type`.
    public func memory(_ name: String, depth: Int, _ type: HWType, style: MemoryStyle = .auto, domain: String = Module.defaultDomain,
                       file: StaticString = #fileID, line: UInt = #line) -> Memory {
        makeMemory(name, depth, type, style, nil, domain, SourceLocation(file: file, line: line))
    }

    /// A ROM holding `contents` (read through `read`; writing it is an error).
    public func rom(_ name: String, _ type: HWType, contents: [Int], style: MemoryStyle = .auto, domain: String = Module.defaultDomain,
                    file: StaticString = #fileID, line: UInt = #line) -> Memory {
        let loc = SourceLocation(file: file, line: line)
        for (i, v) in contents.enumerated() where type.width < 63 && (v < type.minValue || v > type.maxValue) {
            error("ROM '\(name)' word \(i) = \(v) does not fit \(type)", at: loc)
            break
        }
        return makeMemory(name, contents.count, type, style, contents, domain, loc)
    }

    private func makeMemory(_ name: String, _ depth: Int, _ type: HWType, _ style: MemoryStyle, _ initial: [Int]?, _ domain: String,
                            _ loc: SourceLocation) -> Memory {
        if depth < 2 { error("memory '\(name)' needs at least 2 words, not \(depth)", at: loc) }
        claim(name, as: "memory", at: loc)
        useDomain(domain, at: loc)
        let m = Memory(name: name, depth: max(depth, 2), type: type, style: style, initial: initial, domain: domain, location: loc, module: self)
        addMemory(m)
        return m
    }
}
