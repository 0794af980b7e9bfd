/// The body of a module is a tree of assignments under conditions; the last assignment on a path wins.
final class Block {
    var statements: [Statement] = []
}

enum Statement {
    case assign(target: Decl, value: Node, location: SourceLocation)
    case when(When)
}

final class When {
    let condition: Node
    let location: SourceLocation
    let then = Block()
    let otherwise = Block()

    init(condition: Node, location: SourceLocation) {
        self.condition = condition
        self.location = location
    }
}

/// Returned by `when` so that `elsewhen`/`otherwise` can follow, as in Chisel.
public struct WhenContext {
    let module: Module
    let when: When

    private var negated: Node { Node(.unary(.not, when.condition), .bool, module) }

    /// Adds a branch taken when every earlier condition was false and `condition` is true.
    @discardableResult
    public func elsewhen(_ condition: Signal, file: StaticString = #fileID, line: UInt = #line, _ body: () -> Void) -> WhenContext {
        var inner: WhenContext?
        module.pushCondition(negated)
        module.inBlock(when.otherwise) {
            inner = module.when(condition, file: file, line: line, body)
        }
        module.popCondition()
        return inner!
    }

    /// The branch taken when no condition held.
    public func otherwise(_ body: () -> Void) {
        module.pushCondition(negated)
        module.inBlock(when.otherwise, body)
        module.popCondition()
    }
}

/// Built by `Module.switch`: `is` branches in order, then an optional `default`.
public final class SwitchContext {
    let module: Module
    let selector: Signal
    let location: SourceLocation
    private var chain: WhenContext?
    private var closed = false

    init(module: Module, selector: Signal, location: SourceLocation) {
        self.module = module
        self.selector = selector
        self.location = location
    }

    public func `is`(_ value: Int, file: StaticString = #fileID, line: UInt = #line, _ body: () -> Void) {
        guard !closed else {
            module.error("switch branch after default", at: SourceLocation(file: file, line: line))
            return
        }
        let c = selector == value
        if let chain { self.chain = chain.elsewhen(c, file: file, line: line, body) }
        else { chain = module.when(c, file: file, line: line, body) }
    }

    public func `default`(_ body: () -> Void) {
        closed = true
        if let chain { chain.otherwise(body) } else { body() }
    }
}
