/// Division by a run-time constant without a divider: floor(u / d) = (u · M) >> s for every
/// u in [0, 2^N), where M = ceil(2^s / d) and s >= N + ceil(log2 d).
///
/// Proof: write M = (2^s + e) / d with 0 <= e < d. Then u·M / 2^s = u/d + u·e / (d·2^s), and the
/// error term is below 2^N · d / (d · 2^s) = 2^(N - s) <= 2^-ceil(log2 d) <= 1/d. With u/d = k + r/d,
/// 0 <= r <= d - 1, the sum stays below k + (d - 1)/d + 1/d = k + 1, so its floor is k.
/// One shift serves every divisor up to D when s = N + ceil(log2 D), which is what the pooling
/// unit's reciprocal ROM uses (no barrel shifter behind the multiplier).
public enum ExactDivider {
    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    /// ceil(log2 d) for d >= 1.
    public static func ceilLog2(_ d: Int) -> Int {
        d <= 1 ? 0 : Int.bitWidth - (d - 1).leadingZeroBitCount
    }

    /// The shift that makes `reciprocal` exact for all divisors up to `maxDivisor`.
    public static func shift(numeratorBits: Int, maxDivisor: Int) -> Int {
        numeratorBits + ceilLog2(max(maxDivisor, 1))
    }

    /// M and s with (u · M) >> s == u / divisor for every 0 <= u < 2^numeratorBits. With `shift`
    /// nil the smallest sufficient s (N + ceil(log2 d)) is used; a given shift must be at least that.
    public static func reciprocal(divisor: Int, numeratorBits: Int, shift: Int? = nil) throws -> (multiplier: Int, shift: Int) {
        guard divisor >= 1 else { throw Invalid(description: "divisor \(divisor): must be at least 1") }
        guard (1...40).contains(numeratorBits) else {
            throw Invalid(description: "numeratorBits \(numeratorBits): must be 1 to 40")
        }
        let needed = numeratorBits + ceilLog2(divisor)
        let s = shift ?? needed
        guard s >= needed, s <= 61 else {
            throw Invalid(description: "shift \(s) for divisor \(divisor) and \(numeratorBits)-bit numerators: must be \(needed) to 61")
        }
        let m = ((1 << s) + divisor - 1) / divisor
        return (m, s)
    }

    /// AVERAGE_POOL_2D's rounding as the pooling unit computes it: sign(sum) · ((|sum| + count/2) · M >> s),
    /// which equals TFLite's (sum ± count/2) / count (C division) whenever |sum| + count/2 < 2^N.
    public static func roundedAverage(sum: Int, count: Int, multiplier: Int, shift: Int) -> Int {
        let u = UInt64(sum.magnitude) &+ UInt64(max(count, 0) / 2)
        let (high, low) = u.multipliedFullWidth(by: UInt64(max(multiplier, 0)))
        let s = UInt64(min(max(shift, 0), 63))
        let q = s == 0 ? low : (high << (64 - s)) | (low >> s)
        let v = Int(truncatingIfNeeded: q)
        return sum < 0 ? 0 &- v : v
    }
}
