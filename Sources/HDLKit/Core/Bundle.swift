/// A named field of a bundle. `flipped` fields travel against the bundle's direction
/// (a stream's `ready`, an AXI read channel's `rready`).
public struct BundleField: Sendable, Hashable {
    public let name: String
    public let type: HWType
    public let flipped: Bool

    public init(_ name: String, _ type: HWType, flipped: Bool = false) {
        self.name = name
        self.type = type
        self.flipped = flipped
    }
}

/// The shape of a bundle: its fields in order.
public struct BundleShape: Sendable, Hashable {
    public let fields: [BundleField]
    public init(_ fields: [BundleField]) { self.fields = fields }

    /// The same bundle seen from the other side.
    public var flipped: BundleShape { BundleShape(fields.map { BundleField($0.name, $0.type, flipped: !$0.flipped) }) }
}

/// A record of signals, one per field, so an interface travels as one value.
@dynamicMemberLookup
public struct Bundle {
    public let prefix: String
    public let shape: BundleShape
    let fields: [String: Signal]

    public subscript(dynamicMember name: String) -> Signal { field(name) }

    public func field(_ name: String) -> Signal {
        if let s = fields[name] { return s }
        let any = fields.values.first
        return any?.invalid("bundle '\(prefix)' has no field '\(name)'") ?? .false
    }
}

extension Module {
    /// A bundle port that receives: forward fields are inputs, flipped fields outputs.
    public func input(_ name: String, _ shape: BundleShape, file: StaticString = #fileID, line: UInt = #line) -> Bundle {
        bundlePorts(name, shape, forwardIsInput: true, file: file, line: line)
    }

    /// A bundle port that sends: forward fields are outputs, flipped fields inputs.
    public func output(_ name: String, _ shape: BundleShape, file: StaticString = #fileID, line: UInt = #line) -> Bundle {
        bundlePorts(name, shape, forwardIsInput: false, file: file, line: line)
    }

    /// Internal signals for every field of a bundle.
    public func wire(_ name: String, _ shape: BundleShape, file: StaticString = #fileID, line: UInt = #line) -> Bundle {
        var fields: [String: Signal] = [:]
        for f in shape.fields { fields[f.name] = wire("\(name)_\(f.name)", f.type, file: file, line: line) }
        return Bundle(prefix: name, shape: shape, fields: fields)
    }

    private func bundlePorts(_ name: String, _ shape: BundleShape, forwardIsInput: Bool, file: StaticString, line: UInt) -> Bundle {
        var fields: [String: Signal] = [:]
        for f in shape.fields {
            let n = "\(name)_\(f.name)"
            fields[f.name] = (f.flipped != forwardIsInput) ? input(n, f.type, file: file, line: line) : output(n, f.type, file: file, line: line)
        }
        return Bundle(prefix: name, shape: shape, fields: fields)
    }

    /// Connects `source` to `sink`: forward fields flow source → sink, flipped fields sink → source.
    public func connect(_ sink: Bundle, _ source: Bundle, file: StaticString = #fileID, line: UInt = #line) {
        guard sink.shape == source.shape else {
            error("connect: bundles '\(sink.prefix)' and '\(source.prefix)' have different fields", at: SourceLocation(file: file, line: line))
            return
        }
        for f in sink.shape.fields {
            if f.flipped { source.field(f.name).assign(sink.field(f.name), file: file, line: line) }
            else { sink.field(f.name).assign(source.field(f.name), file: file, line: line) }
        }
    }
}
