import Dispatch

/// CONV_2D, bit-exact with tflite-micro's `reference_integer_ops::ConvPerChannel`:
/// acc = bias[c] + Σ w * (x - in_zp), then per-channel requantization and clamp. Taps outside the
/// image are skipped, which is what padding with in_zp would give.
public enum Conv2D {
    /// `weights` is [O, KH, KW, I]; `bias` is [O] or nil. Output NHWC.
    public static func run(_ p: ConvParameters, input: [Int8], weights: [Int8], bias: [Int32]?) throws -> [Int8] {
        try p.check(inputCount: input.count, weightCount: weights.count,
                    expectedWeights: p.outputChannels * p.kernelHeight * p.kernelWidth * p.inputChannels, biasCount: bias?.count)
        let kSize = p.kernelHeight * p.kernelWidth * p.inputChannels
        // Widening the weights once lets the inner product compile to 16-bit multiply-adds.
        let w16 = weights.map { Int16($0) }
        let biasValues = bias ?? [Int32](repeating: 0, count: p.outputChannels)
        var output = [Int8](repeating: 0, count: p.outputCount)
        let rows = p.batches * p.outputHeight
        input.withUnsafeBufferPointer { x in
        w16.withUnsafeBufferPointer { w in
        biasValues.withUnsafeBufferPointer { b in
        p.multipliers.withUnsafeBufferPointer { mul in
        p.shifts.withUnsafeBufferPointer { sh in
        output.withUnsafeMutableBufferPointer { out in
            let outBase = out.baseAddress!
            parallelFor(rows) { row in
                let n = row / p.outputHeight, oy = row % p.outputHeight
                // One im2col patch per output pixel, x - zp widened to 16 bits; skipped taps stay 0.
                var patch = [Int16](repeating: 0, count: kSize)
                patch.withUnsafeMutableBufferPointer { patchBuf in
                    let pp = patchBuf.baseAddress!
                    for ox in 0 ..< p.outputWidth {
                        let iy0 = oy * p.strideH - p.padTop, ix0 = ox * p.strideW - p.padLeft
                        var k = 0
                        for ky in 0 ..< p.kernelHeight {
                            let iy = iy0 + ky * p.dilationH
                            for kx in 0 ..< p.kernelWidth {
                                let ix = ix0 + kx * p.dilationW
                                if iy >= 0 && iy < p.inputHeight && ix >= 0 && ix < p.inputWidth {
                                    let src = ((n * p.inputHeight + iy) * p.inputWidth + ix) * p.inputChannels
                                    for c in 0 ..< p.inputChannels {
                                        pp[k + c] = Int16(x[src + c]) &- Int16(truncatingIfNeeded: p.inputZeroPoint)
                                    }
                                } else {
                                    for c in 0 ..< p.inputChannels { pp[k + c] = 0 }
                                }
                                k += p.inputChannels
                            }
                        }
                        let dst = outBase + ((n * p.outputHeight + oy) * p.outputWidth + ox) * p.outputChannels
                        for oc in 0 ..< p.outputChannels {
                            let acc = dot(w.baseAddress! + oc * kSize, pp, kSize) &+ b[oc]
                            dst[oc] = FixedPoint.requantize(acc: acc, multiplier: mul[oc], shift: sh[oc],
                                                            outputZeroPoint: p.outputZeroPoint,
                                                            min: p.activationMin, max: p.activationMax)
                        }
                    }
                }
            }
        }}}}}}
        return output
    }

    /// Σ a*b in int32. x - zp fits 16 bits only for zero points in int8's range, which the
    /// callers guarantee; products and sums wrap as the int32 C code would.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Int16>, _ b: UnsafePointer<Int16>, _ n: Int) -> Int32 {
        var acc: Int32 = 0
        for i in 0 ..< n { acc &+= Int32(a[i]) &* Int32(b[i]) }
        return acc
    }
}
