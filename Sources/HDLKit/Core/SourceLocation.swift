/// Where a piece of hardware was written in the user's Swift code.
///
/// Every public HDLKit entry point takes `file: StaticString = #fileID, line: UInt = #line`
/// so that errors and the comments in the emitted Verilog point at the generator's own line,
/// never into HDLKit.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public let file: String
    public let line: Int

    public init(file: StaticString, line: UInt) {
        self.file = "\(file)"
        self.line = Int(line)
    }

    public init(fileName: String, line: Int) {
        self.file = fileName
        self.line = line
    }

    public var description: String { "\(file):\(line)" }
}

/// One elaboration problem: where the user wrote it, in which module, and what is wrong.
public struct ElaborationError: Error, Sendable, CustomStringConvertible, Equatable {
    public let location: SourceLocation
    public let module: String
    public let message: String
    /// The instance path from the top to (the first instance of) the module, `Top.u0.tree`, when
    /// the module is not the top itself.
    public let path: String?

    public init(location: SourceLocation, module: String, message: String, path: String? = nil) {
        self.location = location
        self.module = module
        self.message = message
        self.path = path
    }

    public var description: String {
        "\(location): error: in module \(module)\(path.map { " (instance \($0))" } ?? ""): \(message)"
    }
}

/// All the problems found while elaborating a design, reported together so one run shows them all.
public struct ElaborationFailure: Error, Sendable, CustomStringConvertible {
    public let errors: [ElaborationError]
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
