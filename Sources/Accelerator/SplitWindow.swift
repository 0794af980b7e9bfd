/// The split window: a standard pass that computes two filter groups per 3×3 window at once where
/// the layer's weights use only the window's bottom-right 2×2 taps (4, 5, 7, 8), as a 3×3 stride-2
/// convolution has on its space-to-depth image when it pads nothing before (MobileNetV2's first
/// layer: 32 filters, two groups at PF = 16, so one window a cycle instead of two). Group 0 uses
/// the taps on their own lanes; lanes 0-3 take copies of them for group 1; lane 6 is unused. The
/// engine's per-lane sums (its pointwise mode) are added per group, and the two groups leave as
/// one position of 2·PF channels, as a wide pointwise pass's groups do (docs/control.md, `wide`).
public enum SplitWindow {
    public static let groups = 2
    /// The taps a split window computes on: the 2×2 at the window's bottom right.
    public static let taps = [4, 5, 7, 8]

    /// The tap lanes whose sums make filter group `group`.
    public static func lanes(group: Int) -> [Int] { group == 0 ? taps : [0, 1, 2, 3] }

    /// The window tap that lane `lane` takes in a split window instead of its own, if it moves.
    public static func copiedTap(lane: Int) -> Int? { lane < taps.count ? taps[lane] : nil }
}
