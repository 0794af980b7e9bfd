/// A hardware module under construction and, once built, its definition.
///
/// Generators are ordinary Swift: a function or struct builds a `Module` from its parameters, and
/// derives the module's name from them (`AdderTree_n9_w16`), so two different parameter sets never
/// collide and the same one is shared.
///
///     let adder = Module("Adder_w8") { m in
///         let a = m.input("a", .uint(8)), b = m.input("b", .uint(8))
///         m.output("sum", .uint(9)).assign(a + b)
///     }
public final class Module {
    public let name: String
    public let location: SourceLocation

    private(set) var decls: [Decl] = []
    private var names: [String: Decl] = [:]
    private(set) var instances: [Instance] = []
    private(set) var memories: [Memory] = []
    private(set) var errors: [ElaborationError] = []
    /// Signals whose unused bits are deliberately discarded (so lint need not warn about them).
    private(set) var sinks: [Decl] = []
    private(set) var attributes: [ObjectIdentifier: [String: String]] = [:]
    let body = Block()
    private var blockStack: [Block]
    /// Conditions of the `when` branches being built, for memory ports written inside them.
    private var conditionStack: [Node] = []
    /// Clock domains used by registers, memories and children; `clk`/`rst` is the default one.
    private(set) var domains: [String] = []

    public static let defaultDomain = "clk"

    public init(_ name: String, file: StaticString = #fileID, line: UInt = #line, _ build: (Module) -> Void) {
        self.name = name
        self.location = SourceLocation(file: file, line: line)
        self.blockStack = [body]
        if !Module.isIdentifier(name) {
            errors.append(ElaborationError(location: location, module: name, message: "module name '\(name)' is not a Verilog identifier"))
        }
        build(self)
        blockStack = []
        Checks.run(self)
    }

    // MARK: errors

    func error(_ message: String, at location: SourceLocation) {
        errors.append(ElaborationError(location: location, module: name, message: message))
    }

    func addErrors(_ more: [ElaborationError]) { errors.append(contentsOf: more) }

    // MARK: declarations

    /// Verilog-2005, SystemVerilog (Verilator parses as SV) and C++ (Verilator names C++ members after signals) reserved words.
    static let keywords: Set<String> = [
        "alias", "always", "always_comb", "always_ff", "always_latch", "and", "asm", "assert", "assign", "assume",
        "auto", "automatic", "before", "begin", "bind", "bins", "binsof", "bit", "bool", "break", "buf", "bufif0",
        "bufif1", "byte", "case", "casex", "casez", "catch", "cell", "chandle", "char", "class", "clocking", "cmos",
        "config", "const", "constraint", "context", "continue", "cover", "covergroup", "coverpoint", "cross",
        "deassign", "default", "defparam", "delete", "design", "disable", "dist", "do", "double", "edge", "else", "end",
        "endcase", "endclass", "endclocking", "endconfig", "endfunction", "endgenerate", "endgroup", "endinterface",
        "endmodule", "endpackage", "endprimitive", "endprogram", "endproperty", "endsequence", "endspecify", "endtable",
        "endtask", "enum", "event", "expect", "explicit", "export", "extends", "extern", "false", "final",
        "first_match", "float", "for", "force", "foreach", "forever", "fork", "forkjoin", "friend", "function",
        "generate", "genvar", "goto", "highz0", "highz1", "if", "iff", "ifnone", "ignore_bins", "illegal_bins",
        "import", "incdir", "include", "initial", "inline", "inout", "input", "inside", "instance", "int", "integer",
        "interface", "intersect", "join", "join_any", "join_none", "large", "liblist", "library", "local", "localparam",
        "logic", "long", "longint", "macromodule", "matches", "medium", "modport", "module", "mutable", "namespace",
        "nand", "negedge", "new", "nmos", "nor", "noshowcancelled", "not", "notif0", "notif1", "null", "operator", "or",
        "output", "package", "packed", "parameter", "pmos", "posedge", "primitive", "priority", "private", "program",
        "property", "protected", "public", "pull0", "pull1", "pulldown", "pullup", "pulsestyle_ondetect",
        "pulsestyle_onevent", "pure", "rand", "randc", "randcase", "randsequence", "rcmos", "real", "realtime", "ref",
        "reg", "register", "release", "repeat", "return", "rnmos", "rpmos", "rtran", "rtranif0", "rtranif1", "scalared",
        "sequence", "short", "shortint", "shortreal", "showcancelled", "signed", "sizeof", "small", "solve", "specify",
        "specparam", "static", "string", "strong0", "strong1", "struct", "super", "supply0", "supply1", "switch",
        "table", "tagged", "task", "template", "this", "throughout", "throw", "time", "timeprecision", "timeunit",
        "tran", "tranif0", "tranif1", "tri", "tri0", "tri1", "triand", "trior", "trireg", "true", "try", "type",
        "typedef", "typeid", "typename", "union", "unique", "unsigned", "use", "using", "uwire", "var", "vectored",
        "virtual", "void", "volatile", "wait", "wait_order", "wand", "weak0", "weak1", "while", "wildcard", "wire",
        "with", "within", "wor", "xnor", "xor",
    ]


