import Dispatch

/// DEPTHWISE_CONV_2D, bit-exact with tflite-micro's `reference_integer_ops::DepthwiseConvPerChannel`:
/// output channel oc = ic * multiplier + m reads input channel ic; acc = bias[oc] + Σ w * (x - in_zp).
public enum DepthwiseConv2D {
    /// `weights` is [1, KH, KW, O] with O = I * multiplier; `bias` is [O] or nil. Output NHWC.
    public static func run(_ p: ConvParameters, input: [Int8], weights: [Int8], bias: [Int32]?) throws -> [Int8] {
        try p.check(inputCount: input.count, weightCount: weights.count,
                    expectedWeights: p.kernelHeight * p.kernelWidth * p.outputChannels, biasCount: bias?.count)
        guard p.outputChannels % p.inputChannels == 0 else {
            throw ReferenceError.invalidNetwork("depthwise output channels \(p.outputChannels) are not a multiple of input channels \(p.inputChannels)")
        }
        let multiplier = p.outputChannels / p.inputChannels
        let oc = p.outputChannels
        let w32 = weights.map { Int32($0) }
        let biasValues = bias ?? [Int32](repeating: 0, count: oc)
        var output = [Int8](repeating: 0, count: p.outputCount)
        let rows = p.batches * p.outputHeight
        input.withUnsafeBufferPointer { x in
        w32.withUnsafeBufferPointer { w in
        biasValues.withUnsafeBufferPointer { b in
        p.multipliers.withUnsafeBufferPointer { mul in
        p.shifts.withUnsafeBufferPointer { sh in
        output.withUnsafeMutableBufferPointer { out in
            let outBase = out.baseAddress!
            parallelFor(rows) { row in
                let n = row / p.outputHeight, oy = row % p.outputHeight
                var acc = [Int32](repeating: 0, count: oc)
                var xs = [Int32](repeating: 0, count: oc)
                acc.withUnsafeMutableBufferPointer { accBuf in
                xs.withUnsafeMutableBufferPointer { xsBuf in
                    let a = accBuf.baseAddress!, xv = xsBuf.baseAddress!
                    for ox in 0 ..< p.outputWidth {
                        for c in 0 ..< oc { a[c] = b[c] }
                        let iy0 = oy * p.strideH - p.padTop, ix0 = ox * p.strideW - p.padLeft
                        for ky in 0 ..< p.kernelHeight {
                            let iy = iy0 + ky * p.dilationH
                            if iy < 0 || iy >= p.inputHeight { continue }
                            for kx in 0 ..< p.kernelWidth {
                                let ix = ix0 + kx * p.dilationW
                                if ix < 0 || ix >= p.inputWidth { continue }
                                let src = x.baseAddress! + ((n * p.inputHeight + iy) * p.inputWidth + ix) * p.inputChannels
                                // Spread the input pixel over output channels once, so the multiply-add is contiguous.
                                if multiplier == 1 {
                                    for c in 0 ..< oc { xv[c] = Int32(src[c]) &- p.inputZeroPoint }
                                } else {
                                    for c in 0 ..< oc { xv[c] = Int32(src[c / multiplier]) &- p.inputZeroPoint }
                                }
                                let wk = w.baseAddress! + (ky * p.kernelWidth + kx) * oc
                                for c in 0 ..< oc { a[c] &+= wk[c] &* xv[c] }
                            }
                        }
                        let dst = outBase + ((n * p.outputHeight + oy) * p.outputWidth + ox) * oc
                        for c in 0 ..< oc {
                            dst[c] = FixedPoint.requantize(acc: a[c], multiplier: mul[c], shift: sh[c],
                                                           outputZeroPoint: p.outputZeroPoint,
                                                           min: p.activationMin, max: p.activationMax)
                        }
                    }
                }}
            }
        }}}}}}
        return output
    }
}
