/// Ready/valid streams in SpinalHDL's vocabulary: a transfer happens in a cycle where `valid` and
/// `ready` are both high (the stream *fires*); the sender holds `payload` steady while `valid` is
/// high and `ready` low (the stream *stalls*).
extension BundleShape {
    /// `valid` and `payload` flow with the stream, `ready` against it.
    ///
    ///     let s = m.input("s", .stream(.sint(8)))      // ports s_valid, s_ready (output), s_payload
    public static func stream(_ payload: HWType) -> BundleShape {
        BundleShape([BundleField("valid", .bool), BundleField("ready", .bool, flipped: true), BundleField("payload", payload)])
    }

    /// Whether this shape is a stream made by `stream(_:)`, and of which payload.
    public var streamPayload: HWType? {
        guard fields.count == 3, fields[0] == BundleField("valid", .bool), fields[1] == BundleField("ready", .bool, flipped: true),
              fields[2].name == "payload", !fields[2].flipped else { return nil }
        return fields[2].type
    }
}

extension Bundle {
    /// A transfer happens this cycle.
    public var fire: Signal { field("valid") && field("ready") }

    /// The sender offers data that the receiver does not take this cycle.
    public var isStall: Signal { field("valid") && !field("ready") }
}
