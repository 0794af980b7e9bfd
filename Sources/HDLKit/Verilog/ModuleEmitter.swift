/// Writes one module as Verilog-2005.
///
/// The style is chosen for the tools downstream: every operator result is a named wire of exactly
/// its width with its operands explicitly extended (so Verilog's context-dependent widths never
/// apply and `verilator -Wall` has nothing to say), every declared Swift name appears unchanged,
/// each declaration carries the Swift line that made it, and registers get one always block each.
final class ModuleEmitter {
    let module: Module
    let resetDomains: Set<String>
    let childResetDomains: (Module) -> Set<String>

    private var names = Set<String>()
    private var temps: [ObjectIdentifier: String] = [:]
    private var tempLines: [String] = []
    private var bodyLines: [String] = []
    /// Bits read of every named signal, for the unused-bits sinks.
    private var used: [String: [Bool]] = [:]
    private var widths: [String: Int] = [:]
    private var sinkCandidates: [String] = []

    init(module: Module, resetDomains: Set<String>, childResetDomains: @escaping (Module) -> Set<String>) {
        self.module = module
        self.resetDomains = resetDomains
        self.childResetDomains = childResetDomains
    }

    // MARK: names and usage

    private func unique(_ base: String) -> String {
        var n = base
        var k = 1
        while names.contains(n) || module.isNameTaken(n) { n = "\(base)_\(k)"; k += 1 }
        names.insert(n)
        return n
    }

    private func track(_ name: String, width: Int) {
        widths[name] = width
        used[name] = Array(repeating: false, count: width)
    }

    private func mark(_ name: String, _ hi: Int, _ lo: Int) {
        guard var u = used[name] else { return }
        for i in lo...hi where i < u.count { u[i] = true }
        used[name] = u
    }

    private func markAll(_ name: String) {
        if let w = widths[name], w > 0 { mark(name, w - 1, 0) }
    }

    static func range(_ t: HWType) -> String {
        (t.isSigned ? "signed " : "") + (t.width > 1 ? "[\(t.width - 1):0] " : "")
    }

    // MARK: expressions

    private static let opNames: [BinaryOp: String] = [
        .add: "add", .sub: "sub", .mul: "mul", .and: "and", .or: "or", .xor: "xor",
        .eq: "eq", .ne: "ne", .lt: "lt", .le: "le", .gt: "gt", .ge: "ge", .shl: "shl", .shr: "shr",
    ]

    private func opName(_ n: Node) -> String {
        switch n.kind {
        case .binary(let op, _, _, _): return Self.opNames[op] ?? "op"
        case .unary(let op, _):
            switch op { case .not: return "not"; case .andReduce: return "and"; case .orReduce: return "or"; case .xorReduce: return "xor" }
        case .mux: return "mux"
        case .slice: return "bits"
        case .concat: return "cat"
        case .convert(let a): return n.type.width > a.type.width ? "ext" : "trunc"
        default: return "t"
        }
    }

    /// A name or literal standing for `n` (operators become named wires).
    private func atom(_ n: Node, _ hint: String) -> String {
        switch n.kind {
        case .ref(let d): return d.name
        case .literal(let v): return VerilogLiteral.text(v, width: n.type.width)
        case .convert(let a) where a.type.width == n.type.width: return atom(a, hint)
        default:
            if let t = temps[ObjectIdentifier(n)] { return t }
            let name = unique("\(hint)_\(opName(n))")
            temps[ObjectIdentifier(n)] = name
            track(name, width: n.type.width)
            let rhs = expression(n, hint)
            tempLines.append("    wire \(Self.range(n.type))\(name);")
            bodyLines.append("    assign \(name) = \(rhs);")
            return name
        }
    }

    private func isLiteral(_ n: Node) -> Int? {
        switch n.kind {
        case .literal(let v): return v
        case .convert(let a) where a.type.width == n.type.width:
            return isLiteral(a).map { VerilogLiteral.wrap($0, width: n.type.width, signed: n.type.isSigned) }
        default: return nil
        }
    }

    /// `n` with all its bits read.
    private func full(_ n: Node, _ hint: String) -> String {
        let a = atom(n, hint)
        markAll(a)
        return a
    }

