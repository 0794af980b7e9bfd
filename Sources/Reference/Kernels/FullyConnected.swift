/// FULLY_CONNECTED, bit-exact with tflite-micro's `reference_integer_ops::FullyConnected` (one
/// multiplier) and `FullyConnectedPerChannel` (one per output): fixed-point requantization, not
/// LiteRT's double-rounded reference.
public struct FullyConnectedParameters: Sendable, Equatable {
    public var batches: Int
    public var inputDepth: Int
    public var outputDepth: Int
    public var inputZeroPoint: Int32
    public var weightZeroPoint: Int32
    public var outputZeroPoint: Int32
    /// One entry (per tensor) or `outputDepth` entries (per channel).
    public var multipliers: [Int32]
    public var shifts: [Int]
    public var activationMin: Int32
    public var activationMax: Int32

    public init(batches: Int = 1, inputDepth: Int, outputDepth: Int, inputZeroPoint: Int32, weightZeroPoint: Int32 = 0,
                outputZeroPoint: Int32, multipliers: [Int32], shifts: [Int], activationMin: Int32 = -128, activationMax: Int32 = 127) {
        self.batches = batches
        self.inputDepth = inputDepth
        self.outputDepth = outputDepth
        self.inputZeroPoint = inputZeroPoint
        self.weightZeroPoint = weightZeroPoint
        self.outputZeroPoint = outputZeroPoint
        self.multipliers = multipliers
        self.shifts = shifts
        self.activationMin = activationMin
        self.activationMax = activationMax
    }
}

public enum FullyConnected {
    /// `input` is [batches, inputDepth], `weights` [outputDepth, inputDepth], `bias` [outputDepth] or nil.
    public static func run(_ p: FullyConnectedParameters, input: [Int8], weights: [Int8], bias: [Int32]?) throws -> [Int8] {
        guard p.batches >= 1, p.inputDepth >= 1, p.outputDepth >= 1, p.batches <= 1 << 24, p.inputDepth <= 1 << 28, p.outputDepth <= 1 << 28 else {
            throw ReferenceError.invalidNetwork("fully connected sizes out of range: \(p)")
        }
        guard input.count == p.batches * p.inputDepth else {
            throw ReferenceError.invalidInput("fully connected input has \(input.count) elements, expected \(p.batches * p.inputDepth)")
        }
        guard weights.count == p.outputDepth * p.inputDepth else {
            throw ReferenceError.invalidNetwork("fully connected weights have \(weights.count) elements, expected \(p.outputDepth * p.inputDepth)")
        }
        if let bias, bias.count != p.outputDepth {
            throw ReferenceError.invalidNetwork("fully connected bias has \(bias.count) elements, expected \(p.outputDepth)")
        }
        guard p.multipliers.count == p.shifts.count, p.multipliers.count == 1 || p.multipliers.count == p.outputDepth else {
            throw ReferenceError.invalidNetwork("fully connected needs 1 or \(p.outputDepth) multipliers, got \(p.multipliers.count)")
        }
        var output = [Int8](repeating: 0, count: p.batches * p.outputDepth)
        let perChannel = p.multipliers.count > 1
        input.withUnsafeBufferPointer { x in
        weights.withUnsafeBufferPointer { w in
            for n in 0 ..< p.batches {
                let xb = x.baseAddress! + n * p.inputDepth
                for o in 0 ..< p.outputDepth {
                    let wo = w.baseAddress! + o * p.inputDepth
                    var acc: Int32 = 0
                    for d in 0 ..< p.inputDepth {
                        acc &+= (Int32(wo[d]) &- p.weightZeroPoint) &* (Int32(xb[d]) &- p.inputZeroPoint)
                    }
                    if let bias { acc &+= bias[o] }
                    let m = perChannel ? o : 0
                    output[n * p.outputDepth + o] = FixedPoint.requantize(
                        acc: acc, multiplier: p.multipliers[m], shift: p.shifts[m], outputZeroPoint: p.outputZeroPoint,
                        min: p.activationMin, max: p.activationMax)
                }
            }
        }}
        return output
    }
}
