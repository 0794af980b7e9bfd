/// The structural rules every module must satisfy before it is emitted:
/// every combinational signal is driven on every path (no latches), every register and child input
/// is driven, and no combinational path loops back on itself. Each violation is reported at the
/// Swift line that declared (or last assigned) the signal.
enum Checks {
    static func run(_ m: Module) {
        // Clock and reset ports are added by the emitter, so a signal may not take their names.
        for domain in m.domains {
            for port in [domain, Module.resetName(domain)] {
                if let d = m.lookup(port) {
                    m.error("'\(port)' is a clock or reset port of domain '\(domain)' and cannot name a signal", at: d.location)
                }
            }
        }
        var assignedAnywhere = Set<ObjectIdentifier>()
        var deps: [ObjectIdentifier: [Decl]] = [:]
        var firstAssign: [ObjectIdentifier: SourceLocation] = [:]

        func walk(_ block: Block, conditions: [Node]) {
            for s in block.statements {
                switch s {
                case .assign(let t, let v, let loc):
                    let id = ObjectIdentifier(t)
                    assignedAnywhere.insert(id)
                    if firstAssign[id] == nil { firstAssign[id] = loc }
                    v.forEachRef { deps[id, default: []].append($0) }
                    for c in conditions { c.forEachRef { deps[id, default: []].append($0) } }
                case .when(let w):
                    walk(w.then, conditions: conditions + [w.condition])
                    walk(w.otherwise, conditions: conditions + [w.condition])
                }
            }
        }
        walk(m.body, conditions: [])
        let definite = definitelyAssigned(m.body)

        for d in m.decls {
            let id = ObjectIdentifier(d)
            if m.rejectedAssignments.contains(id) { continue }
            switch d.kind {
            case .output, .wire:
                if !assignedAnywhere.contains(id) {
                    m.error("'\(d.name)' is never assigned", at: d.location)
                } else if !definite.contains(id) {
                    m.error("'\(d.name)' is not assigned on every path (it would be a latch); give it a default assignment first",
                            at: firstAssign[id] ?? d.location)
                }
            case .instancePort(let inst, let port, let isInput):
                if isInput && !assignedAnywhere.contains(id) {
                    m.error("input '\(port)' of instance '\(inst)' is never driven", at: d.location)
                } else if isInput && !definite.contains(id) {
                    m.error("input '\(port)' of instance '\(inst)' is not driven on every path; give it a default",
                            at: firstAssign[id] ?? d.location)
                }
            case .register:
                if !assignedAnywhere.contains(id) { m.error("register '\(d.name)' is never assigned", at: d.location) }
            case .input, .memoryReadData:
                break
            }
        }

        // Combinational dependencies of child outputs on child inputs, seen from this module.
        for inst in m.instances {
            var local: [String: Decl] = [:]
            for c in inst.connections { local[c.port.name] = c.local }
            for c in inst.connections where c.port.kind == .output {
                for input in inst.module.combinationalInputs[c.port.name] ?? [] {
                    if let l = local[input] { deps[ObjectIdentifier(c.local), default: []].append(l) }
                }
            }
        }

        // Registers, memory read ports and inputs break combinational paths.
        func isCombinational(_ d: Decl) -> Bool {
            switch d.kind {
            case .output, .wire, .instancePort: return true
            case .input, .register, .memoryReadData: return false
            }
        }

        // Loop search: depth-first over combinational signals.
        var state: [ObjectIdentifier: Int] = [:] // 1 = on the stack, 2 = done
        var stack: [Decl] = []
        var reported = false
        func visit(_ d: Decl) {
            let id = ObjectIdentifier(d)
            if state[id] == 2 || reported { return }
            if state[id] == 1 {
                let start = stack.firstIndex { $0 === d } ?? 0
                let cycle = stack[start...].map(\.name) + [d.name]
                m.error("combinational loop: \(cycle.joined(separator: " -> "))", at: firstAssign[id] ?? d.location)
                reported = true
                return
            }
            state[id] = 1
            stack.append(d)
            for s in deps[id] ?? [] where isCombinational(s) { visit(s) }
            stack.removeLast()
            state[id] = 2
        }
        for d in m.decls where isCombinational(d) { visit(d) }

        // Which inputs each output depends on without a register between (for the parents' loop check).
        var memo: [ObjectIdentifier: Set<String>] = [:]
        func inputsReaching(_ d: Decl, _ visiting: inout Set<ObjectIdentifier>) -> Set<String> {
            let id = ObjectIdentifier(d)
            if let r = memo[id] { return r }
            if d.kind == .input { return [d.name] }
            guard isCombinational(d), visiting.insert(id).inserted else { return [] }
            var r = Set<String>()
            for s in deps[id] ?? [] { r.formUnion(inputsReaching(s, &visiting)) }
            memo[id] = r
            return r
        }
        for d in m.decls where d.kind == .output {
            var visiting = Set<ObjectIdentifier>()
            m.combinationalInputs[d.name] = inputsReaching(d, &visiting)
        }
    }

    /// Signals assigned on every path through `block`.
    static func definitelyAssigned(_ block: Block) -> Set<ObjectIdentifier> {
        var out = Set<ObjectIdentifier>()
        for s in block.statements {
            switch s {
            case .assign(let t, _, _): out.insert(ObjectIdentifier(t))
            case .when(let w): out.formUnion(definitelyAssigned(w.then).intersection(definitelyAssigned(w.otherwise)))
            }
        }
        return out
    }
}
