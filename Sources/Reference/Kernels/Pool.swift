/// AVERAGE_POOL_2D, bit-exact with `reference_integer_ops::AveragePool`: the sum of the taps inside
/// the image divided by their count, rounding half away from zero, then clamped. Input and output
/// share their quantization, so no rescaling.
public struct PoolParameters: Sendable, Equatable {
    public var batches: Int
    public var inputHeight: Int
    public var inputWidth: Int
    public var channels: Int
    public var outputHeight: Int
    public var outputWidth: Int
    public var filterHeight: Int
    public var filterWidth: Int
    public var strideH: Int
    public var strideW: Int
    public var padTop: Int
    public var padLeft: Int
    public var activationMin: Int32
    public var activationMax: Int32

    public init(batches: Int = 1, inputHeight: Int, inputWidth: Int, channels: Int, filterHeight: Int, filterWidth: Int,
                strideH: Int = 1, strideW: Int = 1, padding: Padding = .valid, activationMin: Int32 = -128, activationMax: Int32 = 127) {
        self.batches = batches
        self.inputHeight = inputHeight
        self.inputWidth = inputWidth
        self.channels = channels
        self.filterHeight = filterHeight
        self.filterWidth = filterWidth
        self.strideH = strideH
        self.strideW = strideW
        outputHeight = WindowGeometry.outputSize(input: inputHeight, kernel: filterHeight, stride: max(strideH, 1), padding: padding)
        outputWidth = WindowGeometry.outputSize(input: inputWidth, kernel: filterWidth, stride: max(strideW, 1), padding: padding)
        padTop = WindowGeometry.padBefore(input: inputHeight, kernel: filterHeight, stride: strideH, output: outputHeight)
        padLeft = WindowGeometry.padBefore(input: inputWidth, kernel: filterWidth, stride: strideW, output: outputWidth)
        self.activationMin = activationMin
        self.activationMax = activationMax
    }

    public var outputShape: [Int] { [batches, outputHeight, outputWidth, channels] }
}

public enum AveragePool2D {
    public static func run(_ p: PoolParameters, input: [Int8]) throws -> [Int8] {
        let dims = [p.batches, p.inputHeight, p.inputWidth, p.channels, p.outputHeight, p.outputWidth,
                    p.filterHeight, p.filterWidth, p.strideH, p.strideW]
        guard dims.allSatisfy({ $0 >= 1 && $0 <= 1 << 24 }), p.padTop >= 0, p.padLeft >= 0 else {
            throw ReferenceError.invalidNetwork("average pool geometry out of range: \(p)")
        }
        guard input.count == p.batches * p.inputHeight * p.inputWidth * p.channels else {
            throw ReferenceError.invalidInput("average pool input has \(input.count) elements, expected \(p.batches * p.inputHeight * p.inputWidth * p.channels)")
        }
        var out = [Int8](repeating: 0, count: p.batches * p.outputHeight * p.outputWidth * p.channels)
        for n in 0 ..< p.batches {
            for oy in 0 ..< p.outputHeight {
                for ox in 0 ..< p.outputWidth {
                    let y0 = oy * p.strideH - p.padTop, x0 = ox * p.strideW - p.padLeft
                    let fy0 = max(0, -y0), fy1 = min(p.filterHeight, p.inputHeight - y0)
                    let fx0 = max(0, -x0), fx1 = min(p.filterWidth, p.inputWidth - x0)
                    for c in 0 ..< p.channels {
                        var acc: Int32 = 0
                        var count: Int32 = 0
                        if fy0 < fy1 && fx0 < fx1 {
                            for fy in fy0 ..< fy1 {
                                for fx in fx0 ..< fx1 {
                                    acc &+= Int32(input[((n * p.inputHeight + y0 + fy) * p.inputWidth + x0 + fx) * p.channels + c])
                                    count += 1
                                }
                            }
                        }
                        // TFLite fails the whole op on an empty window; 0 keeps this total.
                        let avg: Int32 = count == 0 ? 0 : (acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count)
                        out[((n * p.outputHeight + oy) * p.outputWidth + ox) * p.channels + c] =
                            Int8(truncatingIfNeeded: min(max(avg, p.activationMin), p.activationMax))
                    }
                }
            }
        }
        return out
    }
}
