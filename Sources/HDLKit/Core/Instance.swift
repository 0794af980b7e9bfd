/// A child module placed inside a parent. Its ports are signals of the parent named
/// `<instance>_<port>`: assign the child's inputs, read its outputs.
///
///     let tree = m.instance(adderTree, "tree")
///     tree.in_0.assign(x)          // or tree.port("in_0")
///     let sum = tree.sum
@dynamicMemberLookup
public final class Instance {
    public let name: String
    public let module: Module
    public let location: SourceLocation
    unowned let parent: Module
    private(set) var connections: [(port: Decl, local: Decl)] = []
    private var byName: [String: Decl] = [:]

    /// Child clock domain → the parent's domain that drives it (identity where not listed).
    public let domains: [String: String]

    func parentDomain(_ childDomain: String) -> String { domains[childDomain] ?? childDomain }

    init(name: String, module: Module, parent: Module, location: SourceLocation, domains: [String: String] = [:]) {
        self.name = name
        self.module = module
        self.parent = parent
        self.location = location
        self.domains = domains
        for p in module.ports {
            let isInput = p.kind == .input
            let local = parent.declare("\(name)_\(p.name)", p.type,
                                       .instancePort(instance: name, port: p.name, isInput: isInput), location)
            connections.append((p, local))
            byName[p.name] = local
        }
    }

    /// The parent-side signal of port `name`.
    public func port(_ name: String, file: StaticString = #fileID, line: UInt = #line) -> Signal {
        guard let d = byName[name] else {
            let known = connections.map(\.port.name).joined(separator: ", ")
            let msg = "module \(module.name) (instance '\(self.name)') has no port '\(name)'; its ports are \(known)"
            parent.error(msg, at: SourceLocation(file: file, line: line))
            return Signal(Node(.invalid(msg), .bool, parent))
        }
        return Signal(Node(.ref(d), d.type, parent))
    }

    public subscript(dynamicMember name: String) -> Signal { port(name) }

    /// A bundle of the child's ports named `<name>_<field>`, as the child declared it.
    public func bundle(_ name: String, _ shape: BundleShape, file: StaticString = #fileID, line: UInt = #line) -> Bundle {
        var fields: [String: Signal] = [:]
        for f in shape.fields { fields[f.name] = port("\(name)_\(f.name)", file: file, line: line) }
        return Bundle(prefix: "\(self.name)_\(name)", shape: shape, fields: fields)
    }
}
