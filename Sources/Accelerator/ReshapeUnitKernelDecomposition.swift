/// How kernels other than 3×3 run on the reshape unit, which makes only 3×3 windows (PK = 9).
///
/// A KH×KW kernel is cut into ceil(KH/3) × ceil(KW/3) pieces of 3×3. Along each dimension the
/// tiles are centred on the kernel: the 3·n − k spare taps are split, the odd one going after,
/// so a 1-tap dimension sits in the middle of its tile (1×1 is the centre tap, 1×k / k×1 use the
/// middle row / column) and e.g. 10 rows are tiles at kernel rows −1, 2, 5, 8 with rows −1 and
/// 10 as zero weights. Each piece is a 3×3 convolution with the original stride over the
/// same input shifted by the piece's offset; the engine accumulates the pieces' products for each
/// output pixel (the accumulator adds over pieces as it adds over channel slices), and the
/// zero-weight taps add nothing. So Σ over pieces = the full convolution, exactly in int32.
///
///   kernel   pieces   e.g.
///   3×3      1        every 3×3 layer (native)
///   1×1      1        centre tap (pointwise normally uses the PV path instead)
///   5×5      4        5×5 depthwise (rows 0-2, 3-5 with row 5 zero; the same for columns)
///   10×4     8        KWS's first convolution (4 row tiles × 2 column tiles)
///   1×k, k×1 ceil(k/3) 1-D kernels
///
/// `view` says what the reshape unit must be fed for one piece: a rectangle of the image plus
/// zero-point pixels around it where the piece's windows reach further out than the unit's own
/// padding of one row/column per side (e.g. KWS pads 4 rows on top). The loader streams those
/// as ordinary pixels of value `in_zp`. Pieces whose windows never touch the image contribute
/// nothing and are skipped (`view` returns nil).
public struct KernelPiece: Sendable, Equatable, CustomStringConvertible {
    public let kernelHeight: Int
    public let kernelWidth: Int
    /// Kernel row / column under the piece's tap row 0 / column 0 (−1 where the tiles are centred).
    public let rowOffset: Int
    public let columnOffset: Int

    public init(kernelHeight: Int, kernelWidth: Int, rowOffset: Int, columnOffset: Int) {
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.rowOffset = rowOffset
        self.columnOffset = columnOffset
    }

    /// The kernel tap under piece tap (row, column), each 0 ..< 3; nil where the piece's weight is 0.
    public func kernelTap(row: Int, column: Int) -> (row: Int, column: Int)? {
        let r = rowOffset + row, c = columnOffset + column
        guard (0 ..< 3).contains(row), (0 ..< 3).contains(column),
              (0 ..< kernelHeight).contains(r), (0 ..< kernelWidth).contains(c) else { return nil }
        return (r, c)
    }

    /// The piece's nine weights (tap k = 3·row + column) from a row-major KH×KW kernel.
    public func weights<T>(from kernel: [T], zero: T) -> [T] {
        (0 ..< 9).map { k in
            guard let t = kernelTap(row: k / 3, column: k % 3) else { return zero }
            let i = t.row * kernelWidth + t.column
            return i < kernel.count ? kernel[i] : zero
        }
    }

    public var description: String { "3×3 piece at (\(rowOffset), \(columnOffset)) of \(kernelHeight)×\(kernelWidth)" }
}

/// What the reshape unit is fed for one piece: image rows `firstRow ..< firstRow + rows` and
/// columns `firstColumn ..< firstColumn + columns`, with `zeroRowsAbove`/`Below` rows and
/// `zeroColumnsLeft`/`Right` columns of `in_zp` streamed around them by the loader, and the unit's
/// own padding on top (`padTop` etc.) at the given stride. The unit's windows over that stream,
/// in order, are the piece's windows for output pixels (0, 0) ... (OH−1, OW−1).
public struct ReshapeView: Sendable, Equatable {
    public var firstRow: Int, rows: Int
    public var firstColumn: Int, columns: Int
    public var zeroRowsAbove: Int, zeroRowsBelow: Int
    public var zeroColumnsLeft: Int, zeroColumnsRight: Int
    public var padTop: Bool, padBottom: Bool, padLeft: Bool, padRight: Bool
    public var stride2: Bool

