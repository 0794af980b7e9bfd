/// MEAN over some axes, bit-exact with tflite-micro's int8 MEAN (`QuantizedMeanOrSumExtraArgs`):
/// the int32 sum of x - in_zp over the reduced axes, requantized by in_s/out_s with 1/count folded
/// into the multiplier (multiplier * 2^k / count, k = min(floor(log2 count), 32, 31 + shift)), so
/// the result is rounded twice. tflite-micro takes this path even when input and output share
/// scale and zero point, and so does LiteRT's reference kernel; a plain rounded average differs.
public struct MeanParameters: Sendable, Equatable {
    public var inputShape: [Int]
    /// Reduced axes, each in 0..<rank.
    public var axes: [Int]
    public var inputScale: Float
    public var inputZeroPoint: Int32
    public var outputScale: Float
    public var outputZeroPoint: Int32

    public init(inputShape: [Int], axes: [Int], inputScale: Float, inputZeroPoint: Int32, outputScale: Float, outputZeroPoint: Int32) {
        self.inputShape = inputShape
        self.axes = axes
        self.inputScale = inputScale
        self.inputZeroPoint = inputZeroPoint
        self.outputScale = outputScale
        self.outputZeroPoint = outputZeroPoint
    }

    public var reducedCount: Int { Set(axes).reduce(1) { $0 * inputShape[$1] } }
    public var outputCount: Int { inputShape.reduce(1, *) / max(reducedCount, 1) }
}

public enum Mean {
    public static func run(_ p: MeanParameters, input: [Int8]) throws -> [Int8] {
        let rank = p.inputShape.count
        guard p.inputShape.allSatisfy({ $0 >= 1 }), p.axes.allSatisfy({ (0 ..< rank).contains($0) }), !p.axes.isEmpty else {
            throw ReferenceError.invalidNetwork("MEAN axes \(p.axes) do not fit input shape \(p.inputShape)")
        }
        guard input.count == p.inputShape.reduce(1, *) else {
            throw ReferenceError.invalidInput("MEAN input has \(input.count) elements, expected \(p.inputShape.reduce(1, *))")
        }
        let reduced = Set(p.axes)
        let count = p.reducedCount
        // Output index of each input element: the input's row-major index with reduced axes dropped.
        var sums = [Int32](repeating: 0, count: p.outputCount)
        var index = [Int](repeating: 0, count: rank)
        for i in 0 ..< input.count {
            var o = 0
            for d in 0 ..< rank where !reduced.contains(d) { o = o * p.inputShape[d] + index[d] }
            sums[o] &+= Int32(input[i])
            var d = rank - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < p.inputShape[d] { break }
                index[d] = 0
                d -= 1
            }
        }
        var (multiplier, shift) = FixedPoint.quantizeMultiplier(Double(p.inputScale) / Double(p.outputScale))
        let log2Count = 63 - UInt64(count).leadingZeroBitCount
        let extra = min(log2Count, 32, 31 + shift)
        multiplier = Int32(truncatingIfNeeded: (Int64(multiplier) << Int64(max(extra, 0))) / Int64(count))
        shift -= extra
        return sums.map { sum in
            let shifted = sum &- p.inputZeroPoint &* Int32(truncatingIfNeeded: count)
            let v = FixedPoint.multiplyByQuantizedMultiplier(shifted, multiplier, shift) &+ p.outputZeroPoint
            return Int8(truncatingIfNeeded: min(max(v, -128), 127))
        }
    }
}
