/// What a declared name is in its module. The emitter decides `wire`/`reg` and which always block
/// from this, never from how the name is used.
public enum DeclKind: Sendable, Equatable {
    case input
    case output
    case wire
    case register(reset: Int?, domain: String)
    /// Data out of a synchronous memory read port: a register written by the memory, not by users.
    case memoryReadData(domain: String)
    /// A port of a child instance, seen from the parent: `isInput` means the parent drives it.
    case instancePort(instance: String, port: String, isInput: Bool)
}

/// A named signal of a module: port, wire, register, or child-instance port.
public final class Decl {
    public let name: String
    public let type: HWType
    public let kind: DeclKind
    public let location: SourceLocation
    unowned let module: Module

    init(name: String, type: HWType, kind: DeclKind, location: SourceLocation, module: Module) {
        self.name = name
        self.type = type
        self.kind = kind
        self.location = location
        self.module = module
    }

    var isAssignable: Bool {
        switch kind {
        case .output, .wire, .register: return true
        case .instancePort(_, _, let isInput): return isInput
        case .input, .memoryReadData: return false
        }
    }

    var isRegister: Bool {
        if case .register = kind { return true }
        return false
    }
}

enum UnaryOp: String { case not = "~", andReduce = "&", orReduce = "|", xorReduce = "^" }

enum BinaryOp: String {
    case add = "+", sub = "-", mul = "*"
    case and = "&", or = "|", xor = "^"
    case eq = "==", ne = "!=", lt = "<", le = "<=", gt = ">", ge = ">="
    case shl = "<<", shr = ">>"

    var isComparison: Bool { [.eq, .ne, .lt, .le, .gt, .ge].contains(self) }
}

/// One node of an expression DAG. Nodes are classes so that a value used twice is computed once
/// in the emitted Verilog.
final class Node {
    enum Kind {
        case ref(Decl)
        case literal(Int)
        case unary(UnaryOp, Node)
        /// Operands are extended to `extendTo` bits before the operator applies (the operator's
        /// working width); the result has the node's type.
        case binary(BinaryOp, Node, Node, extendTo: Int)
        case mux(Node, Node, Node)
        case slice(Node, hi: Int, lo: Int)
        case concat([Node])
        /// Sign- or zero-extension (by the operand's signedness), truncation, or reinterpretation.
        case convert(Node)
        /// A problem found while building an expression. Operators cannot take a source location,
        /// so the statement that consumes the expression reports it at the user's line.
        case invalid(String)
    }

    let kind: Kind
    let type: HWType
    /// The module the expression belongs to; nil for pure literals.
    let module: Module?

    /// The first problem anywhere in the expression (found once, when the node is made, so that
    /// asking is cheap however much the expression shares).
    let problem: String?

    init(_ kind: Kind, _ type: HWType, _ module: Module?) {
        self.kind = kind
        self.type = type
        self.module = module
        switch kind {
        case .invalid(let m): problem = m
        case .ref, .literal: problem = nil
        case .unary(_, let a), .slice(let a, _, _), .convert(let a): problem = a.problem
        case .binary(_, let a, let b, _): problem = a.problem ?? b.problem
        case .mux(let c, let a, let b): problem = c.problem ?? a.problem ?? b.problem
        case .concat(let xs): problem = xs.lazy.compactMap(\.problem).first
        }
    }

    /// Every declared signal the expression reads.
    func forEachRef(_ body: (Decl) -> Void) {
        var seen = Set<ObjectIdentifier>()
        func walk(_ n: Node) {
            guard seen.insert(ObjectIdentifier(n)).inserted else { return }
            switch n.kind {
            case .ref(let d): body(d)
            case .literal, .invalid: break
            case .unary(_, let a), .slice(let a, _, _), .convert(let a): walk(a)
            case .binary(_, let a, let b, _): walk(a); walk(b)
            case .mux(let c, let a, let b): walk(c); walk(a); walk(b)
            case .concat(let xs): xs.forEach(walk)
            }
        }
        walk(self)
    }
}
