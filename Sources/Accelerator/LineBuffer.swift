import HDLKit

/// The two rows of the reshape unit's line buffer (seed 003, section 3.5, Fig. 9(a)): for the pixel
/// arriving at column `c` of row `r` it returns rows `r - 1` and `r - 2` at that column, so the
/// matrix buffer receives a whole 3-row column per cycle.
///
/// Each row is one block RAM of `maxRowWidth` words of PC × dataWidth bits (all PC channels of a pixel
/// in one word: the channels always travel together, and one wide BRAM per row is what the FPGA
/// has, rather than PC narrow ones).
///
/// Protocol (a two-step pipeline the reshape unit drives):
///   - cycle t:   `rd_en` with `rd_addr = c`. The read is registered: `prev_*` (row r-1) and
///                `prev2_*` (row r-2) show column `c` in cycle t+1 and hold while `rd_en` is low.
///   - cycle t+1 or later, before the next read of `c`: `wr_en` with `wr_addr = c` and `in_*` = the
///                arriving pixel. Row r-1 becomes row r-2 (`prev2[c] <- prev[c]`, the value just
///                read) and the pixel becomes row r-1 (`prev[c] <- in`).
/// A read and a write of the same address in one cycle return the old word (read-first); the unit
/// never relies on it, because consecutive pixels of a row sit at different addresses.
public struct LineBuffer: Sendable {
    public let channels: Int
    public let dataWidth: Int
    public let depth: Int

    /// `lanes`: pixel channels carried side by side (PC unless the caller widens it, e.g. PD·PC).
    public init(config: AcceleratorConfig, lanes: Int? = nil) {
        channels = max(lanes ?? config.pc, 1)
        dataWidth = config.dataWidth
        depth = config.maxRowWidth
    }

    public var addressBits: Int { addressWidth(depth) }
    /// Cycles from `rd_en` to the data on `prev_*`/`prev2_*`.
    public var latency: Int { 1 }
    public var name: String { "LineBuffer_ch\(channels)_w\(dataWidth)_d\(depth)" }

    public func module() -> Module {
        let pc = channels, w = dataWidth, d = depth, ab = addressBits
        return Module(name) { m in
            let rdEn = m.input("rd_en", .bool)
            let rdAddr = m.input("rd_addr", .uint(ab))
            let wrEn = m.input("wr_en", .bool)
            let wrAddr = m.input("wr_addr", .uint(ab))
            let pixel = (0 ..< pc).map { m.input("in_\($0)", .sint(w)) }

            // Channel 0 in the low bits.
            let word = HWType.uint(pc * w)
            let row1 = m.memory("row1", depth: d, word, style: .block)
            let row2 = m.memory("row2", depth: d, word, style: .block)
            let q1 = row1.read(rdAddr, enable: rdEn, name: "row1_q")
            let q2 = row2.read(rdAddr, enable: rdEn, name: "row2_q")
            row1.write(wrAddr, cat(pixel.reversed()), enable: wrEn)
            row2.write(wrAddr, q1, enable: wrEn)

            for c in 0 ..< pc {
                m.output("prev_\(c)", q1.bits(c * w + w - 1, c * w).asSigned)
                m.output("prev2_\(c)", q2.bits(c * w + w - 1, c * w).asSigned)
            }
        }
    }
}
