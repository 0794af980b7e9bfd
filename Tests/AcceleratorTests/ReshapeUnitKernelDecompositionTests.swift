import Accelerator
import Reference
import XCTest

/// Kernels other than 3×3 as 3×3 pieces on the reshape unit: the sum over pieces of the unit's
/// windows (modelled slowly here) times the piece weights is the full convolution, compared with a
/// direct int32 loop and, requantized, with Reference's CONV_2D and DEPTHWISE_CONV_2D.
final class ReshapeUnitKernelDecompositionTests: XCTestCase {
    func testPiecesCoverEveryTapOnceAndAreCentred() throws {
        for (kh, kw) in [(1, 1), (3, 3), (5, 5), (10, 4), (1, 7), (7, 1), (2, 2), (4, 6)] {
            let pieces = try KernelDecomposition.pieces(kernelHeight: kh, kernelWidth: kw)
            XCTAssertEqual(pieces.count, ((kh + 2) / 3) * ((kw + 2) / 3), "\(kh)×\(kw)")
            var seen = [Int](repeating: 0, count: kh * kw)
            for p in pieces {
                for k in 0 ..< 9 { if let t = p.kernelTap(row: k / 3, column: k % 3) { seen[t.row * kw + t.column] += 1 } }
            }
            XCTAssertEqual(seen, [Int](repeating: 1, count: kh * kw), "\(kh)×\(kw): every tap in exactly one piece")
        }
        XCTAssertEqual(KernelDecomposition.tileOffsets(10), [-1, 2, 5, 8])
        XCTAssertEqual(KernelDecomposition.tileOffsets(5), [0, 3])
        XCTAssertEqual(KernelDecomposition.tileOffsets(4), [-1, 2])
        XCTAssertEqual(KernelDecomposition.tileOffsets(1), [-1])
        let one = try KernelDecomposition.pieces(kernelHeight: 1, kernelWidth: 1)[0]
        XCTAssertEqual(one.weights(from: [7], zero: 0), [0, 0, 0, 0, 7, 0, 0, 0, 0], "1×1 is the centre tap")
        let row = try KernelDecomposition.pieces(kernelHeight: 1, kernelWidth: 3)[0]
        XCTAssertEqual(row.weights(from: [1, 2, 3], zero: 0), [0, 0, 0, 1, 2, 3, 0, 0, 0], "1×3 is the middle row")
    }

    func testThreeByThreeViewsAreTheNativeLayers() throws {
        let piece = try KernelDecomposition.pieces(kernelHeight: 3, kernelWidth: 3)[0]
        // SAME stride 1: the whole map, padding 1 all round, nothing from the loader.
        let same1 = try XCTUnwrap(KernelDecomposition.view(of: piece, inputHeight: 7, inputWidth: 6, stride: 1, padTop: 1, padLeft: 1,
                                                           outputHeight: 7, outputWidth: 6))
        XCTAssertEqual(same1, ReshapeView(firstRow: 0, rows: 7, firstColumn: 0, columns: 6, zeroRowsAbove: 0, zeroRowsBelow: 0,
                                          zeroColumnsLeft: 0, zeroColumnsRight: 0, padTop: true, padBottom: true, padLeft: true,
                                          padRight: true, stride2: false))
        // SAME stride 2 on even sizes: 0 before, 1 after.
        let same2 = try XCTUnwrap(KernelDecomposition.view(of: piece, inputHeight: 8, inputWidth: 8, stride: 2, padTop: 0, padLeft: 0,
                                                           outputHeight: 4, outputWidth: 4))
        XCTAssertEqual([same2.padTop, same2.padBottom, same2.padLeft, same2.padRight], [false, true, false, true])
        XCTAssertEqual([same2.rows, same2.columns, same2.zeroRowsBelow], [8, 8, 0])
    }

