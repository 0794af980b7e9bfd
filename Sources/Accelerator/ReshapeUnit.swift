import HDLKit

/// The reshape unit with operation-separate padding (seed 003, section 3.5, Fig. 9): it turns a
/// feature map streamed one pixel (PC channels) per cycle in row-major order into the 3×3 windows
/// the convolution engine consumes, one window per cycle, without spending cycles on padding
/// except one inserted bottom row.
///
/// Where each padding happens:
///   - bottom: after the H real rows the unit inserts one row of `in_zp` pixels itself (in_ready
///     low), the "+1" of the (H+1)·W schedule;
///   - top: multiplexers put `in_zp` on the line-buffer outputs for the column of every pixel of
///     rows 0 and 1, so windows centred on row 0 see row −1 as padding;
///   - left/right: the matrix buffer holds the last three columns that arrived, so the window centred
///     on a row's last pixel is complete when the next row's first pixel arrives; its right column
///     (that new pixel) then reads `in_zp`, and the next window's left column (the previous row's
///     last pixel) does too. No cycle is spent on a padding column.
/// Padding taps read `in_zp`, not 0: TFLite skips taps outside the image, which is x − in_zp = 0.
///
/// Layer registers, sampled with `start` (see "Layers" below): `height` (1 ... maxHeight), `width`
/// (1 ... maxRowWidth), `stride2` (stride 2 in both directions, else 1), `pad_top`, `pad_bottom`,
/// `pad_left`, `pad_right` (each 0 or 1), `in_zp`. The windows are those of a 3×3 VALID
/// convolution over the map padded by those amounts: output (oy, ox) covers input rows
/// oy·s − pad_top ... +2 and columns ox·s − pad_left ... +2, for OH = (H + pt + pb − 3)/s + 1 rows
/// and OW = (W + pl + pr − 3)/s + 1 columns. So:
///   - TFLite SAME, stride 1, or stride 2 on an odd size: all four pads 1;
///   - TFLite SAME, stride 2 on an even size: pad_top/pad_left 0, pad_bottom/pad_right 1;
///   - VALID: all 0; explicit symmetric padding 1 (a PAD op folded in): all 1.
///   Height and width are independent, so e.g. an odd height with an even width is fine.
/// Kernels natively: 3×3, and 1×1 (stride 1 or 2) by using the centre tap `win_4_*` with all four
/// pads 1 (then every pixel, or every second one, is a centre). Other sizes (5×5, 10×4, 1×k, k×1)
/// are run as several 3×3 pieces: see `KernelDecomposition`.
///
/// Ports:
///   in:  start, height, width, stride2, pad_top, pad_bottom, pad_left, pad_right, in_zp,
///        in_valid, x_<c> (c < PC), out_ready
///   out: start_ready, in_ready, out_valid, out_row, out_col, out_last, busy, win_<k>_<c>
///        (k = 3·row + column of the tap, column 0 on the left)
/// A pixel is taken when `in_valid && in_ready`. A window is on `win_*` while `out_valid`;
/// `out_row`/`out_col` are its output coordinates and `out_last` marks a layer's last window.
/// While `out_valid && !out_ready` everything holds (the whole unit stalls, and `in_ready` drops
/// combinationally). The unit is channel-agnostic: the lanes never mix, so a slice with fewer
/// real channels simply carries don't-care values in its unused lanes, and the PD depthwise
/// streams can share one unit of PD·PC lanes (`lanes`).
///
/// Layers: `start` is taken in any cycle with `start_ready`; height or width 0, or a width over
/// maxRowWidth, is not a layer and is ignored. With the unit idle the layer begins at once; while one
/// runs, the next one's registers wait in a one-entry queue and it begins straight after the running
/// layer's last pixel. This is how the PC-channel slices of one layer stream back to back.
///
/// Schedule (a stream that never runs dry and an output that never stalls): a layer takes
/// `inputCycles` = (H + pad_bottom)·W cycles of pixels, e.g. (H+1)·W with padding 1 where
/// direct padding would take (H+2)(W+2). The window centred on a row's last pixel needs one more
/// column to be shifted in; for the map's last row that is the next layer's first pixel, or, when
/// no next layer is queued by then or its first pixel is not there in the next cycle, a flush
/// column of `in_zp` that the unit shifts in itself (no pixel is taken; row 0's columns never
/// belong to a window, so a flush in front of the next layer is harmless). A window appears
/// `latency` = 2 cycles after the pixel that completes it (its bottom-right tap) was taken. So a
/// layer started in cycle 0 on an idle unit takes its pixels in cycles 1 ... N (N = inputCycles)
/// and, with pad_right, shows its last window in cycle N + 1 + latency; K slices queued back to back
/// show their last windows every N cycles.
///
/// Pipeline: stage 0 counts rows and columns, picks the pixel (input, inserted `in_zp`, or the
/// flush) and reads the line buffer; stage 1 muxes the top padding into the line-buffer outputs,
/// writes the line buffer and shifts the matrix buffer; the matrix-buffer registers with their
/// left/right padding multiplexers are the outputs. What a window needs (valid, output coordinates,
/// padding of its left/right column, last, in_zp) is computed in stage 0 for the pixel at the
/// window's centre and delayed with it, so a layer boundary in the pipeline needs no draining.
public struct ReshapeUnit: Sendable {
    public let config: AcceleratorConfig
    /// Tallest map a layer may have; sets the width of `height` and `out_row`.
    public let maxHeight: Int

    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    /// Pixel channels carried side by side: PC, or PD·PC where the PD depthwise streams (one per
    /// input-buffer bank, seed section 3.4) share one unit, since they have the same geometry.
    public let channels: Int

