extension Signal {
    /// Drives this signal with `value` on the current path (last assignment wins).
    ///
    /// `value` may be narrower than the target and is then sign- or zero-extended; a wider value,
    /// or a signed value into an unsigned target, is an error: bits are never dropped silently.
    public func assign(_ value: Signal, file: StaticString = #fileID, line: UInt = #line) {
        let loc = SourceLocation(file: file, line: line)
        guard let module = node.module ?? value.node.module else { return }
        guard case .ref(let target) = node.kind else {
            module.error("only declared signals can be assigned; this is an expression of \(type)", at: loc)
            return
        }
        target.module.rejectedAssignments.insert(ObjectIdentifier(target))
        if let p = value.node.problem {
            module.error(p, at: loc)
            return
        }
        if let vm = value.node.module, vm !== target.module {
            module.error("'\(target.name)' of module \(target.module.name) is assigned a value from module \(vm.name)", at: loc)
            return
        }
        guard target.isAssignable else {
            let what: String
            switch target.kind {
            case .input: what = "input port '\(target.name)' is driven from outside and cannot be assigned"
            case .memoryReadData: what = "'\(target.name)' is a memory read port and cannot be assigned"
            case .instancePort(let i, let p, _): what = "output '\(p)' of instance '\(i)' is driven by the instance and cannot be assigned"
            default: what = "'\(target.name)' cannot be assigned"
            }
            target.module.error(what, at: loc)
            return
        }
        guard target.type.holds(value.type) else {
            let why = target.type.isSigned == value.type.isSigned || target.type.isSigned
                ? "would drop bits; use truncate(to:) or resize(_:) if that is intended"
                : "a signed value cannot drive an unsigned signal; use asUnsigned if that is intended"
            target.module.error("width mismatch: cannot assign \(value.type) to '\(target.name)' of \(target.type): \(why)", at: loc)
            return
        }
        target.module.rejectedAssignments.remove(ObjectIdentifier(target))
        var v = value
        if target.type.isSigned && !value.isSigned { v = value.toSigned }
        v = v.extend(to: target.type.width)
        target.module.append(.assign(target: target, value: v.node, location: loc), at: loc)
    }

    /// Drives this signal with a constant of its own type.
    public func assign(_ value: Int, file: StaticString = #fileID, line: UInt = #line) {
        assign(Signal.literal(value, type), file: file, line: line)
    }
}