    static func isIdentifier(_ s: String) -> Bool {
        guard let f = s.unicodeScalars.first, f == "_" || (f.isASCII && f.properties.isAlphabetic) else { return false }
        return s.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
    }

    func declare(_ name: String, _ type: HWType, _ kind: DeclKind, _ location: SourceLocation) -> Decl {
        let d = Decl(name: name, type: type, kind: kind, location: location, module: self)
        if !Module.isIdentifier(name) {
            error("'\(name)' is not a valid signal name", at: location)
        } else if Module.keywords.contains(name) {
            error("'\(name)' is a Verilog keyword and cannot name a signal", at: location)
        } else if let previous = names[name] {
            error("duplicate name '\(name)' (first declared at \(previous.location))", at: location)
        } else if let previous = otherNames[name] {
            error("duplicate name '\(name)' (already names \(previous.what) at \(previous.location))", at: location)
        } else if type.width < 1 {
            error("signal '\(name)' has width \(type.width); widths start at 1", at: location)
        } else {
            names[name] = d
        }
        decls.append(d)
        return d
    }

    /// Memories and instances share the signals' namespace in Verilog; their names are kept here.
    private var otherNames: [String: (what: String, location: SourceLocation)] = [:]

    func isNameTaken(_ name: String) -> Bool { names[name] != nil || otherNames[name] != nil }

    /// Claims `name` for a memory or instance; reports a clash with any signal, memory or instance.
    func claim(_ name: String, as what: String, at location: SourceLocation) {
        if !Module.isIdentifier(name) {
            error("'\(name)' is not a valid \(what) name", at: location)
        } else if Module.keywords.contains(name) {
            error("'\(name)' is a Verilog keyword and cannot name a \(what)", at: location)
        } else if let d = names[name] {
            error("duplicate name '\(name)' (first declared at \(d.location))", at: location)
        } else if let previous = otherNames[name] {
            error("duplicate name '\(name)' (already names \(previous.what) at \(previous.location))", at: location)
        } else {
            otherNames[name] = (what, location)
        }
    }

    /// An input port.
    @discardableResult
    public func input(_ name: String, _ type: HWType, file: StaticString = #fileID, line: UInt = #line) -> Signal {
        Signal(Node(.ref(declare(name, type, .input, SourceLocation(file: file, line: line))), type, self))
    }

    /// An output port, driven by assignments in this module.
    @discardableResult
    public func output(_ name: String, _ type: HWType, file: StaticString = #fileID, line: UInt = #line) -> Signal {
        Signal(Node(.ref(declare(name, type, .output, SourceLocation(file: file, line: line))), type, self))
    }

    /// An output port driven by `value` (which may be narrower; it is extended, never truncated).
    @discardableResult
    public func output(_ name: String, _ value: Signal, file: StaticString = #fileID, line: UInt = #line) -> Signal {
        let o = output(name, value.type, file: file, line: line)
        o.assign(value, file: file, line: line)
        return o
    }