    public init(config: AcceleratorConfig, maxHeight: Int = 4096, lanes: Int? = nil) throws {
        try config.validate()
        guard (1 ... 65535).contains(maxHeight) else {
            throw Invalid(description: "ReshapeUnit maxHeight \(maxHeight): must be 1 to 65535 rows")
        }
        let channels = lanes ?? config.pc
        guard (1 ... 4096).contains(channels) else {
            throw Invalid(description: "ReshapeUnit lanes \(channels): must be 1 to 4096 channels")
        }
        self.config = config
        self.maxHeight = maxHeight
        self.channels = channels
    }

    public var dataWidth: Int { config.dataWidth }
    public var maxWidth: Int { config.maxRowWidth }

    /// Width of `height` and `out_row`.
    public var heightBits: Int { bitsNeeded(maxHeight, signed: false) }
    /// Width of `width`.
    public var widthBits: Int { bitsNeeded(maxWidth, signed: false) }
    /// Width of `out_col` (and of the line-buffer address).
    public var columnBits: Int { addressWidth(maxWidth) }

    /// Cycles from taking the pixel that completes a window to the window on `win_*`: the line
    /// buffer's read plus the matrix buffer's register.
    public var latency: Int { LineBuffer(config: config, lanes: channels).latency + MatrixBuffer(config: config, lanes: channels).latency }

    /// Cycles of pixels per layer (per PC-channel slice): the real rows plus the inserted bottom row.
    public static func inputCycles(height: Int, width: Int, padBottom: Bool) -> Int {
        (height + (padBottom ? 1 : 0)) * width
    }

    /// Output size along one dimension for a 3×3 window, 0 where the padded size is under 3.
    public static func outputSize(_ size: Int, padBefore: Bool, padAfter: Bool, stride2: Bool) -> Int {
        let padded = size + (padBefore ? 1 : 0) + (padAfter ? 1 : 0)
        return padded < 3 ? 0 : (padded - 3) / (stride2 ? 2 : 1) + 1
    }

    public var name: String { "ReshapeUnit_ch\(channels)_w\(dataWidth)_r\(maxWidth)_h\(maxHeight)" }

