import HDLKit

/// The reshape unit's 3×3 matrix buffer (seed 003, section 3.5, Fig. 9(a)): three columns of three
/// rows of PC pixels each. A `shift` moves every column one place left and takes the new column
/// (`col_<row>_<c>`, row 0 on top) on the right, so after the shift the buffer holds the columns
/// of the last three pixels that arrived.
///
/// Window tap k = 3 × row + column (column 0 = leftmost = oldest): `win_<k>_<c>`.
///
/// Left/right padding is done here, on the outputs (the green and orange frames of Fig. 9(b)):
/// with `pad_left` the left column reads `pad_value`, with `pad_right` the right column does. That
/// turns the window straddling two rows (the end of one row, the start of the next) into a valid
/// padded window instead of a wasted one, which is where the (H+1)·W schedule comes from. The
/// seed zeroes these taps; here they read the input zero point, since TFLite's padding is
/// `in_zp` (x − in_zp = 0 in the engine).
///
/// The registers reset to 0 so no simulator ever sees an undefined window. `newest_1_*` and
/// `newest_2_*` are the right column's middle and bottom rows before padding, which the reshape unit
/// feeds back when the map is one pixel wide (then the line buffer would read the word it is still
/// writing).
public struct MatrixBuffer: Sendable {
    public let channels: Int
    public let dataWidth: Int

    /// `lanes`: pixel channels carried side by side (PC unless the caller widens it, e.g. PD·PC).
    public init(config: AcceleratorConfig, lanes: Int? = nil) {
        channels = max(lanes ?? config.pc, 1)
        dataWidth = config.dataWidth
    }

    /// Cycles from a column on `col_*` (with `shift`) to it appearing on the right of `win_*`.
    public var latency: Int { 1 }
    public var name: String { "MatrixBuffer_ch\(channels)_w\(dataWidth)" }

    public func module() -> Module {
        let pc = channels, w = dataWidth
        return Module(name) { m in
            let shift = m.input("shift", .bool)
            let column = (0 ..< 3).map { r in (0 ..< pc).map { m.input("col_\(r)_\($0)", .sint(w)) } }
            let padLeft = m.input("pad_left", .bool)
            let padRight = m.input("pad_right", .bool)
            let padValue = m.input("pad_value", .sint(w))

            // tap[k][c]; declared right to left so each register's next value already exists.
            var tap = [[Signal]](repeating: [], count: 9)
            for r in 0 ..< 3 {
                for col in stride(from: 2, through: 0, by: -1) {
                    let k = 3 * r + col
                    tap[k] = (0 ..< pc).map { c in
                        m.reg("tap_\(k)_\(c)", next: col == 2 ? column[r][c] : tap[k + 1][c], reset: 0, enable: shift)
                    }
                }
            }
            for k in 0 ..< 9 {
                for c in 0 ..< pc {
                    let v: Signal
                    switch k % 3 {
                    case 0: v = mux(padLeft, padValue, tap[k][c])
                    case 2: v = mux(padRight, padValue, tap[k][c])
                    default: v = tap[k][c]
                    }
                    m.output("win_\(k)_\(c)", v)
                }
            }
            for c in 0 ..< pc {
                m.output("newest_1_\(c)", tap[5][c])
                m.output("newest_2_\(c)", tap[8][c])
            }
        }
    }
}
