import Reference
import XCTest

/// Each kernel against a slow loop written here from the definition: explicit padding with the
/// input zero point, 64-bit accumulators, no shared code with the kernel but the fixed-point
/// requantization (tested on its own in FixedPointTests). Random geometries from a fixed seed.
final class KernelPropertyTests: XCTestCase {
    var rng = SplitMix64(seed: 2024)

    func int(_ r: ClosedRange<Int>) -> Int { Int.random(in: r, using: &rng) }
    func bytes(_ n: Int) -> [Int8] { (0 ..< n).map { _ in Int8.random(in: -128 ... 127, using: &rng) } }
    func multiplier() -> (Int32, Int) { FixedPoint.quantizeMultiplier(Double.random(in: 1e-5 ... 0.9, using: &rng)) }

    /// Pads NHWC `x` by (top, bottom, left, right) with `value`.
    func padded(_ x: [Int8], _ n: Int, _ h: Int, _ w: Int, _ c: Int, _ t: Int, _ b: Int, _ l: Int, _ r: Int, _ value: Int8) -> [Int8] {
        let ph = h + t + b, pw = w + l + r
        var out = [Int8](repeating: value, count: n * ph * pw * c)
        for i in 0 ..< n { for y in 0 ..< h { for xx in 0 ..< w { for k in 0 ..< c {
            out[((i * ph + y + t) * pw + xx + l) * c + k] = x[((i * h + y) * w + xx) * c + k]
        } } } }
        return out
    }

    /// SAME padding split from the definition: total = max((out-1)*s + (k-1)*d + 1 - in, 0), extra one at the end.
    func samePadding(_ input: Int, _ k: Int, _ s: Int, _ d: Int) -> (Int, Int, Int) {
        let out = (input + s - 1) / s
        let total = max((out - 1) * s + (k - 1) * d + 1 - input, 0)
        return (out, total / 2, total - total / 2)
    }

    func testConv2DMatchesASlowLoopOverPaddedInput() throws {
        for _ in 0 ..< 150 {
            let n = int(1 ... 2), h = int(1 ... 9), w = int(1 ... 9), c = int(1 ... 5), o = int(1 ... 6)
            let kh = int(1 ... 4), kw = int(1 ... 4), sh = int(1 ... 3), sw = int(1 ... 3), dh = int(1 ... 2), dw = int(1 ... 2)
            let padding: Padding = Bool.random(using: &rng) ? .same : .valid
            let (oh, pt, pb) = padding == .same ? samePadding(h, kh, sh, dh) : ((h - (kh - 1) * dh - 1) / sh + 1, 0, 0)
            let (ow, pl, pr) = padding == .same ? samePadding(w, kw, sw, dw) : ((w - (kw - 1) * dw - 1) / sw + 1, 0, 0)
            guard h >= (kh - 1) * dh + 1 || padding == .same, w >= (kw - 1) * dw + 1 || padding == .same else { continue }
            let x = bytes(n * h * w * c), wts = bytes(o * kh * kw * c)
            let bias = (0 ..< o).map { _ in Int32.random(in: -60000 ... 60000, using: &rng) }
            let m = (0 ..< o).map { _ in multiplier() }
            let zpIn = Int32(int(-128 ... 127)), zpOut = Int32(int(-128 ... 127))
            let lo = Int32(int(-128 ... 0)), hi = Int32(int(0 ... 127))
            let p = try ConvParameters(input: [n, h, w, c], outputChannels: o, kernelHeight: kh, kernelWidth: kw,
                                       options: ConvOptions(strideH: sh, strideW: sw, dilationH: dh, dilationW: dw, padding: padding),
                                       inputZeroPoint: zpIn, outputZeroPoint: zpOut, multipliers: m.map(\.0), shifts: m.map(\.1),
                                       activationMin: lo, activationMax: hi)
            XCTAssertEqual([p.outputHeight, p.outputWidth], [oh, ow])
            let got = try Conv2D.run(p, input: x, weights: wts, bias: bias)
            let xp = padded(x, n, h, w, c, pt, pb, pl, pr, Int8(zpIn))
            let ph = h + pt + pb, pw = w + pl + pr
            var want = [Int8]()
            for i in 0 ..< n { for y in 0 ..< oh { for xx in 0 ..< ow { for oc in 0 ..< o {
                var acc = Int64(bias[oc])
                for ky in 0 ..< kh { for kx in 0 ..< kw { for ic in 0 ..< c {
                    let v = Int64(xp[((i * ph + y * sh + ky * dh) * pw + xx * sw + kx * dw) * c + ic]) - Int64(zpIn)
                    acc += Int64(wts[((oc * kh + ky) * kw + kx) * c + ic]) * v
                } } }
                want.append(FixedPoint.requantize(acc: Int32(acc), multiplier: m[oc].0, shift: m[oc].1, outputZeroPoint: zpOut, min: lo, max: hi))
            } } } }
            XCTAssertEqual(got, want, "conv \(p)")
        }
    }

