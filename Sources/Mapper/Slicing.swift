import Accelerator
import Reference

/// Slicing (seed section 6): weights cut into the blocks the engine consumes per cycle, in the
/// order the controller walks them, and feature-map rows cut into column tiles that fit the line
/// buffers. The byte layouts here are the contract between the memory image and the controller
/// (docs/instructions.md, "Weight layouts").
enum Slicing {
    static func ceilDiv(_ a: Int, _ b: Int) -> Int { (a + b - 1) / b }

    /// Input-channel slices (PC), filter slices (PF) and 3×3 pieces of a layer.
    struct Counts: Equatable {
        var channelSlices: Int
        var filterSlices: Int
        var piecesH: Int
        var piecesW: Int
        var pieces: Int { piecesH * piecesW }
    }

    static func counts(_ kind: Instruction.Kind, _ p: ConvParameters, _ c: AcceleratorConfig) -> Counts {
        let ph = kind == .pointwise ? 1 : ceilDiv(p.kernelHeight, 3), pw = kind == .pointwise ? 1 : ceilDiv(p.kernelWidth, 3)
        switch kind {
        case .depthwise:
            // Depthwise slices run over output channels; there is no filter dimension.
            return Counts(channelSlices: ceilDiv(p.outputChannels, c.pc), filterSlices: 1, piecesH: ph, piecesW: pw)
        default:
            return Counts(channelSlices: ceilDiv(p.inputChannels, c.pc), filterSlices: ceilDiv(p.outputChannels, c.pf), piecesH: ph, piecesW: pw)
        }
    }

    /// Kernel row (column) under tap 0 of piece p along a dimension of k taps cut into n pieces:
    /// the pieces are centred on the kernel, the 3n − k spare taps split with the odd one after
    /// (the reshape unit's `KernelPiece` convention: 10 rows → offsets −1, 2, 5, 8).
    static func pieceOffset(_ p: Int, kernel k: Int, pieces n: Int) -> Int { 3 * p - (3 * n - k) / 2 }

