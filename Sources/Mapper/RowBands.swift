import Reference

/// Row-band fusion of an expansion with the depthwise convolution after it (seed 002: depthwise and
/// pointwise layers fused with row-wise tiling, so the map between them never goes to memory).
///
/// Where a pointwise expansion's result is too big for RAM-M and only the next layer, a depthwise
/// convolution, reads it, the two run as alternating row bands: the expansion computes the input
/// rows one band of the depthwise's output rows needs into a one-band buffer in RAM-M, the depthwise
/// reads them there, and the next band overwrites the buffer. MobileNetV2's 112×112×96 expansion
/// (1.2 MB) otherwise goes out to external memory and comes back. Neighbouring bands share the
/// kernel's halo (kernel − stride input rows), which the expansion computes once for each band.
struct RowBands: Equatable {
    struct Band: Equatable {
        /// The expansion's rows, which are the depthwise's input rows of this band.
        var inputRows: Range<Int>
        /// The depthwise output rows the band gives.
        var outputRows: Range<Int>
        /// The depthwise's padding rows above the band's input rows (below, what its last windows need).
        var padTop: Int
    }

    var bands: [Band]
    /// Rows of the band buffer: the tallest band's input rows.
    var bufferRows: Int { bands.map(\.inputRows.count).max() ?? 0 }

    /// The depthwise `q`'s output rows cut into `count` bands of equal height (the last one shorter),
    /// or nil where that many bands do not exist or one would start inside the top padding.
    init?(_ q: ConvParameters, count: Int) {
        let per = (q.outputHeight + count - 1) / count
        guard count >= 2, per >= 1, (count - 1) * per < q.outputHeight else { return nil }
        var bands = [Band]()
        for b in 0 ..< count {
            let o0 = b * per, o1 = min(q.outputHeight, o0 + per)
            let first = o0 * q.strideH - q.padTop, end = (o1 - 1) * q.strideH - q.padTop + q.kernelHeight
            guard b == 0 || first >= 0 else { return nil }
            let rows = max(0, first) ..< min(q.inputHeight, end)
            bands.append(Band(inputRows: rows, outputRows: o0 ..< o1, padTop: b == 0 ? q.padTop : 0))
        }
        self.bands = bands
    }

    /// Lowered layers k whose pair (k, k + 1) may run as row bands: a stride-1 pointwise k without a
    /// fused ADD whose result only the depthwise k + 1 reads, as its input, with one 3×3 piece of
    /// rows, one batch and no ADD either.
    static func candidates(_ net: LoweredNetwork) -> [Int] {
        net.layers.indices.dropLast().filter { k in
            let e = net.layers[k], d = net.layers[k + 1]
            guard case let .convolution(.pointwise, p, _, _, _) = e.work, case let .convolution(.depthwise, q, _, _, _) = d.work,
                  e.fusedAdd == nil, d.fusedAdd == nil, d.input == e.output, p.batches == 1, q.batches == 1,
                  p.strideH == 1, p.strideW == 1, p.inputHeight == p.outputHeight, q.kernelHeight <= 3, q.dilationH == 1
            else { return false }
            let readers = net.layers.filter { $0.input == e.output || $0.fusedAdd?.residual == e.output }.count
            return readers == 1 && !net.hostSteps.contains { $0.input == e.output } && net.networkOutput != e.output
        }
    }

    /// The most bands a pair is cut into: each band is a pass over the depthwise's weights and
    /// recomputes the halo, so past this the buffer saved no longer pays.
    static let mostBands = 8

    /// The pairs that run as row bands and their bands: every candidate whose expanded map would go
    /// to external memory, cut into the fewest bands for which the band buffer fits RAM-M without
    /// pushing any tensor that was on chip out to external memory.
    static func choose(_ net: LoweredNetwork, sizes: [Int], externalBase: Int, options: MapperOptions) throws -> [Int: RowBands] {
        func onChip(_ a: Allocation) -> Set<Int> { Set(a.places.filter { $0.value.route != .external }.keys) }
        let plain = try Allocation(net, sizes: sizes, externalBase: externalBase, options: options)
        var chosen = [Int: RowBands](), kept = onChip(plain)
        for k in candidates(net) {
            guard try plain.place(net.layers[k].output).route == .external, case let .convolution(_, q, _, _, _) = net.layers[k + 1].work else { continue }
            for count in 2 ... mostBands {
                guard let bands = RowBands(q, count: count) else { continue }
                var trial = chosen
                trial[k] = bands
                let on = onChip(try Allocation(net, sizes: sizes, externalBase: externalBase, options: options, rowBands: trial))
                if on.contains(net.layers[k].output), kept.isSubset(of: on) {
                    chosen = trial; kept = on
                    break
                }
            }
        }
        return chosen
    }

    /// The band buffer's bytes for expansion `p` (its rows are `p`'s output rows).
    func bufferBytes(_ p: ConvParameters) -> Int { bufferRows * p.outputWidth * p.outputChannels }
}