    public init(firstRow: Int, rows: Int, firstColumn: Int, columns: Int, zeroRowsAbove: Int, zeroRowsBelow: Int,
                zeroColumnsLeft: Int, zeroColumnsRight: Int, padTop: Bool, padBottom: Bool, padLeft: Bool, padRight: Bool,
                stride2: Bool) {
        self.firstRow = firstRow
        self.rows = rows
        self.firstColumn = firstColumn
        self.columns = columns
        self.zeroRowsAbove = zeroRowsAbove
        self.zeroRowsBelow = zeroRowsBelow
        self.zeroColumnsLeft = zeroColumnsLeft
        self.zeroColumnsRight = zeroColumnsRight
        self.padTop = padTop
        self.padBottom = padBottom
        self.padLeft = padLeft
        self.padRight = padRight
        self.stride2 = stride2
    }

    /// The `height` and `width` the reshape unit is started with.
    public var streamedHeight: Int { zeroRowsAbove + rows + zeroRowsBelow }
    public var streamedWidth: Int { zeroColumnsLeft + columns + zeroColumnsRight }
}

public enum KernelDecomposition {
    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    /// Largest kernel side accepted (larger ones are not convolutions the accelerator targets).
    public static let maxKernel = 64

    /// Offsets of the 3-tap tiles covering a k-tap kernel dimension, centred (spare tap after).
    public static func tileOffsets(_ k: Int) -> [Int] {
        let n = (k + 2) / 3
        let first = -((3 * n - k) / 2)
        return (0 ..< n).map { first + 3 * $0 }
    }

    /// The 3×3 pieces of a KH×KW kernel, row-major by tile.
    public static func pieces(kernelHeight: Int, kernelWidth: Int) throws -> [KernelPiece] {
        for (name, k) in [("height", kernelHeight), ("width", kernelWidth)] where !(1 ... maxKernel).contains(k) {
            throw Invalid(description: "kernel \(name) \(k): must be 1 to \(maxKernel)")
        }
        return tileOffsets(kernelHeight).flatMap { r in
            tileOffsets(kernelWidth).map { c in
                KernelPiece(kernelHeight: kernelHeight, kernelWidth: kernelWidth, rowOffset: r, columnOffset: c)
            }
        }
    }

    /// The stream for `piece` of a convolution over an H×W input with `stride` (1 or 2),
    /// `padTop`/`padLeft` before the image (TFLite's, any amount) and an OH×OW output; nil when
    /// every window of the piece lies outside the image.
    public static func view(of piece: KernelPiece, inputHeight: Int, inputWidth: Int, stride: Int,
                            padTop: Int, padLeft: Int, outputHeight: Int, outputWidth: Int) throws -> ReshapeView? {
        guard stride == 1 || stride == 2 else {
            throw Invalid(description: "stride \(stride): the reshape unit makes windows at stride 1 or 2")
        }
        for (name, v) in [("input height", inputHeight), ("input width", inputWidth),
                          ("output height", outputHeight), ("output width", outputWidth)] where v < 1 {
            throw Invalid(description: "\(name) \(v): must be at least 1")
        }
        guard padTop >= 0, padLeft >= 0 else {
            throw Invalid(description: "padding \(padTop) top, \(padLeft) left: must not be negative")
        }
        // Image rows (columns) the piece's windows cover: from output 0's first tap to the last
        // output's last tap.
        func span(_ size: Int, _ pad: Int, _ offset: Int, _ outputs: Int) -> (first: Int, count: Int, before: Int, after: Int)? {
            let lo = -pad + offset, hi = (outputs - 1) * stride - pad + offset + 2
            let first = max(lo, 0), last = min(hi, size - 1)
            guard last >= first else { return nil }
            return (first, last - first + 1, first - lo, hi - last)
        }
        guard let r = span(inputHeight, padTop, piece.rowOffset, outputHeight),
              let c = span(inputWidth, padLeft, piece.columnOffset, outputWidth) else { return nil }
        return ReshapeView(firstRow: r.first, rows: r.count, firstColumn: c.first, columns: c.count,
                           zeroRowsAbove: max(r.before - 1, 0), zeroRowsBelow: max(r.after - 1, 0),
                           zeroColumnsLeft: max(c.before - 1, 0), zeroColumnsRight: max(c.after - 1, 0),
                           padTop: r.before > 0, padBottom: r.after > 0, padLeft: c.before > 0, padRight: c.after > 0,
                           stride2: stride == 2)
    }
}
