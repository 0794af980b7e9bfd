import HDLKit

/// Average pooling and global average (MEAN) for `lanes` channels in parallel, bit-exact with
/// Reference's `AveragePool2D` (tflite `reference_integer_ops::AveragePool`) and `Mean`
/// (tflite-micro's QuantizedMeanOrSum).
///
/// Input: a window arrives as one or more beats of `taps` values per lane (the reshape unit's
/// PK = 9 taps, so a 5×5 pool is 3 beats and a 7×7 global pool 6), `in_first` on its first beat and
/// `in_last` on its last. `tap_mask` says which taps of the beat are inside the image (shared by
/// all lanes): TFLite divides by the number of valid taps, so border windows of a SAME pool
/// divide by less. `mean` (sampled on the last beat) picks the MEAN arithmetic for that window.
///
/// AVERAGE_POOL_2D: (sum ± count/2) / count with C's truncating division, i.e. half away from zero,
/// then clamped to [act_min, act_max]. No divider: |sum| + count/2 < 2^N (N from `maxWindow` and
/// the data width), so floor(u / count) = (u · M[count]) >> s exactly (`ExactDivider`), with
/// M[count] from a ROM of 2^bits(maxWindow) words indexed by the count the hardware itself took,
/// and one shift s for every count. Counts above `maxWindow` read 0; the mapper splits or rejects
/// such pools. A count of 0 (no valid tap) gives 0, as Reference does.
///
/// MEAN: tflite-micro does not take the rounded average even when input and output share their
/// quantization: it requantizes the int32 sum with 1/count folded into the multiplier. So the
/// window's wrapping int32 sum goes through a `Requantizer` with the mapper's layer constants:
/// `mean_bias` = -in_zp · count (int32, wrapping), `mean_multiplier`/`mean_shift` = the folded
/// multiplier (M·2^k / count, shift - k; k = min(floor(log2 count), 32, 31 + shift), so the shift
/// stays within -31), `mean_zero_point` = out_zp, clamp to the full int8 range.
///
/// `act_min`/`act_max` (average) and the `mean_*` values are taken from the window's last beat and
/// travel with it, so consecutive windows may belong to different layers.
///
/// Pipeline: 1 masked tap sums and the beat's tap count, 2 window accumulators, then 8 stages
/// (the Requantizer's, with the average path padded to match): `latency` = 10 cycles from the
/// window's last beat to its result; `out_valid` marks it.
public struct PoolingUnit {
    public let lanes: Int
    public let taps: Int
    public let maxWindow: Int
    public let dataWidth: Int
    /// Numerator bits N of the exact division and its common shift s.
    public let numeratorBits: Int
    public let divisionShift: Int
    /// The reciprocal ROM: entry c is M for divisor c (0 for c = 0 and c > maxWindow).
    public let reciprocals: [Int]
    public let module: Module

    public static let latency = 2 + Requantizer.latency
    public var latency: Int { Self.latency }

    /// Channels of the depthwise lanes (PC), taps of the reshape unit's window (PK).
    public init(config: AcceleratorConfig, maxWindow: Int = 256) throws {
        try self.init(config: config, lanes: config.pc, taps: config.pk, maxWindow: maxWindow)
    }

