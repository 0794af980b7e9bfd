/// Depthwise beats of several positions (seed 003's "PD windows per cycle" for layers narrower
/// than the engine): a depthwise layer of C = Q·PC channels has its NHWC tensor read as pixels of
/// P horizontally adjacent positions, P·C bytes each (an image W/P pixels wide), so one reshape
/// unit's 3×3 window of such pixels holds the windows of all P positions. Window group j·Q + q
/// computes channel slice q of position j; its tap (ky, kx) is position j + kx − 1 of the window's
/// row ky, which lies in the window's left pixel (−1), its centre, or its right one (P), at slot
/// (j + kx − 1) mod P. Groups from P·Q on are unused. The padding and fill of the wide pixels are
/// those of the positions in them, so a layer whose width is a multiple of P needs nothing else:
/// its weights and parameters are the layer's own, repeated for each position (docs/control.md,
/// `depthwisePositions`). MobileNetV2's 112×112×32 depthwise at B = 128: three positions of two
/// slices a beat over 108 columns, two over the last 4.
public enum DepthwisePositions {
    /// The (P, Q) shapes a configuration's engine takes: P ≥ 2 positions of Q ≥ 1 slices, P·Q at
    /// most its depthwise slices S.
    public static func shapes(slices: Int) -> [(positions: Int, slices: Int)] {
        (2 ... max(2, slices)).flatMap { p in (1 ... max(1, slices / p)).compactMap { q in p * q <= slices ? (p, q) : nil } }
    }

    /// The window tap (3·row + column, over wide pixels) and the wide pixel's channel slice that
    /// window group `group`'s tap `tap` reads in a beat of `positions` P positions of `slices` Q
    /// slices; nil for groups the shape leaves unused.
    public static func source(group: Int, tap: Int, positions p: Int, slices q: Int) -> (tap: Int, slice: Int)? {
        guard group < p * q else { return nil }
        let j = group / q, s = group % q, ky = tap / 3, kx = tap % 3
        let offset = j + kx - 1
        let column = offset < 0 ? 0 : offset >= p ? 2 : 1
        return (3 * ky + column, ((offset + p) % p) * q + s)
    }
}