    public func module() -> Module {
        let pc = channels, w = dataWidth, hb = heightBits, wb = widthBits, cb = columnBits
        let maxW = maxWidth
        let lineBuffer = LineBuffer(config: config, lanes: pc).module()
        let matrixBuffer = MatrixBuffer(config: config, lanes: pc).module()
        return Module(name) { m in
            let start = m.input("start", .bool)
            let height = m.input("height", .uint(hb))
            let width = m.input("width", .uint(wb))
            let stride2 = m.input("stride2", .bool)
            let padTop = m.input("pad_top", .bool)
            let padBottom = m.input("pad_bottom", .bool)
            let padLeft = m.input("pad_left", .bool)
            let padRight = m.input("pad_right", .bool)
            let inZp = m.input("in_zp", .sint(w))
            let inValid = m.input("in_valid", .bool)
            let x = (0 ..< pc).map { m.input("x_\($0)", .sint(w)) }
            let outReady = m.input("out_ready", .bool)

            // MARK: layer registers: the running layer and the one queued behind it

            struct Layer {
                var height, width, stride2, padTop, padBottom, padLeft, padRight, zp: Signal
                var all: [Signal] { [height, width, stride2, padTop, padBottom, padLeft, padRight, zp] }
            }
            let ports = Layer(height: height, width: width, stride2: stride2, padTop: padTop, padBottom: padBottom,
                              padLeft: padLeft, padRight: padRight, zp: inZp)
            func layerRegs(_ prefix: String) -> Layer {
                Layer(height: m.reg("\(prefix)_height", .uint(hb)), width: m.reg("\(prefix)_width", .uint(wb)),
                      stride2: m.reg("\(prefix)_stride2", .bool), padTop: m.reg("\(prefix)_pad_top", .bool),
                      padBottom: m.reg("\(prefix)_pad_bottom", .bool), padLeft: m.reg("\(prefix)_pad_left", .bool),
                      padRight: m.reg("\(prefix)_pad_right", .bool), zp: m.reg("\(prefix)_zp", .sint(w)))
            }
            let cur = layerRegs("cur"), queued = layerRegs("next")
            let queuedValid = m.reg("next_valid", .bool, reset: 0)
            let running = m.reg("running", .bool, reset: 0)
            let flushing = m.reg("flushing", .bool, reset: 0)
            // A layer begun straight after the previous one's last pixel owes that layer its last
            // window until the next shift (see `phantom`).
            let owed = m.reg("owed", .bool, reset: 0)
            let row = m.reg("row", .uint(hb), reset: 0)
            let col = m.reg("col", .uint(cb), reset: 0)

            // MARK: stage 0: position, pixel source, what the window centred here needs

            let s2Valid = m.reg("s2_valid", .bool, reset: 0)
            let stall = m.wire("stall", s2Valid && !outReady)
            let lastRow = m.wire("last_row", (cur.height + cur.padBottom) &- 1)
            let lastCol = m.wire("last_col", cur.width &- 1)
            let inserting = m.wire("inserting", row == cur.height)
            let rowEnd = m.wire("row_end", col == lastCol)
            let layerEnd = m.wire("layer_end", rowEnd && row == lastRow)
            // Owed a window and no pixel yet: shift a padding column in anyway (a flush). Row 0's
            // columns are never part of a window, so the new layer does not notice.
            let phantom = m.wire("phantom", owed && !inValid)
            let arrive = m.wire("arrive", running && !stall && (flushing || inserting || inValid || owed))
            m.output("in_ready", running && !stall && !flushing && !inserting)

            // (The width check only where the port can hold more than the line buffer.)
            let widthFits = maxW < (1 << wb) - 1 ? width <= maxW : Signal.true
            let startTaken = m.wire("start_taken", start && !queuedValid && height != 0 && width != 0 && widthFits)
            let haveNext = m.wire("have_next", queuedValid || startTaken)
            let begin = m.wire("begin_layer", haveNext && (!running || (arrive && !phantom && (flushing || layerEnd))))
            m.output("start_ready", !queuedValid)

            m.when(begin) {
                for (r, (q, p)) in zip(cur.all, zip(queued.all, ports.all)) { r.assign(mux(queuedValid, q, p)) }
                running.assign(Signal.true)
                flushing.assign(Signal.false)
                owed.assign(running && !flushing)
                row.assign(0)
                col.assign(0)
                queuedValid.assign(Signal.false)
            }.otherwise {
                m.when(startTaken) {
                    for (q, p) in zip(queued.all, ports.all) { q.assign(p) }
                    queuedValid.assign(Signal.true)
                }
                m.when(arrive) {
                    owed.assign(Signal.false)
                    m.when(flushing) {
                        running.assign(Signal.false)
                        flushing.assign(Signal.false)
                    }.elsewhen(phantom) {
                    }.elsewhen(layerEnd) {
                        flushing.assign(Signal.true)
                    }.elsewhen(rowEnd) {
                        col.assign(0)
                        row.assign(row &+ 1)
                    }.otherwise {
                        col.assign(col &+ 1)
                    }
                }
            }

            // The window centred on this pixel (rows r−2 ... r, columns c−1 ... c+1) is a window
            // of the padded map when its top row is at least −pad_top, its columns within
            // −pad_left ... W−1+pad_right, and (stride 2) its top-left corner is on the even grid.
            // Its bottom row r never passes the last (inserted) row.
            let rowOk = m.wire("row_ok", mux(cur.padTop, row >= 1, row >= 2) && (!cur.stride2 || row[0] == cur.padTop))
            let colOk = m.wire("col_ok", (cur.padLeft || col >= 1) && (cur.padRight || !rowEnd)
                                         && (!cur.stride2 || col[0] != cur.padLeft))
            let centre = m.wire("centre", !flushing && !phantom && rowOk && colOk)
            let rowFromTop = m.wire("row_from_top", (row + cur.padTop) &- 2)
            let colFromLeft = m.wire("col_from_left", (col + cur.padLeft) &- 1)
            let outRow = m.wire("centre_out_row", mux(cur.stride2, rowFromTop >> 1, rowFromTop).truncate(to: hb))
            let outCol = m.wire("centre_out_col", mux(cur.stride2, colFromLeft >> 1, colFromLeft).truncate(to: cb))
            // Last: no later centre fits, i.e. one more step of the stride passes the last centre.
            let colGap = m.wire("col_gap", col + !cur.padRight)
            let lastRowOfCentres = mux(cur.stride2, row + 1 >= lastRow, row == lastRow)
            let lastColOfCentres = mux(cur.stride2, colGap + 1 >= lastCol, colGap == lastCol)
            let centreLast = m.wire("centre_last", lastRowOfCentres && lastColOfCentres)

            // MARK: stage 1: top padding, line buffer write, matrix buffer shift

            let s1Valid = m.reg("s1_valid", next: arrive, reset: 0, enable: !stall)
            let padPixel = flushing || inserting || phantom
            let s1Pixel = (0 ..< pc).map { c in m.reg("s1_pixel_\(c)", next: mux(padPixel, cur.zp, x[c]), enable: arrive) }
            let s1Row0 = m.reg("s1_row0", next: row == 0, enable: arrive)
            let s1Row1 = m.reg("s1_row1", next: row == 1, enable: arrive)
            let s1OnePixelWide = m.reg("s1_one_wide", next: cur.width == 1, enable: arrive)
            let s1Col = m.reg("s1_col", next: col, enable: arrive)
            let s1Zp = m.reg("s1_zp", next: cur.zp, enable: arrive)
            let s1Centre = m.reg("s1_centre", next: centre, enable: arrive)
            let s1PadLeft = m.reg("s1_pad_left", next: col == 0, enable: arrive)
            let s1PadRight = m.reg("s1_pad_right", next: rowEnd, enable: arrive)
            let s1OutRow = m.reg("s1_out_row", next: outRow, enable: arrive)
            let s1OutCol = m.reg("s1_out_col", next: outCol, enable: arrive)
            let s1Last = m.reg("s1_last", next: centreLast, enable: arrive)

            let advance = m.wire("advance", s1Valid && !stall)

            // The centre column of the matrix buffer is the pixel before the one in stage 1; its
            // window leaves with this shift.
            let centreValid = m.reg("centre_valid", next: s1Centre, reset: 0, enable: advance)
            let centrePadLeft = m.reg("centre_pad_left", next: s1PadLeft, reset: 0, enable: advance)
            let centrePadRight = m.reg("centre_pad_right", next: s1PadRight, reset: 0, enable: advance)
            let centreOutRow = m.reg("centre_row", next: s1OutRow, reset: 0, enable: advance)
            let centreOutCol = m.reg("centre_col", next: s1OutCol, reset: 0, enable: advance)
            let centreIsLast = m.reg("centre_is_last", next: s1Last, reset: 0, enable: advance)
            let centreZp = m.reg("centre_zp", next: s1Zp, reset: 0, enable: advance)

            let lb = m.instance(lineBuffer, "line_buffer")
            lb.rd_en.assign(arrive)
            lb.rd_addr.assign(col)
            lb.wr_en.assign(advance)
            lb.wr_addr.assign(s1Col)
            for c in 0 ..< pc { lb.port("in_\(c)").assign(s1Pixel[c]) }

            let mb = m.instance(matrixBuffer, "matrix_buffer")
            mb.shift.assign(advance)
            for c in 0 ..< pc {
                // A one-pixel-wide map has its previous row in the matrix buffer's right column.
                let above = mux(s1OnePixelWide, mb.port("newest_2_\(c)"), lb.port("prev_\(c)"))
                let above2 = mux(s1OnePixelWide, mb.port("newest_1_\(c)"), lb.port("prev2_\(c)"))
                mb.port("col_0_\(c)").assign(mux(s1Row0 || s1Row1, s1Zp, above2))
                mb.port("col_1_\(c)").assign(mux(s1Row0, s1Zp, above))
                mb.port("col_2_\(c)").assign(s1Pixel[c])
            }

            // MARK: stage 2: the window

            m.when(!stall) { s2Valid.assign(s1Valid && centreValid) }
            let s2PadLeft = m.reg("s2_pad_left", next: centrePadLeft, reset: 0, enable: advance)
            let s2PadRight = m.reg("s2_pad_right", next: centrePadRight, reset: 0, enable: advance)
            let s2Row = m.reg("s2_row", next: centreOutRow, reset: 0, enable: advance)
            let s2Col = m.reg("s2_col", next: centreOutCol, reset: 0, enable: advance)
            let s2Last = m.reg("s2_last", next: centreIsLast, reset: 0, enable: advance)
            let s2Zp = m.reg("s2_zp", next: centreZp, reset: 0, enable: advance)
            mb.pad_left.assign(s2PadLeft)
            mb.pad_right.assign(s2PadRight)
            mb.pad_value.assign(s2Zp)

            m.output("out_valid", s2Valid)
            m.output("out_row", s2Row)
            m.output("out_col", s2Col)
            m.output("out_last", s2Valid && s2Last)
            m.output("busy", running || s1Valid || s2Valid)
            for k in 0 ..< 9 {
                for c in 0 ..< pc { m.output("win_\(k)_\(c)", mb.port("win_\(k)_\(c)")) }
            }
        }
    }
}
