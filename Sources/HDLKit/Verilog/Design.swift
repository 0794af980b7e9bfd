import Foundation

/// A top module and everything beneath it, ready to be written as Verilog.
public struct Design {
    public let top: Module

    public init(top: Module) { self.top = top }

    /// Every module definition under `top`, children before parents, each name once.
    /// Throws `ElaborationFailure` listing every problem found anywhere in the hierarchy.
    public func modules() throws -> [Module] {
        var errors = top.allErrors
        var order: [Module] = []
        var byName: [String: Module] = [:]
        func walk(_ m: Module) {
            if let seen = byName[m.name] {
                // The same generator called from two places (a FIFO of equal parameters in two
                // units) builds one module: only where it was built differs, so compare without that.
                func body(_ x: Module) -> String { ModuleEmitter.text(x).replacingOccurrences(of: "\(x.location)", with: "") }
                if seen !== m && body(seen) != body(m) {
                    errors.append(ElaborationError(location: m.location, module: m.name,
                        message: "two different modules are named \(m.name) (the other is built at \(seen.location)); derive the name from every parameter"))
                }
                return
            }
            byName[m.name] = m
            for i in m.instances { walk(i.module) }
            order.append(m)
        }
        walk(top)
        if !errors.isEmpty { throw ElaborationFailure(errors: errors) }
        return order
    }

    /// The Verilog files: one per module, named after it, in a stable order.
    public func verilog() throws -> [(fileName: String, text: String)] {
        try modules().map { ("\($0.name).v", ModuleEmitter.text($0)) }
    }

    /// Writes the Verilog files into `directory` (created if needed) and returns their paths.
    @discardableResult
    public func write(to directory: URL) throws -> [URL] {
        let files = try verilog()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return try files.map { f in
            let url = directory.appendingPathComponent(f.fileName)
            try f.text.write(to: url, atomically: true, encoding: .utf8)
            return url
        }
    }
}

extension ModuleEmitter {
    /// Domains whose reset `m` (or a child) uses; only those get a reset port.
    static func resetDomains(_ m: Module) -> Set<String> {
        if let r = m.cachedResetDomains { return r }
        var r = Set<String>()
        for d in m.decls { if case .register(let reset?, let domain) = d.kind { _ = reset; r.insert(domain) } }
        for i in m.instances { r.formUnion(resetDomains(i.module).map(i.parentDomain)) }
        m.cachedResetDomains = r
        return r
    }

    static func text(_ m: Module) -> String {
        if let t = m.emittedText { return t }
        let t = ModuleEmitter(module: m, resetDomains: resetDomains(m), childResetDomains: resetDomains).emit()
        m.emittedText = t
        return t
    }
}