    /// A combinational signal, assigned later (possibly under conditions).
    @discardableResult
    public func wire(_ name: String, _ type: HWType, file: StaticString = #fileID, line: UInt = #line) -> Signal {
        Signal(Node(.ref(declare(name, type, .wire, SourceLocation(file: file, line: line))), type, self))
    }

    /// Names an expression: `let sum = m.wire("sum", a + b)`. The name appears in the Verilog.
    @discardableResult
    public func wire(_ name: String, _ value: Signal, file: StaticString = #fileID, line: UInt = #line) -> Signal {
        let w = wire(name, value.type, file: file, line: line)
        // Naming an expression is structural: it holds on every path, even when written inside a `when`.
        atTopLevel { w.assign(value, file: file, line: line) }
        return w
    }

    /// A register in `domain` (default `clk`/`rst`). With a `reset` value it is reset synchronously;
    /// without one it is not reset (the right choice for datapath registers feeding DSPs).
    /// It keeps its value unless assigned; with `enable`, it updates only when `enable` is high.
    @discardableResult
    public func reg(_ name: String, _ type: HWType, reset: Int? = nil, enable: Signal? = nil, domain: String = Module.defaultDomain,
                    file: StaticString = #fileID, line: UInt = #line) -> Signal {
        let loc = SourceLocation(file: file, line: line)
        if let r = reset, type.width < 63, r < type.minValue || r > type.maxValue {
            error("reset value \(r) of register '\(name)' does not fit \(type)", at: loc)
        }
        useDomain(domain, at: loc)
        let d = declare(name, type, .register(reset: reset, domain: domain), loc)
        if let enable {
            guard enable.type == .bool else {
                error("enable of register '\(name)' must be Bool, not \(enable.type)", at: loc)
                return Signal(Node(.ref(d), type, self))
            }
            registerEnables[ObjectIdentifier(d)] = enable.node
        }
        return Signal(Node(.ref(d), type, self))
    }

    /// A register that samples `next` every cycle (when `enable` is high): a pipeline stage.
    @discardableResult
    public func reg(_ name: String, next: Signal, reset: Int? = nil, enable: Signal? = nil, domain: String = Module.defaultDomain,
                    file: StaticString = #fileID, line: UInt = #line) -> Signal {
        let r = reg(name, next.type, reset: reset, enable: enable, domain: domain, file: file, line: line)
        atTopLevel { r.assign(next, file: file, line: line) }
        return r
    }

    /// For each output, the inputs it depends on combinationally (filled in by `Checks`).
    var combinationalInputs: [String: Set<String>] = [:]

    /// Signals whose assignment was rejected with an error; they are not reported again as unassigned.
    var rejectedAssignments = Set<ObjectIdentifier>()

    private(set) var registerEnables: [ObjectIdentifier: Node] = [:]

    /// Declares a further clock domain; registers name it with `domain:`. Its ports are
    /// `<domain>` (clock) and `<domain>_rst` (synchronous, active-high reset).
    public func clockDomain(_ name: String, file: StaticString = #fileID, line: UInt = #line) -> String {
        let loc = SourceLocation(file: file, line: line)
        if !Module.isIdentifier(name) || name == "rst" { error("'\(name)' cannot name a clock domain", at: loc) }
        useDomain(name, at: loc)
        return name
    }

    func useDomain(_ domain: String, at location: SourceLocation) {
        if !domains.contains(domain) { domains.append(domain) }
    }

    static func resetName(_ domain: String) -> String { domain == defaultDomain ? "rst" : "\(domain)_rst" }

    /// Tells lint that the bits of `signal` that nothing reads are unused on purpose
    /// (an input that this configuration of a generator has no use for, say).
    public func discard(_ signal: Signal, file: StaticString = #fileID, line: UInt = #line) {
        guard case .ref(let d) = signal.node.kind, d.module === self else {
            error("discard takes a declared signal of this module", at: SourceLocation(file: file, line: line))
            return
        }
        sinks.append(d)
    }