    func testDepthwiseConv2DWithDepthMultiplierMatchesASlowLoop() throws {
        for _ in 0 ..< 150 {
            let n = int(1 ... 2), h = int(1 ... 9), w = int(1 ... 9), c = int(1 ... 5), mult = int(1 ... 3)
            let kh = int(1 ... 5), kw = int(1 ... 5), sh = int(1 ... 3), sw = int(1 ... 3)
            let o = c * mult
            let (oh, pt, pb) = samePadding(h, kh, sh, 1)
            let (ow, pl, pr) = samePadding(w, kw, sw, 1)
            let x = bytes(n * h * w * c), wts = bytes(kh * kw * o)
            let bias = Bool.random(using: &rng) ? (0 ..< o).map { _ in Int32.random(in: -60000 ... 60000, using: &rng) } : nil
            let m = (0 ..< o).map { _ in multiplier() }
            let zpIn = Int32(int(-128 ... 127)), zpOut = Int32(int(-128 ... 127))
            let p = try ConvParameters(input: [n, h, w, c], outputChannels: o, kernelHeight: kh, kernelWidth: kw,
                                       options: ConvOptions(strideH: sh, strideW: sw, padding: .same),
                                       inputZeroPoint: zpIn, outputZeroPoint: zpOut, multipliers: m.map(\.0), shifts: m.map(\.1),
                                       activationMin: -128, activationMax: 127)
            let got = try DepthwiseConv2D.run(p, input: x, weights: wts, bias: bias)
            let xp = padded(x, n, h, w, c, pt, pb, pl, pr, Int8(zpIn))
            let ph = h + pt + pb, pw = w + pl + pr
            var want = [Int8]()
            for i in 0 ..< n { for y in 0 ..< oh { for xx in 0 ..< ow { for oc in 0 ..< o {
                var acc = Int64(bias?[oc] ?? 0)
                for ky in 0 ..< kh { for kx in 0 ..< kw {
                    let v = Int64(xp[((i * ph + y * sh + ky) * pw + xx * sw + kx) * c + oc / mult]) - Int64(zpIn)
                    acc += Int64(wts[(ky * kw + kx) * o + oc]) * v
                } }
                want.append(FixedPoint.requantize(acc: Int32(acc), multiplier: m[oc].0, shift: m[oc].1, outputZeroPoint: zpOut, min: -128, max: 127))
            } } } }
            XCTAssertEqual(got, want, "depthwise \(p)")
        }
    }

    func testFullyConnectedPerTensorAndPerChannelMatchASlowLoop() throws {
        for trial in 0 ..< 100 {
            let batches = int(1 ... 3), depth = int(1 ... 40), outputs = int(1 ... 12)
            let perChannel = trial % 2 == 0
            let x = bytes(batches * depth), wts = bytes(outputs * depth)
            let bias = (0 ..< outputs).map { _ in Int32.random(in: -60000 ... 60000, using: &rng) }
            let m = (0 ..< (perChannel ? outputs : 1)).map { _ in multiplier() }
            let zpIn = Int32(int(-128 ... 127)), zpW = perChannel ? 0 : Int32(int(-5 ... 5)), zpOut = Int32(int(-128 ... 127))
            let p = FullyConnectedParameters(batches: batches, inputDepth: depth, outputDepth: outputs, inputZeroPoint: zpIn,
                                             weightZeroPoint: zpW, outputZeroPoint: zpOut, multipliers: m.map(\.0), shifts: m.map(\.1))
            let got = try FullyConnected.run(p, input: x, weights: wts, bias: bias)
            var want = [Int8]()
            for b in 0 ..< batches { for o in 0 ..< outputs {
                var acc = Int64(bias[o])
                for d in 0 ..< depth { acc += (Int64(wts[o * depth + d]) - Int64(zpW)) * (Int64(x[b * depth + d]) - Int64(zpIn)) }
                let k = perChannel ? o : 0
                want.append(FixedPoint.requantize(acc: Int32(acc), multiplier: m[k].0, shift: m[k].1, outputZeroPoint: zpOut, min: -128, max: 127))
            } }
            XCTAssertEqual(got, want)
        }
    }