    /// `n` sign- or zero-extended (by its own signedness) to `width` bits.
    private func extended(_ n: Node, to width: Int, _ hint: String) -> String {
        if let v = isLiteral(n) { return VerilogLiteral.text(v, width: width) }
        let a = full(n, hint)
        let k = width - n.type.width
        if k <= 0 { return a }
        if n.type.isSigned {
            return n.type.width == 1 ? "{\(k + 1){\(a)}}" : "{{\(k){\(a)[\(n.type.width - 1)]}}, \(a)}"
        }
        return "{\(k)'d0, \(a)}"
    }

    /// The Verilog expression computing operator node `n` from atoms.
    private func expression(_ n: Node, _ hint: String) -> String {
        let w = n.type.width
        switch n.kind {
        case .ref, .literal: return full(n, hint)
        case .invalid(let m): return "/* invalid: \(m) */ \(w)'d0"
        case .unary(let op, let a):
            if op == .not { return "~\(extended(a, to: w, hint))" }
            return "\(op.rawValue)\(full(a, hint))"
        case .binary(let op, let a, let b, let ew):
            switch op {
            case .mul where a.type.isSigned:
                // Said to be signed so that synthesis sees a signed multiply of the original widths
                // (one DSP48E1 for a 25x18 product) rather than an unsigned one of the extended operands.
                return "$signed(\(extended(a, to: ew, hint))) * $signed(\(extended(b, to: ew, hint)))"
            case .add, .sub, .mul, .and, .or, .xor:
                return "\(extended(a, to: ew, hint)) \(op.rawValue) \(extended(b, to: ew, hint))"
            case .eq, .ne, .lt, .le, .gt, .ge:
                let x = extended(a, to: ew, hint), y = extended(b, to: ew, hint)
                if a.type.isSigned && op != .eq && op != .ne { return "$signed(\(x)) \(op.rawValue) $signed(\(y))" }
                return "\(x) \(op.rawValue) \(y)"
            case .shl:
                return "\(extended(a, to: w, hint)) << \(full(b, hint))"
            case .shr:
                if a.type.isSigned { return "$signed(\(full(a, hint))) >>> \(full(b, hint))" }
                return "\(full(a, hint)) >> \(full(b, hint))"
            }
        case .mux(let c, let a, let b):
            return "\(full(c, hint)) ? \(extended(a, to: w, hint)) : \(extended(b, to: w, hint))"
        case .slice(let a, let hi, let lo):
            if let v = isLiteral(a) {
                return VerilogLiteral.text(VerilogLiteral.wrap(v >> lo, width: hi - lo + 1, signed: false), width: hi - lo + 1)
            }
            let x = atom(a, hint)
            mark(x, hi, lo)
            return hi == lo ? "\(x)[\(hi)]" : "\(x)[\(hi):\(lo)]"
        case .concat(let parts):
            return "{" + parts.map { p in isLiteral(p).map { VerilogLiteral.text($0, width: p.type.width) } ?? full(p, hint) }
                .joined(separator: ", ") + "}"
        case .convert(let a):
            if w >= a.type.width { return extended(a, to: w, hint) }
            if let v = isLiteral(a) { return VerilogLiteral.text(VerilogLiteral.wrap(v, width: w, signed: false), width: w) }
            let x = atom(a, hint)
            mark(x, w - 1, 0)
            return w == 1 ? "\(x)[0]" : "\(x)[\(w - 1):0]"
        }
    }

    /// The right-hand side for an assignment of `n` to `target`: the operator itself when it is
    /// used only here, so `assign sum = a + b;` needs no intermediate name.
    private func rhs(_ n: Node, _ target: String) -> String {
        if temps[ObjectIdentifier(n)] != nil { return full(n, target) }
        switch n.kind {
        case .ref, .literal: return full(n, target)
        case .convert(let a) where a.type.width == n.type.width: return rhs(a, target)
        default: return expression(n, target)
        }
    }

    // MARK: statements

    indirect enum Projected {
        case assign(Node, SourceLocation)
        case when(Node, [Projected], [Projected])
    }

    /// Splits the module's statement tree into one tree per assigned signal.
    static func project(_ block: Block) -> [ObjectIdentifier: [Projected]] {
        var out: [ObjectIdentifier: [Projected]] = [:]
        for s in block.statements {
            switch s {
            case .assign(let t, let v, let loc):
                out[ObjectIdentifier(t), default: []].append(.assign(v, loc))
            case .when(let w):
                let a = project(w.then), b = project(w.otherwise)
                for key in Set(a.keys).union(b.keys) {
                    out[key, default: []].append(.when(w.condition, a[key] ?? [], b[key] ?? []))
                }
            }
        }
        return out
    }