    /// Adds a Verilog attribute (`(* name = "value" *)`) on a declared signal, e.g. `keep` or `use_dsp`.
    public func attribute(_ signal: Signal, _ name: String, _ value: String, file: StaticString = #fileID, line: UInt = #line) {
        guard case .ref(let d) = signal.node.kind, d.module === self else {
            error("attribute takes a declared signal of this module", at: SourceLocation(file: file, line: line))
            return
        }
        attributes[ObjectIdentifier(d), default: [:]][name] = value
    }

    // MARK: statements

    func inBlock(_ block: Block, _ body: () -> Void) {
        blockStack.append(block)
        body()
        blockStack.removeLast()
    }

    var currentBlock: Block? { blockStack.last }

    func atTopLevel(_ body: () -> Void) {
        let savedBlocks = blockStack, savedConditions = conditionStack
        blockStack = blockStack.isEmpty ? [] : [body_]
        conditionStack = []
        body()
        blockStack = savedBlocks
        conditionStack = savedConditions
    }

    private var body_: Block { body }

    func append(_ s: Statement, at location: SourceLocation) {
        guard let b = currentBlock else {
            error("hardware added to module \(name) after it was built", at: location)
            return
        }
        b.statements.append(s)
    }

    /// The condition under which the statement being built executes (true at top level).
    var pathCondition: Node? {
        conditionStack.reduce(nil as Node?) { acc, c in
            guard let acc else { return c }
            return Node(.binary(.and, acc, c, extendTo: 1), .bool, self)
        }
    }

    /// Runs `body` only when `condition` is true; assignments inside override earlier ones.
    @discardableResult
    public func when(_ condition: Signal, file: StaticString = #fileID, line: UInt = #line, _ body: () -> Void) -> WhenContext {
        let loc = SourceLocation(file: file, line: line)
        if let p = condition.node.problem { error(p, at: loc) }
        else if condition.type != .bool { error("when condition must be Bool, not \(condition.type)", at: loc) }
        let w = When(condition: condition.node, location: loc)
        append(.when(w), at: loc)
        conditionStack.append(condition.node)
        inBlock(w.then, body)
        conditionStack.removeLast()
        return WhenContext(module: self, when: w)
    }

    /// `switch`: the first matching `is` wins, `default` when none matches.
    public func `switch`(_ selector: Signal, file: StaticString = #fileID, line: UInt = #line, _ body: (SwitchContext) -> Void) {
        let ctx = SwitchContext(module: self, selector: selector, location: SourceLocation(file: file, line: line))
        body(ctx)
    }

    // Branch bookkeeping for memory ports inside otherwise/elsewhen branches.
    func pushCondition(_ c: Node) { conditionStack.append(c) }
    func popCondition() { conditionStack.removeLast() }

    // MARK: hierarchy

    /// Places `child` in this module as instance `name`.
    @discardableResult
    public func instance(_ child: Module, _ name: String, file: StaticString = #fileID, line: UInt = #line) -> Instance {
        let loc = SourceLocation(file: file, line: line)
        claim(name, as: "instance", at: loc)
        let inst = Instance(name: name, module: child, parent: self, location: loc)
        for d in child.domains { useDomain(d, at: loc) }
        instances.append(inst)
        return inst
    }

    func addMemory(_ m: Memory) { memories.append(m) }

    /// Ports in declaration order (clock and reset ports are added by the emitter).
    var ports: [Decl] { decls.filter { $0.kind == .input || $0.kind == .output } }

    /// The module's own problems and those of every child definition.
    var allErrors: [ElaborationError] {
        var seen = Set<ObjectIdentifier>()
        var out: [ElaborationError] = []
        func walk(_ m: Module, _ path: String?) {
            guard seen.insert(ObjectIdentifier(m)).inserted else { return }
            for i in m.instances { walk(i.module, "\(path ?? m.name).\(i.name)") }
            out.append(contentsOf: m.errors.map {
                ElaborationError(location: $0.location, module: $0.module, message: $0.message, path: path)
            })
        }
        walk(self, nil)
        return out
    }

    func lookup(_ name: String) -> Decl? { names[name] }
}

extension DeclKind {
    var isPortOfInstance: Bool {
        if case .instancePort = self { return true }
        return false
    }
}