    func testAveragePoolDividesBySumOfValidTapsRoundingHalfAwayFromZero() throws {
        for _ in 0 ..< 100 {
            let n = int(1 ... 2), h = int(1 ... 9), w = int(1 ... 9), c = int(1 ... 4)
            let fh = int(1 ... 5), fw = int(1 ... 5), sh = int(1 ... 3), sw = int(1 ... 3)
            let padding: Padding = Bool.random(using: &rng) ? .same : .valid
            guard padding == .same || (h >= fh && w >= fw) else { continue }
            let x = bytes(n * h * w * c)
            let p = PoolParameters(batches: n, inputHeight: h, inputWidth: w, channels: c, filterHeight: fh, filterWidth: fw,
                                   strideH: sh, strideW: sw, padding: padding, activationMin: -100, activationMax: 120)
            let got = try AveragePool2D.run(p, input: x)
            let (oh, pt, _) = padding == .same ? samePadding(h, fh, sh, 1) : ((h - fh) / sh + 1, 0, 0)
            let (ow, pl, _) = padding == .same ? samePadding(w, fw, sw, 1) : ((w - fw) / sw + 1, 0, 0)
            var want = [Int8]()
            for i in 0 ..< n { for y in 0 ..< oh { for xx in 0 ..< ow { for k in 0 ..< c {
                var sum = 0, count = 0
                for fy in 0 ..< fh { for fx in 0 ..< fw {
                    let iy = y * sh - pt + fy, ix = xx * sw - pl + fx
                    if iy >= 0 && iy < h && ix >= 0 && ix < w { sum += Int(x[((i * h + iy) * w + ix) * c + k]); count += 1 }
                } }
                // Half away from zero: sign * floor((2|sum| + count) / (2 count)).
                let avg = (sum < 0 ? -1 : 1) * ((2 * abs(sum) + count) / (2 * count))
                want.append(Int8(min(max(avg, -100), 120)))
            } } } }
            XCTAssertEqual(got, want, "pool \(p)")
        }
    }

    func testAddIsWithinOneOfTheRealSum() throws {
        for _ in 0 ..< 50 {
            let s1 = Float.random(in: 0.001 ... 0.2, using: &rng), s2 = Float.random(in: 0.001 ... 0.2, using: &rng)
            let so = Float.random(in: 0.01 ... 0.3, using: &rng) * max(s1, s2) * 5
            let z1 = Int32(int(-128 ... 127)), z2 = Int32(int(-128 ... 127)), zo = Int32(int(-128 ... 127))
            let p = try AddParameters(input1Scale: s1, input1ZeroPoint: z1, input2Scale: s2, input2ZeroPoint: z2, outputScale: so, outputZeroPoint: zo)
            let a = bytes(64), b = bytes(64)
            let got = try Add.run(p, a, b)
            for i in 0 ..< 64 {
                let real = (Double(s1) * Double(Int32(a[i]) - z1) + Double(s2) * Double(Int32(b[i]) - z2)) / Double(so) + Double(zo)
                let want = min(max(real.rounded(), -128), 127)
                XCTAssertLessThanOrEqual(abs(Double(got[i]) - want), 1, "add \(a[i]) + \(b[i]) with \(p)")
            }
        }
    }

