/// SplitMix64: a small, fast generator whose sequence depends only on the seed, so builders give
/// the same weights on every machine and run.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BA_133D_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [lo, hi).
    public mutating func uniform(_ lo: Float, _ hi: Float) -> Float {
        lo + (hi - lo) * Float(next() >> 40) / Float(1 << 24)
    }

    public mutating func uniform(count: Int, _ lo: Float, _ hi: Float) -> [Float] {
        (0 ..< count).map { _ in uniform(lo, hi) }
    }
}

/// Shared pieces of the built-in networks: He-uniform weights and plausible batch-norm statistics.
struct LayerFactory {
    var rng: SeededRandom
    var model: FloatModel

    init(seed: UInt64, inputShape: [Int]) {
        rng = SeededRandom(seed: seed)
        model = FloatModel(inputShape: inputShape)
    }

    mutating func batchNorm(_ channels: Int) -> BatchNorm {
        BatchNorm(gamma: rng.uniform(count: channels, 0.5, 1.5), beta: rng.uniform(count: channels, -0.2, 0.2),
                  mean: rng.uniform(count: channels, -0.2, 0.2), variance: rng.uniform(count: channels, 0.5, 1.5))
    }

    /// Conv + BN (+ activation). He-uniform bound sqrt(6 / fan_in).
    mutating func conv(_ x: Int, _ outC: Int, kernel: (Int, Int), stride: Int = 1, activation: FusedActivation, name: String) -> Int {
        let inC = model.nodes[x].shape[3]
        let bound = (6 / Float(kernel.0 * kernel.1 * inC)).squareRoot()
        let shape = [outC, kernel.0, kernel.1, inC]
        return model.conv2D(x, weights: rng.uniform(count: shape.reduce(1, *), -bound, bound), shape: shape,
                            batchNorm: batchNorm(outC), options: ConvOptions(stride: stride, padding: .same, activation: activation), name: name)
    }

    mutating func depthwise(_ x: Int, kernel: Int = 3, stride: Int = 1, multiplier: Int = 1, activation: FusedActivation, name: String) -> Int {
        let outC = model.nodes[x].shape[3] * multiplier
        let bound = (6 / Float(kernel * kernel)).squareRoot()
        let shape = [1, kernel, kernel, outC]
        return model.depthwiseConv2D(x, weights: rng.uniform(count: shape.reduce(1, *), -bound, bound), shape: shape,
                                     batchNorm: batchNorm(outC), options: ConvOptions(stride: stride, padding: .same, activation: activation), name: name)
    }

    mutating func classifier(_ x: Int, classes: Int, name: String = "classifier") -> Int {
        let depth = model.nodes[x].shape.dropFirst().reduce(1, *)
        let bound = (6 / Float(depth)).squareRoot()
        return model.fullyConnected(x, weights: rng.uniform(count: classes * depth, -bound, bound), outputs: classes,
                                    bias: rng.uniform(count: classes, -0.1, 0.1), name: name)
    }
}

extension FloatModel {
    /// Quantizes with `samples` seeded inputs uniform in [-1, 1] as calibration data.
    public func quantizedWithRandomCalibration(seed: UInt64 = 1, samples: Int = 2, perChannelFullyConnected: Bool = false) throws -> Network {
        var rng = SeededRandom(seed: seed)
        let n = nodes[0].shape.reduce(1, *)
        return try quantized(calibration: (0 ..< samples).map { _ in rng.uniform(count: n, -1, 1) },
                             perChannelFullyConnected: perChannelFullyConnected)
    }
}