    public init(config: AcceleratorConfig, lanes: Int, taps: Int, maxWindow: Int = 256) throws {
        try config.validate()
        guard (1...256).contains(lanes) else {
            throw Requantizer.Invalid(description: "PoolingUnit lanes \(lanes): must be 1 to 256")
        }
        guard (1...64).contains(taps) else {
            throw Requantizer.Invalid(description: "PoolingUnit taps \(taps): must be 1 to 64")
        }
        guard (taps...4096).contains(maxWindow) else {
            throw Requantizer.Invalid(description: "PoolingUnit maxWindow \(maxWindow): must be \(taps) (taps) to 4096")
        }
        let dw = config.dataWidth
        self.lanes = lanes
        self.taps = taps
        self.maxWindow = maxWindow
        self.dataWidth = dw
        // |sum| <= 2^(dw-1) · count, plus count/2 for the rounding.
        let n = bitsNeeded((1 << (dw - 1)) * maxWindow + maxWindow / 2, signed: false)
        let s = ExactDivider.shift(numeratorBits: n, maxDivisor: maxWindow)
        let countBits = bitsNeeded(maxWindow, signed: false)
        let roms = try (0 ..< (1 << countBits)).map { c in
            c == 0 || c > maxWindow ? 0 : try ExactDivider.reciprocal(divisor: c, numeratorBits: n, shift: s).multiplier
        }
        numeratorBits = n
        divisionShift = s
        reciprocals = roms
        let mBits = bitsNeeded(roms.max() ?? 1, signed: false)
        let beatBits = bitsNeeded(taps, signed: false)
        let sumBits = dw + beatBits
        let requantizer = try Requantizer(config: config, pixels: lanes, tagWidth: 1)
        let name = "PoolingUnit_l\(lanes)_k\(taps)_w\(maxWindow)_d\(dw)"
        module = Module(name) { m in
            let valid = m.input("in_valid", .bool)
            let first = m.input("in_first", .bool)
            let last = m.input("in_last", .bool)
            let mean = m.input("mean", .bool)
            let mask = m.input("tap_mask", .uint(taps))
            let x = (0 ..< lanes).map { l in (0 ..< taps).map { t in m.input("x_\(l)_\(t)", .sint(dw)) } }
            let actMin = m.input("act_min", .sint(dw))
            let actMax = m.input("act_max", .sint(dw))
            let meanBias = m.input("mean_bias", .sint(32))
            let meanMultiplier = m.input("mean_multiplier", .sint(32))
            let meanShift = m.input("mean_shift", .sint(Requantizer.shiftWidth))
            let meanZeroPoint = m.input("mean_zero_point", .sint(dw))

            // 1: the beat's masked tap sums and its number of valid taps.
            let aValid = m.reg("a_valid", next: valid, reset: 0)
            let aFirst = m.reg("a_first", next: first)
            let aLast = m.reg("a_last", next: last)
            let aMean = m.reg("a_mean", next: mean)
            let maskBits = (0 ..< taps).map { mask[$0] }
            let beatCount = maskBits.dropFirst().reduce(maskBits[0].resize(beatBits)) { ($0 + $1).truncate(to: beatBits) }
            let aCount = m.reg("a_count", next: beatCount)
            var beatSums: [Signal] = []
            for l in 0 ..< lanes {
                let masked = (0 ..< taps).map { t in mux(mask[t], x[l][t], Signal.sint(0, width: dw)) }
                let total = masked.dropFirst().reduce(masked[0].resize(sumBits)) { ($0 + $1).truncate(to: sumBits) }
                beatSums.append(m.reg("tap_sum_\(l)", next: total))
            }

            // 2: window accumulators (int32, wrapping like Reference's sums) and tap count.
            let bDone = m.reg("b_done", next: aValid && aLast, reset: 0)
            let bMean = m.reg("b_mean", next: aMean)
            let count = m.reg("window_count", .uint(countBits), reset: 0)
            m.when(aValid) {
                count.assign(mux(aFirst, aCount.resize(countBits), (count &+ aCount.resize(countBits))))
            }
            var sums: [Signal] = []
            for l in 0 ..< lanes {
                let acc = m.reg("window_sum_\(l)", .sint(32))
                m.when(aValid) { acc.assign(mux(aFirst, beatSums[l].resize(32), acc &+ beatSums[l].resize(32))) }
                sums.append(acc)
            }

            // MEAN: the Requantizer, valid on every finished window; its tag says which mode.
            let rq = m.instance(requantizer.module, "mean_rq")
            rq.in_valid.assign(bDone)
            rq.in_tag.assign(bMean)
            for l in 0 ..< lanes { rq.port("acc_\(l)").assign(sums[l]) }
            // The window's constants are those of its last beat, two cycles before the Requantizer sees it.
            rq.bias.assign(RequantizerStages.delayLine(m, "mean_bias", meanBias, stages: 2, reset: nil)[2])
            rq.multiplier.assign(RequantizerStages.delayLine(m, "mean_multiplier", meanMultiplier, stages: 2, reset: nil)[2])
            rq.shift.assign(RequantizerStages.delayLine(m, "mean_shift", meanShift, stages: 2, reset: nil)[2])
            rq.zero_point.assign(RequantizerStages.delayLine(m, "mean_zero_point", meanZeroPoint, stages: 2, reset: nil)[2])
            rq.act_min.assign(Signal.sint(-(1 << (dw - 1)), width: dw))
            rq.act_max.assign(Signal.sint((1 << (dw - 1)) - 1, width: dw))

            // AVERAGE_POOL_2D: 3 stages, then padded to the Requantizer's latency.
            let rom = m.rom("reciprocal", .uint(mBits), contents: roms)
            let reciprocal = rom.read(count, name: "reciprocal_q")
            let halfCount = (count >> 1).resize(n)
            let outMean = rq.out_tag[0]
            let mins = RequantizerStages.delayLine(m, "avg_min", actMin, stages: 4, reset: nil)
            let maxs = RequantizerStages.delayLine(m, "avg_max", actMax, stages: 4, reset: nil)
            for l in 0 ..< lanes {
                let magnitude = mux(sums[l] < 0, -sums[l], sums[l].resize(33)).asUnsigned.truncate(to: n)
                let u = m.reg("avg_num_\(l)", next: (magnitude &+ halfCount))
                let negative = m.reg("avg_neg_\(l)", next: sums[l] < 0)
                let prod = m.reg("avg_prod_\(l)", next: u * reciprocal)
                let negative2 = m.reg("avg_neg2_\(l)", next: negative)
                let quotient = (prod >> s).truncate(to: n).toSigned
                let signed = mux(negative2, -quotient, quotient.resize(n + 2))
                let avg = m.reg("avg_\(l)", next: RequantizerStages.clamp(signed, mins[4], maxs[4]))
                let padded = RequantizerStages.delayLine(m, "avg_\(l)_pad", avg, stages: Requantizer.latency - 3, reset: nil)
                m.output("y_\(l)", mux(outMean, rq.port("y_\(l)"), padded[Requantizer.latency - 3]))
            }
            m.output("out_valid", rq.out_valid)
        }
    }
}