    /// KWS's 10×4 stride-2 SAME convolution on 49×10 (4 rows top, 5 bottom, 1 left, 1 right), by hand.
    func testKeywordSpottingFirstLayerViews() throws {
        let pieces = try KernelDecomposition.pieces(kernelHeight: 10, kernelWidth: 4)
        func view(_ p: KernelPiece) throws -> ReshapeView? {
            try KernelDecomposition.view(of: p, inputHeight: 49, inputWidth: 10, stride: 2, padTop: 4, padLeft: 1, outputHeight: 25, outputWidth: 5)
        }
        // Rows −5 ... 45 (5 above the image: 4 from the loader, 1 from the unit), columns −2 ... 8.
        let first = try XCTUnwrap(view(pieces[0]))
        XCTAssertEqual(first, ReshapeView(firstRow: 0, rows: 46, firstColumn: 0, columns: 9, zeroRowsAbove: 4, zeroRowsBelow: 0,
                                          zeroColumnsLeft: 1, zeroColumnsRight: 0, padTop: true, padBottom: false, padLeft: true,
                                          padRight: false, stride2: true))
        // Rows 4 ... 54 (6 below: 5 from the loader, 1 from the unit), columns 1 ... 11.
        let last = try XCTUnwrap(view(pieces[7]))
        XCTAssertEqual(last, ReshapeView(firstRow: 4, rows: 45, firstColumn: 1, columns: 9, zeroRowsAbove: 0, zeroRowsBelow: 5,
                                         zeroColumnsLeft: 0, zeroColumnsRight: 1, padTop: false, padBottom: true, padLeft: false,
                                         padRight: true, stride2: true))
        for p in pieces {
            let v = try XCTUnwrap(view(p))
            XCTAssertEqual(ReshapeUnit.outputSize(v.streamedHeight, padBefore: v.padTop, padAfter: v.padBottom, stride2: true), 25)
            XCTAssertEqual(ReshapeUnit.outputSize(v.streamedWidth, padBefore: v.padLeft, padAfter: v.padRight, stride2: true), 5)
        }
    }

    func testPiecesSumToTheFullConvolution() throws {
        var rng = DecompositionRandom(state: 21)
        let cases: [(kh: Int, kw: Int, stride: Int, padding: Padding)] = [
            (10, 4, 2, .same), (10, 4, 1, .valid), (5, 5, 1, .same), (5, 5, 2, .same), (1, 7, 1, .same), (7, 1, 2, .same),
            (3, 3, 1, .same), (3, 3, 2, .same), (3, 3, 2, .valid), (1, 1, 1, .valid), (1, 1, 2, .valid), (2, 2, 1, .same),
            (4, 4, 2, .same), (6, 6, 1, .valid), (9, 2, 2, .valid),
        ]
        for c in cases {
            for trial in 0 ..< 3 {
                let (h, w): (Int, Int)
                if c.kh == 10 && trial == 0 { (h, w) = (49, 10) }  // KWS
                else if c.padding == .valid { (h, w) = (c.kh + rng.below(7), c.kw + rng.below(7)) }
                else { (h, w) = (1 + rng.below(11), 1 + rng.below(11)) }
                try checkConvolution(kh: c.kh, kw: c.kw, stride: c.stride, padding: c.padding, height: h, width: w, depthwise: false, rng: &rng)
            }
        }
    }

    func testPiecesSumToTheFullDepthwiseConvolution() throws {
        var rng = DecompositionRandom(state: 22)
        for (kh, kw, stride, padding) in [(5, 5, 1, Padding.same), (5, 5, 2, .same), (5, 5, 1, .valid), (3, 3, 2, .same), (7, 7, 2, .same)] {
            for _ in 0 ..< 3 {
                let h = kh + rng.below(8), w = kw + rng.below(8)
                try checkConvolution(kh: kh, kw: kw, stride: stride, padding: padding, height: h, width: w, depthwise: true, rng: &rng)
            }
        }
    }

    func testBadArgumentsThrowOneClearLine() {
        XCTAssertThrowsError(try KernelDecomposition.pieces(kernelHeight: 0, kernelWidth: 3)) { e in
            XCTAssertEqual("\(e)", "kernel height 0: must be 1 to 64")
        }
        let piece = KernelPiece(kernelHeight: 3, kernelWidth: 3, rowOffset: 0, columnOffset: 0)
        XCTAssertThrowsError(try KernelDecomposition.view(of: piece, inputHeight: 9, inputWidth: 9, stride: 3, padTop: 0, padLeft: 0,
                                                          outputHeight: 3, outputWidth: 3)) { e in
            XCTAssertEqual("\(e)", "stride 3: the reshape unit makes windows at stride 1 or 2")
        }
    }

