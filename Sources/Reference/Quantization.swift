import Foundation

/// Batch-norm parameters of one layer's output channels.
public struct BatchNorm: Sendable, Equatable {
    public var gamma: [Float]
    public var beta: [Float]
    public var mean: [Float]
    public var variance: [Float]
    public var epsilon: Float

    public init(gamma: [Float], beta: [Float], mean: [Float], variance: [Float], epsilon: Float = 1e-3) {
        self.gamma = gamma
        self.beta = beta
        self.mean = mean
        self.variance = variance
        self.epsilon = epsilon
    }
}

/// Turning float networks built in Swift into int8 ones the way the TFLite converter does:
/// batch norm folded into the preceding convolution, weights symmetric per output channel,
/// activations asymmetric from calibration ranges, biases int32 at scale in_s * w_s[c].
public enum Quantizer {
    /// Folds BN into weights and bias: w' = w * g/sqrt(v+eps), b' = (b - mean) * g/sqrt(v+eps) + beta.
    /// `channelOf(i)` is the output channel of weight element i ([O,KH,KW,I]: i / (KH*KW*I);
    /// depthwise [1,KH,KW,O]: i % O).
    public static func foldBatchNorm(weights: [Float], bias: [Float]?, batchNorm bn: BatchNorm, channelOf: (Int) -> Int) -> (weights: [Float], bias: [Float]) {
        let factor = (0 ..< bn.gamma.count).map { bn.gamma[$0] / (bn.variance[$0] + bn.epsilon).squareRoot() }
        let w = weights.enumerated().map { $1 * factor[channelOf($0)] }
        let b = (0 ..< bn.gamma.count).map { (c: Int) -> Float in
            let b0: Float = bias?[c] ?? 0
            return (b0 - bn.mean[c]) * factor[c] + bn.beta[c]
        }
        return (w, b)
    }

    /// Symmetric per-channel int8 weights: scale[c] = max|w| / 127, zero point 0, values in [-127, 127].
    public static func quantizeWeightsPerChannel(_ weights: [Float], channels: Int, channelOf: (Int) -> Int) -> (values: [Int8], scales: [Float]) {
        var maxAbs = [Float](repeating: 0, count: channels)
        for (i, w) in weights.enumerated() { maxAbs[channelOf(i)] = max(maxAbs[channelOf(i)], abs(w)) }
        // An all-zero channel still needs a positive scale; its weights quantize to 0 whatever it is.
        let scales = maxAbs.map { $0 > 0 ? $0 / 127 : 1 }
        let values = weights.enumerated().map { i, w in
            Int8(max(-127, min(127, (w / scales[channelOf(i)]).rounded(.toNearestOrAwayFromZero))))
        }
        return (values, scales)
    }

    /// Asymmetric int8 quantization of a real range, widened to include 0 so that zero (the
    /// padding value) is exact: scale = (max - min) / 255, zero point = round(-128 - min / scale).
    public static func activationQuantization(min lo: Float, max hi: Float) -> Quantization {
        let lo = Swift.min(lo, 0), hi = Swift.max(hi, 0)
        let scale = hi > lo ? (hi - lo) / 255 : 1
        let zp = Int32(Swift.max(-128, Swift.min(127, (-128 - lo / scale).rounded(.toNearestOrAwayFromZero))))
        return Quantization(scale: scale, zeroPoint: zp)
    }

    /// Bias at scale in_s * w_s[c], rounded and saturated to int32.
    public static func quantizeBias(_ bias: [Float], inputScale: Float, weightScales: [Float]) -> [Int32] {
        bias.enumerated().map { c, b in
            let s = Double(inputScale) * Double(weightScales.count > 1 ? weightScales[c] : weightScales[0])
            return Int32(clamping: Int64(max(-9e18, min(9e18, (Double(b) / s).rounded(.toNearestOrAwayFromZero)))))
        }
    }

    public static func quantize(_ x: [Float], _ q: Quantization) -> [Int8] {
        x.map { Int8(max(-128, min(127, ($0 / q.scale).rounded(.toNearestOrAwayFromZero) + Float(q.zeroPoint)))) }
    }

    public static func dequantize(_ x: [Int8], _ q: Quantization) -> [Float] {
        x.map { Float(Int32($0) - q.zeroPoint) * q.scale }
    }
}
