/// Depthwise beats of several positions (seed 003's "PD windows per cycle" for layers narrower
/// than the engine): a depthwise layer of C channels has its NHWC tensor read as pixels of P
/// horizontally adjacent positions, P·C bytes each (an image W/P pixels wide), so one reshape
/// unit's 3×3 window of such pixels holds the windows of all P positions. Byte (lane) L of the
/// engine's window groups, group L / PC, is channel L mod C of position j = L / C; its tap
/// (ky, kx) is position j + kx − 1 of the window's row ky, which lies in the window's left pixel
/// (−1), its centre, or its right one (P), at slot (j + kx − 1) mod P. Lanes from P·C on are
/// unused. A position is Q whole PC-channel slices, or half a slice (`half`: PC/2 channels, the
/// lanes then move in halves of a slice). The padding and fill of the wide pixels are those of
/// the positions in them, so a layer whose width is a multiple of P needs nothing else: its
/// weights and parameters are the layer's own, repeated for each position (docs/control.md,
/// `depthwisePositions`). MobileNetV2's 112×112×32 depthwise at B = 128: three positions of two
/// slices a beat over 108 columns, two over the last 4; VWW's 48×48×8 one: twelve of half a slice.
public enum DepthwisePositions {
    public struct Shape: Hashable, Sendable {
        public let positions: Int
        /// Slices a position has (1 with `half`).
        public let slices: Int
        public let half: Bool
        public init(positions: Int, slices: Int, half: Bool = false) {
            self.positions = positions
            self.slices = slices
            self.half = half
        }

        /// Bytes of one position: Q·PC, or PC/2.
        public func channels(pc: Int) -> Int { half ? pc / 2 : slices * pc }
    }

    /// The shapes an engine of S = `slices` depthwise slices takes: P ≥ 2 positions of Q slices
    /// with P·Q ≤ S, and (PC even) P ≤ 2·S positions of half a slice (P < 16: the record's 4 bits).
    public static func shapes(slices: Int, pc: Int) -> [Shape] {
        guard slices > 1 else { return [] }
        let whole = (2 ... min(15, slices)).flatMap { p in (1 ... slices / p).map { Shape(positions: p, slices: $0) } }
        return whole + (pc % 2 == 0 ? (2 ... min(15, 2 * slices)).map { Shape(positions: $0, slices: 1, half: true) } : [])
    }

    /// The window tap (3·row + column, over wide pixels) and the wide pixel's lane that lane `lane`
    /// of the window groups reads at tap `tap` in a beat of `shape`; nil for lanes it leaves unused.
    public static func source(lane: Int, tap: Int, shape: Shape, pc: Int) -> (tap: Int, lane: Int)? {
        let c = shape.channels(pc: pc), p = shape.positions
        guard lane < p * c else { return nil }
        let j = lane / c, ky = tap / 3, kx = tap % 3
        let offset = j + kx - 1
        let column = offset < 0 ? 0 : offset >= p ? 2 : 1
        return (3 * ky + column, ((offset + p) % p) * c + lane % c)
    }
}