    func testMeanOverHeightAndWidthIsWithinOneOfTheRealMean() throws {
        for _ in 0 ..< 50 {
            let n = int(1 ... 2), h = int(1 ... 8), w = int(1 ... 8), c = int(1 ... 6)
            let si = Float.random(in: 0.01 ... 0.2, using: &rng), so = si * Float.random(in: 0.5 ... 2, using: &rng)
            let zi = Int32(int(-128 ... 127)), zo = Int32(int(-128 ... 127))
            let x = bytes(n * h * w * c)
            let got = try Mean.run(MeanParameters(inputShape: [n, h, w, c], axes: [1, 2], inputScale: si, inputZeroPoint: zi,
                                                  outputScale: so, outputZeroPoint: zo), input: x)
            XCTAssertEqual(got.count, n * c)
            for i in 0 ..< n { for k in 0 ..< c {
                var sum = 0
                for p in 0 ..< h * w { sum += Int(x[(i * h * w + p) * c + k]) - Int(zi) }
                let real = Double(sum) / Double(h * w) * Double(si) / Double(so) + Double(zo)
                XCTAssertLessThanOrEqual(abs(Double(got[i * c + k]) - min(max(real.rounded(), -128), 127)), 1)
            } }
        }
    }

    func testPadPlacesTheInputInsideABorderOfTheZeroPoint() throws {
        for _ in 0 ..< 50 {
            let shape = [int(1 ... 2), int(1 ... 5), int(1 ... 5), int(1 ... 3)]
            let pads = shape.map { _ in (before: int(0 ... 2), after: int(0 ... 2)) }
            let x = bytes(shape.reduce(1, *))
            let got = try Layout.pad(x, shape: shape, paddings: pads, value: -7)
            let os = zip(shape, pads).map { $0 + $1.before + $1.after }
            var want = [Int8](repeating: -7, count: os.reduce(1, *))
            for a in 0 ..< shape[0] { for b in 0 ..< shape[1] { for c in 0 ..< shape[2] { for d in 0 ..< shape[3] {
                let dst = (((a + pads[0].before) * os[1] + b + pads[1].before) * os[2] + c + pads[2].before) * os[3] + d + pads[3].before
                want[dst] = x[((a * shape[1] + b) * shape[2] + c) * shape[3] + d]
            } } } }
            XCTAssertEqual(got, want)
        }
    }

    func testTransposeNCHWToNHWCMovesEveryElement() throws {
        let (n, c, h, w) = (2, 3, 4, 5)
        let x = bytes(n * c * h * w)
        let got = try Layout.transpose(x, shape: [n, c, h, w], perm: [0, 2, 3, 1])
        for a in 0 ..< n { for k in 0 ..< c { for y in 0 ..< h { for xx in 0 ..< w {
            XCTAssertEqual(got[((a * h + y) * w + xx) * c + k], x[((a * c + k) * h + y) * w + xx])
        } } } }
    }

    func testSoftmaxIsWithinOneOfTheRealSoftmax() throws {
        for _ in 0 ..< 50 {
            let depth = int(2 ... 20), scale = Float.random(in: 0.01 ... 0.5, using: &rng)
            let x = bytes(depth)
            let got = try Softmax.run(SoftmaxParameters(beta: 1, inputScale: Double(scale)), input: x, depth: depth)
            let e = x.map { exp(Double(scale) * Double(Int($0) - Int(x.max()!))) }
            let total = e.reduce(0, +)
            for i in 0 ..< depth {
                let want = min(max((e[i] / total * 256).rounded() - 128, -128), 127)
                XCTAssertLessThanOrEqual(abs(Double(got[i]) - want), 1, "softmax \(x) scale \(scale)")
            }
        }
    }

    func testKernelsRejectArraysOfTheWrongSizeInsteadOfTrapping() throws {
        let p = try ConvParameters(input: [1, 4, 4, 2], outputChannels: 3, kernelHeight: 3, kernelWidth: 3, options: ConvOptions(),
                                   inputZeroPoint: 0, outputZeroPoint: 0, multipliers: [1, 1, 1], shifts: [0, 0, 0], activationMin: -128, activationMax: 127)
        XCTAssertThrowsError(try Conv2D.run(p, input: bytes(31), weights: bytes(54), bias: nil))
        XCTAssertThrowsError(try Conv2D.run(p, input: bytes(32), weights: bytes(53), bias: nil))
        XCTAssertThrowsError(try Conv2D.run(p, input: bytes(32), weights: bytes(54), bias: [1, 2]))
        XCTAssertThrowsError(try Add.run(try AddParameters(input1Scale: 1, input1ZeroPoint: 0, input2Scale: 1, input2ZeroPoint: 0, outputScale: 1, outputZeroPoint: 0), bytes(3), bytes(4)))
    }
}