    /// Standard: [filterSlice][piece][channelSlice][tap 0..<9][c < PC][f < PF]; a piece (py, px)
    /// holds kernel taps (offset(py) + ty, offset(px) + tx), zero outside the kernel. Pointwise: the same with one
    /// piece of one tap. Depthwise: [channelSlice][piece][tap][c < PC], c indexing output channels.
    /// Missing channels and filters are zero.
    static func packConvolution(_ kind: Instruction.Kind, _ p: ConvParameters, weights: [Int8], config c: AcceleratorConfig) -> [Int8] {
        let n = counts(kind, p, c)
        let kh = p.kernelHeight, kw = p.kernelWidth
        let taps = kind == .pointwise ? 1 : 9
        if kind == .depthwise {
            let o = p.outputChannels
            var out = [Int8](repeating: 0, count: n.channelSlices * n.pieces * 9 * c.pc)
            for cs in 0 ..< n.channelSlices {
                for py in 0 ..< n.piecesH {
                    for px in 0 ..< n.piecesW {
                        for t in 0 ..< 9 {
                            let ky = pieceOffset(py, kernel: kh, pieces: n.piecesH) + t / 3, kx = pieceOffset(px, kernel: kw, pieces: n.piecesW) + t % 3
                            guard ky >= 0, ky < kh, kx >= 0, kx < kw else { continue }
                            for ci in 0 ..< c.pc {
                                let oc = cs * c.pc + ci
                                guard oc < o else { continue }
                                out[(((cs * n.pieces) + py * n.piecesW + px) * 9 + t) * c.pc + ci] = weights[(ky * kw + kx) * o + oc]
                            }
                        }
                    }
                }
            }
            return out
        }
        let ic = p.inputChannels, o = p.outputChannels
        var out = [Int8](repeating: 0, count: n.filterSlices * n.pieces * n.channelSlices * taps * c.pc * c.pf)
        for fs in 0 ..< n.filterSlices {
            for piece in 0 ..< n.pieces {
                let py = piece / n.piecesW, px = piece % n.piecesW
                for cs in 0 ..< n.channelSlices {
                    for t in 0 ..< taps {
                        let ky = kind == .pointwise ? 0 : pieceOffset(py, kernel: kh, pieces: n.piecesH) + t / 3
                        let kx = kind == .pointwise ? 0 : pieceOffset(px, kernel: kw, pieces: n.piecesW) + t % 3
                        guard ky >= 0, ky < kh, kx >= 0, kx < kw else { continue }
                        let base = ((((fs * n.pieces + piece) * n.channelSlices + cs) * taps + t) * c.pc) * c.pf
                        for ci in 0 ..< c.pc {
                            let ch = cs * c.pc + ci
                            guard ch < ic else { continue }
                            for fi in 0 ..< c.pf {
                                let f = fs * c.pf + fi
                                guard f < o else { continue }
                                out[base + ci * c.pf + fi] = weights[((f * kh + ky) * kw + kx) * ic + ch]
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Elements of the FC input consumed per cycle: the PK × PC lanes of the standard datapath.
    static func fullyConnectedChunk(_ c: AcceleratorConfig) -> Int { c.pk * c.pc }

    /// FC: [filterSlice][chunk][d < PK·PC][f < PF]; missing inputs and outputs are zero.
    static func packFullyConnected(_ p: FullyConnectedParameters, weights: [Int8], config c: AcceleratorConfig) -> [Int8] {
        let chunk = fullyConnectedChunk(c)
        let fsN = ceilDiv(p.outputDepth, c.pf), csN = ceilDiv(p.inputDepth, chunk)
        var out = [Int8](repeating: 0, count: fsN * csN * chunk * c.pf)
        for fs in 0 ..< fsN {
            for cs in 0 ..< csN {
                for di in 0 ..< chunk {
                    let d = cs * chunk + di
                    guard d < p.inputDepth else { continue }
                    for fi in 0 ..< c.pf {
                        let f = fs * c.pf + fi
                        guard f < p.outputDepth else { continue }
                        out[((fs * csN + cs) * chunk + di) * c.pf + fi] = weights[f * p.inputDepth + d]
                    }
                }
            }
        }
        return out
    }

    /// Quantization-unit records, one per output channel padded to `channels`: bias, multiplier,
    /// shift as three little-endian int32 (the three FIFOs of Fig. 10).
    static let parameterRecordBytes = 12

    static func packParameters(bias: [Int32]?, multipliers: [Int32], shifts: [Int], channels: Int, padded: Int) -> [UInt8] {
        var out = [UInt8](); out.reserveCapacity(padded * parameterRecordBytes)
        for oc in 0 ..< padded {
            let live = oc < channels
            let m = multipliers.count == 1 ? 0 : oc
            let b: Int32 = live ? (bias?[oc] ?? 0) : 0
            let mul: Int32 = live ? multipliers[m] : 0
            let sh: Int32 = live ? Int32(shifts[m]) : 0
            for v in [b, mul, sh] { out += littleEndian(UInt32(bitPattern: v)) }
        }
        return out
    }

    /// A column tile: output columns [outColumn, +outColumns) read input columns
    /// [inColumn, +inColumns), padding included.
    struct Tile: Equatable {
        var outColumn: Int
        var outColumns: Int
        var inColumn: Int
        var inColumns: Int
    }

    /// Output columns per tile so that each piece's window stream, (n - 1)·stride + 3 columns, fits
    /// the line buffer of `maxRowWidth` pixels; neighbours overlap by the halo (3 - stride columns).
    static func columnTiles(_ kind: Instruction.Kind, _ p: ConvParameters, config c: AcceleratorConfig) -> [Tile] {
        let span = 3 * (kind == .pointwise ? 0 : ceilDiv(p.kernelWidth, 3))
        guard kind != .pointwise else {
            return [Tile(outColumn: 0, outColumns: p.outputWidth, inColumn: 0, inColumns: p.inputWidth)]
        }
        let perTile = max(1, (c.maxRowWidth - 3) / p.strideW + 1)
        let first = pieceOffset(0, kernel: p.kernelWidth, pieces: ceilDiv(p.kernelWidth, 3))
        return stride(from: 0, to: p.outputWidth, by: perTile).map { o0 in
            let n = min(perTile, p.outputWidth - o0)
            return Tile(outColumn: o0, outColumns: n, inColumn: o0 * p.strideW - p.padLeft + first, inColumns: (n - 1) * p.strideW + span)
        }
    }
}
