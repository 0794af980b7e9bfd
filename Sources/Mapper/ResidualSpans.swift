import Accelerator

/// Residual spans (docs/control.md, `residualSpan`): a pass that ADDs a residual read position by
/// position moves one beat per position, however few of the beat's bytes the position fills (16 of
/// 128 for a filter group of PF = 16). Where the pass's positions are consecutive pixels of the
/// residual tensor, it reads them instead as whole pixels, B bytes a beat, and each filter group
/// finds its bytes at its offset in every pixel; the passes of the other filter groups of the same
/// positions then read nothing (`residualKept`). MobileNetV2's projection + ADD layers move 15.1k
/// residual beats per position and 1.7k as spans.
enum ResidualSpans {
    /// Rewrites `records` in place. `residualBase[n]`: the start of record n's residual tensor
    /// (the instruction's), whose pixels are `outputPixelStride` bytes apart; nil for none.
    static func apply(_ records: inout [ControlRecord], residualBase: [UInt32?], config c: AcceleratorConfig) {
        let b = c.streamBytes, lanes = max(c.pc, c.pf)
        let unit = OutputPath.residualUnit(lanes: lanes)
        let capacity = OutputPath.residualWords(positions: c.outputBufferDepth, lanes: lanes, streamBytes: b)
        let onChipEnd = Int(AcceleratorConfig.onChipBase) + c.onChipBytes
        let reading = records.indices.filter { records[$0].residual && (records[$0].last || records[$0].op == .copy) }
        let spans = reading.map { span(records[$0], base: residualBase[$0], unit: unit, capacity: capacity, onChipEnd: onChipEnd, beat: b) }
        // A span pays where its beats are fewer than the per-position beats of the passes that
        // share it (consecutive residual passes of the same span: a layer's filter groups).
        var k = 0
        while k < reading.count {
            var end = k + 1
            while end < reading.count, let a = spans[k], let z = spans[end], a == z { end += 1 }
            if let first = spans[k], first.beats < reading[k ..< end].reduce(0, { $0 + records[$1].outputPositions }) {
                for j in k ..< end {
                    let n = reading[j], s = spans[j]!
                    records[n].residualSpan = true
                    records[n].residualAddress = UInt32(s.start)
                    records[n].residualOffset = s.offset
                    records[n].residualBeats = s.beats
                }
            }
            k = end
        }
        // Keep what the buffer holds: the span the last residual phase read, until a pass writes into it.
        var held: (start: Int, beats: Int)?
        for n in records.indices {
            let r = records[n]
            if r.residual, r.last || r.op == .copy {
                if r.residualSpan {
                    if let h = held, h.start == Int(r.residualAddress), h.beats == r.residualBeats {
                        records[n].residualKept = true
                    } else {
                        held = (Int(r.residualAddress), r.residualBeats)
                    }
                } else {
                    held = nil   // a per-position phase overwrites the buffer
                }
            }
            if let h = held, r.last || r.op == .copy, overlaps(footprint(r), (h.start, h.start + h.beats * b)) { held = nil }
        }
    }

    /// The span record `r` may read its residual as, or nil where it must read per position: its
    /// positions consecutive pixels, the pixel stride and the position's offset whole banks of the
    /// residual buffer, the span on chip and in the buffer, and its whole beats (the last one runs
    /// past the tensor) clear of what the pass itself writes.
    static func span(_ r: ControlRecord, base: UInt32?, unit: Int, capacity: Int, onChipEnd: Int, beat b: Int)
        -> Span? {
        guard let base, r.op == .conv || r.op == .copy else { return nil }
        let stride = Int(r.outputPixelStride), positions = r.outputPositions
        guard stride > 0, stride < 1 << 16, stride % unit == 0 else { return nil }
        guard r.outputRows == 1 || Int(r.outputRowStride) == r.outputCols * stride else { return nil }
        let into = Int(r.residualAddress) - Int(base)
        guard into >= 0 else { return nil }
        let offset = into % stride, start = Int(r.residualAddress) - offset
        guard offset % unit == 0, offset < 256, offset + r.outChunk <= stride else { return nil }
        let beats = (positions * stride + b - 1) / b
        guard beats <= capacity, beats < 1 << 16 else { return nil }
        guard DeviceMemory.isOnChip(UInt32(start)), start + beats * b <= onChipEnd else { return nil }
        guard !overlaps(footprint(r), (start, start + beats * b)) else { return nil }
        return Span(start: start, offset: offset, beats: beats)
    }

    struct Span: Equatable {
        var start: Int, offset: Int, beats: Int
        /// The same bytes (another filter group's offset into them).
        static func == (a: Span, b: Span) -> Bool { a.start == b.start && a.beats == b.beats }
    }

    /// The bytes a writing pass's output covers, lowest to highest.
    static func footprint(_ r: ControlRecord) -> (Int, Int) {
        let first = Int(r.outputAddress)
        return (first, first + (r.outputRows - 1) * Int(r.outputRowStride) + (r.outputCols - 1) * Int(r.outputPixelStride) + r.outChunk)
    }

    static func overlaps(_ a: (Int, Int), _ b: (Int, Int)) -> Bool { a.0 < b.1 && b.0 < a.1 }
}
