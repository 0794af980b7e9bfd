import Foundation

/// Every failure the reference model reports. Each case carries a one-line message naming what is
/// wrong, so a command-line front end can print it as is; nothing in this module traps on bad data.
public enum ReferenceError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    /// The bytes are not a well-formed TFLite flatbuffer (truncated, corrupt, wrong identifier).
    case malformedModel(String)
    /// The model is well formed but uses something the reference model does not implement.
    case unsupported(String)
    /// A network (read or built in Swift) whose tensors and layers do not fit together.
    case invalidNetwork(String)
    /// Data handed to the interpreter that does not match the network (wrong size, wrong count).
    case invalidInput(String)
    /// A file that cannot be read or written.
    case io(String)

    public var description: String {
        switch self {
        case .malformedModel(let m): return "malformed .tflite: \(m)"
        case .unsupported(let m): return "unsupported: \(m)"
        case .invalidNetwork(let m): return "invalid network: \(m)"
        case .invalidInput(let m): return "invalid input: \(m)"
        case .io(let m): return m
        }
    }

    public var errorDescription: String? { description }
}
