/// Why a network cannot be mapped onto a configuration: one line naming the layer and the reason.
public struct MapperError: Error, CustomStringConvertible, Equatable, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