    private func checkConvolution(kh: Int, kw: Int, stride: Int, padding: Padding, height h: Int, width w: Int, depthwise: Bool,
                                  rng: inout DecompositionRandom) throws {
        let ic = 1 + rng.below(3), oc = depthwise ? ic : 1 + rng.below(3)
        let oh = WindowGeometry.outputSize(input: h, kernel: kh, stride: stride, padding: padding)
        let ow = WindowGeometry.outputSize(input: w, kernel: kw, stride: stride, padding: padding)
        let pt = WindowGeometry.padBefore(input: h, kernel: kh, stride: stride, output: oh)
        let pl = WindowGeometry.padBefore(input: w, kernel: kw, stride: stride, output: ow)
        let zp = rng.below(256) - 128
        let input = (0 ..< h * w * ic).map { _ in Int8(truncatingIfNeeded: rng.below(256)) }
        let weights = (0 ..< (depthwise ? 1 : oc) * kh * kw * ic).map { _ in Int8(truncatingIfNeeded: rng.below(256)) }
        let bias = (0 ..< oc).map { _ in Int32(rng.below(20001) - 10000) }
        let quantized = (0 ..< oc).map { _ in FixedPoint.quantizeMultiplier(0.0005 + Double(rng.below(1000)) * 0.00002) }
        let context = "\(depthwise ? "depthwise " : "")\(kh)×\(kw) stride \(stride) \(padding) on \(h)×\(w)×\(ic)"

        func x(_ y: Int, _ xx: Int, _ c: Int) -> Int { Int(input[(y * w + xx) * ic + c]) }
        // Weight of kernel tap (ky, kx) from input channel i to output channel o.
        func weight(_ ky: Int, _ kx: Int, _ i: Int, _ o: Int) -> Int {
            if depthwise { return i == o ? Int(weights[(ky * kw + kx) * oc + o]) : 0 }
            return Int(weights[((o * kh + ky) * kw + kx) * ic + i])
        }

        // Direct: acc = bias + Σ w (x − zp) over taps inside the image.
        var direct = [Int](repeating: 0, count: oh * ow * oc)
        for oy in 0 ..< oh { for ox in 0 ..< ow { for o in 0 ..< oc {
            var acc = Int(bias[o])
            for ky in 0 ..< kh { for kx in 0 ..< kw {
                let iy = oy * stride - pt + ky, ix = ox * stride - pl + kx
                guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                for i in 0 ..< ic { acc += weight(ky, kx, i, o) * (x(iy, ix, i) - zp) }
            }}
            direct[(oy * ow + ox) * oc + o] = acc
        }}}

        // Pieces: the stream the loader would send, windowed as the reshape unit does.
        var summed = (0 ..< oh * ow * oc).map { Int(bias[$0 % oc]) }
        for piece in try KernelDecomposition.pieces(kernelHeight: kh, kernelWidth: kw) {
            guard let v = try KernelDecomposition.view(of: piece, inputHeight: h, inputWidth: w, stride: stride, padTop: pt, padLeft: pl,
                                                       outputHeight: oh, outputWidth: ow) else { continue }
            let sh = v.streamedHeight, sw = v.streamedWidth
            func streamed(_ r: Int, _ c: Int, _ ch: Int) -> Int {
                let iy = r - v.zeroRowsAbove, ix = c - v.zeroColumnsLeft
                guard iy >= 0, iy < v.rows, ix >= 0, ix < v.columns else { return zp }
                return x(v.firstRow + iy, v.firstColumn + ix, ch)
            }
            let uh = ReshapeUnit.outputSize(sh, padBefore: v.padTop, padAfter: v.padBottom, stride2: v.stride2)
            let uw = ReshapeUnit.outputSize(sw, padBefore: v.padLeft, padAfter: v.padRight, stride2: v.stride2)
            XCTAssertEqual([uh, uw], [oh, ow], "\(context), \(piece): the unit's windows are the output pixels")
            guard uh == oh, uw == ow else { return }
            for oy in 0 ..< oh { for ox in 0 ..< ow {
                for k in 0 ..< 9 {
                    guard let t = piece.kernelTap(row: k / 3, column: k % 3) else { continue }
                    let r = oy * stride - (v.padTop ? 1 : 0) + k / 3, c = ox * stride - (v.padLeft ? 1 : 0) + k % 3
                    let inside = r >= 0 && r < sh && c >= 0 && c < sw
                    for o in 0 ..< oc { for i in 0 ..< ic {
                        summed[(oy * ow + ox) * oc + o] += weight(t.row, t.column, i, o) * ((inside ? streamed(r, c, i) : zp) - zp)
                    }}
                }
            }}
        }
        XCTAssertEqual(summed, direct, "\(context): Σ pieces = direct accumulators")

        let p = ConvParameters(inputHeight: h, inputWidth: w, inputChannels: ic, outputHeight: oh, outputWidth: ow, outputChannels: oc,
                               kernelHeight: kh, kernelWidth: kw, strideH: stride, strideW: stride, padTop: pt, padLeft: pl,
                               inputZeroPoint: Int32(zp), outputZeroPoint: -3, multipliers: quantized.map(\.multiplier),
                               shifts: quantized.map(\.shift))
        let reference = depthwise ? try DepthwiseConv2D.run(p, input: input, weights: weights, bias: bias)
                                  : try Conv2D.run(p, input: input, weights: weights, bias: bias)
        let requantized = summed.enumerated().map { j, acc in
            FixedPoint.requantize(acc: Int32(truncatingIfNeeded: acc), multiplier: quantized[j % oc].multiplier, shift: quantized[j % oc].shift,
                                  outputZeroPoint: -3, min: -128, max: 127)
        }
        XCTAssertEqual(requantized, reference, "\(context): requantized Σ pieces = Reference")
    }
}

/// Deterministic 64-bit generator (tests must be reproducible).
private typealias DecompositionRandom = SplitMix
