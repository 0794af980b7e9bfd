import HDLKit

/// Hardware-assisted pruning (seed 003, section 5, Fig. 11), as the convolution engine builds it.
///
/// The paper gates each multiplier's clock when |w| is below a threshold or the activation is zero.
/// On an FPGA a gated clock is a timing hazard, so each multiplier gets a clock *enable* instead:
///   en = valid ∧ lane in use ∧ |w| > threshold ∧ (x - in_zp) ≠ 0
/// and its product register is loaded with 0 (a synchronous reset, the DSP48's RSTM) when en is low,
/// so a skipped product contributes exactly nothing to the adder tree.
///
/// "|w| > threshold" rather than the paper's "w < Th": threshold 0 then skips only products that are
/// zero anyway (w = 0 or x = in_zp), so results stay bit-exact and the activity counter counts only
/// useful multiplications. Threshold t prunes every weight with |w| ≤ t.
///
/// The activity counter (the power proxy) adds the number of enabled multiplications each cycle;
/// `activity_clear` zeroes it (the mapper clears it per layer and reads it at the end).
public enum Pruning {
    /// Width of the activity counter: 2^48 multiplications is days at full rate.
    public static let counterWidth = 48
    /// Cycles from a multiplication's input cycle until the counter includes it.
    public static let counterLatency = 3

    /// The software meaning of the enable, for models and tests of pruned layers.
    public static func isEnabled(weight: Int, activation: Int, inputZeroPoint: Int, threshold: Int) -> Bool {
        abs(weight) > threshold && activation != inputZeroPoint
    }

    /// `|w| > threshold` for a signed weight and an unsigned threshold.
    static func significant(_ weight: Signal, threshold: Signal) -> Signal {
        let magnitude = mux(weight < 0, -weight, weight.extend(to: weight.width + 1)).asUnsigned
        return magnitude > threshold
    }

    /// The activity counter: per-lane popcounts (registered), their total (registered), and the
    /// running 48-bit count with a synchronous clear. `enables[f]` are lane f's multiplier enables.
    static func activityCounter(in m: Module, enables: [[Signal]], clear: Signal) -> Signal {
        func popcount(_ bits: [Signal]) -> Signal {
            var level = bits
            while level.count > 1 {
                level = stride(from: 0, to: level.count, by: 2).map { i in i + 1 < level.count ? level[i] + level[i + 1] : level[i] }
            }
            return level[0]
        }
        let lanes = enables.enumerated().map { f, bits in m.reg("active_\(f)", next: popcount(bits)) }
        let total = m.reg("active_total", next: popcount(lanes))
        let count = m.reg("activity_q", .uint(counterWidth), reset: 0)
        count.assign(count &+ total.extend(to: counterWidth))
        m.when(clear) { count.assign(.uint(0, width: counterWidth)) }
        return count
    }
}
