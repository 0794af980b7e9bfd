import Accelerator

/// What the control records address: external memory from byte 0 and the on-chip RAM-S and RAM-M
/// from `AcceleratorConfig.onChipBase` (docs/control.md, "On-chip memory"). The functional model
/// reads and writes through it, so a record that strays outside both fails as it would on the RTL.
public struct DeviceMemory: Sendable, Equatable {
    public var external: [UInt8]
    public var onChip: [UInt8]
    public static let onChipBase = Int(AcceleratorConfig.onChipBase)

    public init(external: [UInt8], config: AcceleratorConfig) {
        self.external = external
        onChip = [UInt8](repeating: 0, count: config.onChipBytes)
    }

    public static func isOnChip(_ address: UInt32) -> Bool { address >= AcceleratorConfig.onChipBase }

    public subscript(address: Int) -> UInt8 {
        get { address >= Self.onChipBase ? onChip[address - Self.onChipBase] : external[address] }
        set { if address >= Self.onChipBase { onChip[address - Self.onChipBase] = newValue } else { external[address] = newValue } }
    }

    /// Whether [address, address + count) lies wholly in external memory or wholly on chip.
    public func holds(_ address: Int, _ count: Int) -> Bool {
        if address >= Self.onChipBase { return address - Self.onChipBase + count <= onChip.count }
        return address >= 0 && address + count <= external.count
    }

    public func bytes(_ address: UInt32, _ count: Int) -> [UInt8] {
        let a = Int(address)
        return a >= Self.onChipBase ? Array(onChip[a - Self.onChipBase ..< a - Self.onChipBase + count]) : Array(external[a ..< a + count])
    }

    /// The two memories' sizes, for error messages.
    public var extent: String {
        onChip.isEmpty ? "the \(external.count)-byte memory" : "the \(external.count)-byte external memory or the \(onChip.count)-byte on-chip memory"
    }
}
