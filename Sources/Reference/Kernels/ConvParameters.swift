/// Output size and padding of a strided window, as TFLite computes them.
public enum WindowGeometry {
    /// SAME: ceil(in / stride); VALID: ceil((in - effective kernel + 1) / stride).
    public static func outputSize(input: Int, kernel: Int, stride: Int, dilation: Int = 1, padding: Padding) -> Int {
        let effective = (kernel - 1) * dilation + 1
        switch padding {
        case .same: return (input + stride - 1) / stride
        case .valid: return (input - effective + stride) / stride
        }
    }

    /// Padding before the first row/column. The total is max((out-1)*stride + k_eff - in, 0) and
    /// the odd one goes after (bottom/right), as in TFLite's `ComputePaddingWithOffset`.
    public static func padBefore(input: Int, kernel: Int, stride: Int, dilation: Int = 1, output: Int) -> Int {
        let effective = (kernel - 1) * dilation + 1
        return max((output - 1) * stride + effective - input, 0) / 2
    }
}

/// Everything a CONV_2D or DEPTHWISE_CONV_2D kernel needs, checked once so the hot loops need no
/// further bounds checks. Multipliers and shifts are per output channel.
public struct ConvParameters: Sendable, Equatable {
    public var batches: Int
    public var inputHeight: Int
    public var inputWidth: Int
    public var inputChannels: Int
    public var outputHeight: Int
    public var outputWidth: Int
    public var outputChannels: Int
    public var kernelHeight: Int
    public var kernelWidth: Int
    public var strideH: Int
    public var strideW: Int
    public var dilationH: Int
    public var dilationW: Int
    public var padTop: Int
    public var padLeft: Int
    public var inputZeroPoint: Int32
    public var outputZeroPoint: Int32
    public var multipliers: [Int32]
    public var shifts: [Int]
    public var activationMin: Int32
    public var activationMax: Int32

    public init(batches: Int = 1, inputHeight: Int, inputWidth: Int, inputChannels: Int,
                outputHeight: Int, outputWidth: Int, outputChannels: Int,
                kernelHeight: Int, kernelWidth: Int, strideH: Int = 1, strideW: Int = 1,
                dilationH: Int = 1, dilationW: Int = 1, padTop: Int = 0, padLeft: Int = 0,
                inputZeroPoint: Int32, outputZeroPoint: Int32, multipliers: [Int32], shifts: [Int],
                activationMin: Int32 = -128, activationMax: Int32 = 127) {
        self.batches = batches
        self.inputHeight = inputHeight
        self.inputWidth = inputWidth
        self.inputChannels = inputChannels
        self.outputHeight = outputHeight
        self.outputWidth = outputWidth
        self.outputChannels = outputChannels
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.strideH = strideH
        self.strideW = strideW
        self.dilationH = dilationH
        self.dilationW = dilationW
        self.padTop = padTop
        self.padLeft = padLeft
        self.inputZeroPoint = inputZeroPoint
        self.outputZeroPoint = outputZeroPoint
        self.multipliers = multipliers
        self.shifts = shifts
        self.activationMin = activationMin
        self.activationMax = activationMax
    }

    /// Geometry from an input shape, kernel size and TFLite options (SAME/VALID, strides, dilation).
    public init(input: [Int], outputChannels: Int, kernelHeight: Int, kernelWidth: Int, options: ConvOptions,
                inputZeroPoint: Int32, outputZeroPoint: Int32, multipliers: [Int32], shifts: [Int],
                activationMin: Int32, activationMax: Int32) throws {
        guard input.count == 4 else { throw ReferenceError.invalidNetwork("convolution input must be NHWC, got shape \(input)") }
        guard options.strideH >= 1, options.strideW >= 1, options.dilationH >= 1, options.dilationW >= 1 else {
            throw ReferenceError.invalidNetwork("convolution strides and dilations must be at least 1, got \(options)")
        }
        let oh = WindowGeometry.outputSize(input: input[1], kernel: kernelHeight, stride: options.strideH, dilation: options.dilationH, padding: options.padding)
        let ow = WindowGeometry.outputSize(input: input[2], kernel: kernelWidth, stride: options.strideW, dilation: options.dilationW, padding: options.padding)
        self.init(batches: input[0], inputHeight: input[1], inputWidth: input[2], inputChannels: input[3],
                  outputHeight: oh, outputWidth: ow, outputChannels: outputChannels,
                  kernelHeight: kernelHeight, kernelWidth: kernelWidth,
                  strideH: options.strideH, strideW: options.strideW, dilationH: options.dilationH, dilationW: options.dilationW,
                  padTop: WindowGeometry.padBefore(input: input[1], kernel: kernelHeight, stride: options.strideH, dilation: options.dilationH, output: oh),
                  padLeft: WindowGeometry.padBefore(input: input[2], kernel: kernelWidth, stride: options.strideW, dilation: options.dilationW, output: ow),
                  inputZeroPoint: inputZeroPoint, outputZeroPoint: outputZeroPoint, multipliers: multipliers, shifts: shifts,
                  activationMin: activationMin, activationMax: activationMax)
    }

    public var inputCount: Int { batches * inputHeight * inputWidth * inputChannels }
    public var outputCount: Int { batches * outputHeight * outputWidth * outputChannels }
    public var outputShape: [Int] { [batches, outputHeight, outputWidth, outputChannels] }

    /// Throws unless every size is positive and the arrays have the sizes the kernel will index.
    func check(inputCount n: Int, weightCount: Int, expectedWeights: Int, biasCount: Int?) throws {
        let dims = [batches, inputHeight, inputWidth, inputChannels, outputHeight, outputWidth, outputChannels,
                    kernelHeight, kernelWidth, strideH, strideW, dilationH, dilationW]
        guard dims.allSatisfy({ $0 >= 1 && $0 <= 1 << 24 }), padTop >= 0, padLeft >= 0 else {
            throw ReferenceError.invalidNetwork("convolution geometry out of range: \(self)")
        }
        guard (-128 ... 127).contains(inputZeroPoint) else {
            throw ReferenceError.unsupported("convolution input zero point \(inputZeroPoint) is outside int8")
        }
        guard n == inputCount else { throw ReferenceError.invalidInput("convolution input has \(n) elements, expected \(inputCount)") }
        guard weightCount == expectedWeights else {
            throw ReferenceError.invalidNetwork("convolution weights have \(weightCount) elements, expected \(expectedWeights)")
        }
        if let b = biasCount, b != outputChannels {
            throw ReferenceError.invalidNetwork("convolution bias has \(b) elements, expected \(outputChannels)")
        }
        guard multipliers.count == outputChannels, shifts.count == outputChannels else {
            throw ReferenceError.invalidNetwork("convolution needs \(outputChannels) multipliers, got \(multipliers.count)")
        }
        guard outputCount <= 1 << 31 else { throw ReferenceError.invalidNetwork("convolution output too large") }
    }
}