    private func emit(_ stmts: [Projected], target: String, op: String, indent: String, into lines: inout [String]) {
        for s in stmts {
            switch s {
            case .assign(let v, _):
                lines.append("\(indent)\(target) \(op) \(rhs(v, target));")
            case .when(let c0, let a0, let b0):
                var (a, b) = (a0, b0)
                lines.append("\(indent)if (\(full(c0, target))) begin")
                while true {
                    emit(a, target: target, op: op, indent: indent + "    ", into: &lines)
                    if b.count == 1, case .when(let c, let a2, let b2) = b[0] {
                        lines.append("\(indent)end else if (\(full(c, target))) begin")
                        (a, b) = (a2, b2)
                        continue
                    }
                    if !b.isEmpty {
                        lines.append("\(indent)end else begin")
                        emit(b, target: target, op: op, indent: indent + "    ", into: &lines)
                    }
                    lines.append("\(indent)end")
                    break
                }
            }
        }
    }

    private func isSingle(_ stmts: [Projected]) -> Node? {
        if stmts.count == 1, case .assign(let v, _) = stmts[0] { return v }
        return nil
    }

    // MARK: the module

    func emit() -> String {
        let m = module
        let projected = Self.project(m.body)
        for d in m.decls { names.insert(d.name); track(d.name, width: d.type.width) }
        for mem in m.memories { names.insert(mem.name) }

        // Signals assigned through always blocks must be `reg` in Verilog.
        var procedural = Set<ObjectIdentifier>()
        for d in m.decls {
            switch d.kind {
            case .register, .memoryReadData: procedural.insert(ObjectIdentifier(d))
            default:
                if let p = projected[ObjectIdentifier(d)], isSingle(p) == nil { procedural.insert(ObjectIdentifier(d)) }
            }
        }

        // Ports.
        var portLines: [String] = []
        for domain in m.domains {
            portLines.append("input wire \(domain)")
            names.insert(domain)
            if resetDomains.contains(domain) { portLines.append("input wire \(Module.resetName(domain))"); names.insert(Module.resetName(domain)) }
        }
        // Clock and reset ports belong to the module as a whole: they cite where it was built.
        var portComments: [String] = Array(repeating: " // \(m.location)", count: portLines.count)
        for p in m.ports {
            let isReg = procedural.contains(ObjectIdentifier(p))
            let dir = p.kind == .input ? "input wire" : (isReg ? "output reg" : "output wire")
            portLines.append("\(dir) \(Self.range(p.type))\(p.name)")
            portComments.append(" // \(p.location)")
        }

        // Declarations.
        var declLines: [String] = []
        for d in m.decls where d.kind != .input && d.kind != .output {
            if let attrs = m.attributes[ObjectIdentifier(d)] {
                declLines.append("    (* " + attrs.sorted { $0.key < $1.key }.map { "\($0.key) = \"\($0.value)\"" }.joined(separator: ", ") + " *)")
            }
            let kw = procedural.contains(ObjectIdentifier(d)) ? "reg" : "wire"
            declLines.append("    \(kw) \(Self.range(d.type))\(d.name); // \(d.location)")
        }
        for mem in m.memories {
            let attr = mem.initial != nil && mem.writes.isEmpty ? "rom_style" : "ram_style"
            if mem.style != .auto { declLines.append("    (* \(attr) = \"\(mem.style.rawValue)\" *)") }
            declLines.append("    reg \(Self.range(mem.type))\(mem.name) [0:\(mem.depth - 1)]; // \(mem.location)")
        }

        // Assignments in declaration order.
        for d in m.decls {
            guard let stmts = projected[ObjectIdentifier(d)] else { continue }
            switch d.kind {
            case .register(let reset, let domain):
                var lines = ["    always @(posedge \(domain)) begin"]
                var inner = "        "
                var closers: [String] = []
                if let reset {
                    lines.append("        if (\(Module.resetName(domain))) begin")
                    lines.append("            \(d.name) <= \(VerilogLiteral.text(reset, width: d.type.width));")
                    lines.append("        end else begin")
                    inner += "    "
                    closers.append("        end")
                }
                if let en = m.registerEnables[ObjectIdentifier(d)] {
                    lines.append("\(inner)if (\(full(en, d.name))) begin")
                    closers.insert("\(inner)end", at: 0)
                    inner += "    "
                }
                emit(stmts, target: d.name, op: "<=", indent: inner, into: &lines)
                lines.append(contentsOf: closers)
                lines.append("    end")
                bodyLines.append(contentsOf: lines)
            default:
                if let v = isSingle(stmts) {
                    bodyLines.append("    assign \(d.name) = \(rhs(v, d.name));")
                } else {
                    var lines = ["    always @(*) begin"]
                    emit(stmts, target: d.name, op: "=", indent: "        ", into: &lines)
                    lines.append("    end")
                    bodyLines.append(contentsOf: lines)
                }
            }
        }

        // Memories: one always block per port, the template block-RAM inference expects.
        for mem in m.memories {
            if let initial = mem.initial {
                bodyLines.append("    initial begin")
                for (i, v) in initial.enumerated() { bodyLines.append("        \(mem.name)[\(i)] = \(VerilogLiteral.text(v, width: mem.type.width));") }
                bodyLines.append("    end")
            }
            // Every operand's atom first: an operator node becomes a wire whose `assign` must
            // land before the always block, not inside it.
            for w in mem.writes {
                let addr = full(w.address, mem.name), data = rhs(w.data, mem.name)
                let enable = w.enable.map { full($0, mem.name) }
                bodyLines.append("    always @(posedge \(mem.domain)) begin")
                if let e = enable { bodyLines.append("        if (\(e)) \(mem.name)[\(addr)] <= \(data);") }
                else { bodyLines.append("        \(mem.name)[\(addr)] <= \(data);") }
                bodyLines.append("    end")
            }
            for r in mem.reads {
                let addr = full(r.address, r.data.name)
                let enable = r.enable.map { full($0, r.data.name) }
                bodyLines.append("    always @(posedge \(mem.domain)) begin")
                if let e = enable { bodyLines.append("        if (\(e)) \(r.data.name) <= \(mem.name)[\(addr)];") }
                else { bodyLines.append("        \(r.data.name) <= \(mem.name)[\(addr)];") }
                bodyLines.append("    end")
            }
        }

        // Children.
        for inst in m.instances {
            var conns: [String] = []
            let childResets = childResetDomains(inst.module)
            for domain in inst.module.domains {
                let parent = inst.parentDomain(domain)
                conns.append(".\(domain)(\(parent))")
                if childResets.contains(domain) { conns.append(".\(Module.resetName(domain))(\(Module.resetName(parent)))") }
            }
            for c in inst.connections {
                conns.append(".\(c.port.name)(\(c.local.name))")
                if c.port.kind == .input { markAll(c.local.name) }
            }
            bodyLines.append("    // \(inst.location)")
            bodyLines.append("    \(inst.module.name) \(inst.name) (")
            bodyLines.append(conns.map { "        \($0)" }.joined(separator: ",\n"))
            bodyLines.append("    );")
        }

        // Bits nothing reads: sink them into `unused_*` wires (Verilator's documented convention),
        // so lint stays quiet only where the generator has made its intent plain.
        var sinkLines: [String] = []
        let readable = m.decls.filter {
            switch $0.kind {
            case .output: return false
            case .instancePort(_, _, let isInput): return !isInput
            default: return true
            }
        }.map(\.name) + tempNamesInOrder
        for name in readable {
            guard let u = used[name], u.contains(false) else { continue }
            let sink = unique("unused_\(name)")
            sinkLines.append("    wire \(sink) = ^\(name);")
        }
        var clocked = Set(m.memories.map(\.domain))
        for d in m.decls {
            switch d.kind {
            case .register(_, let domain), .memoryReadData(let domain): clocked.insert(domain)
            default: break
            }
        }
        for i in m.instances { clocked.formUnion(i.module.domains.map(i.parentDomain)) }
        for domain in m.domains where !clocked.contains(domain) {
            sinkLines.append("    wire \(unique("unused_\(domain)")) = \(domain);")
        }

        var out = "// Generated by HDLKit from \(m.location). Do not edit: change the generator and elaborate again.\n"
        out += "module \(m.name) (\n"
        out += zip(portLines, portComments).enumerated().map { i, pc in
            "    \(pc.0)\(i == portLines.count - 1 ? "" : ",")\(pc.1)"
        }.joined(separator: "\n")
        out += "\n);\n"
        for l in declLines { out += l + "\n" }
        for l in tempLines { out += l + "\n" }
        for l in bodyLines { out += l + "\n" }
        for l in sinkLines { out += l + "\n" }
        out += "endmodule\n"
        return out
    }

    private var tempNamesInOrder: [String] {
        tempLines.compactMap { line in line.split(separator: " ").last.map { String($0.dropLast()) } }
    }
}
