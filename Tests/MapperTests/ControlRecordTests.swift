import Mapper
import XCTest

/// The 128-byte control record of docs/control.md: field positions checked against bytes derived
/// by hand from the table, and every check the decoder makes.
final class ControlRecordTests: XCTestCase {
    /// FNV-1a 32 written out here, independently of the encoder.
    private func fnv(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        var h: UInt32 = 2_166_136_261
        for b in bytes { h = (h ^ UInt32(b)) &* 16_777_619 }
        return [UInt8(h & 255), UInt8(h >> 8 & 255), UInt8(h >> 16 & 255), UInt8(h >> 24)]
    }

    private var sample: ControlRecord {
        var r = ControlRecord()
        r.op = .copy; r.mode = .standard; r.first = true; r.last = true
        r.layer = 7
        r.regionRows = 3; r.regionCols = 5; r.regionRow0 = -1; r.regionCol0 = -2
        r.imageRows = 0x1234; r.imageCols = 2
        r.inputAddress = 0xA1B2_C3D4
        r.inChunk = 16; r.fillValue = -3; r.outChunk = 4; r.outZeroPoint = -128
        r.weightBeats = 9; r.paramRecords = 16
        r.outputRows = 2; r.outputCols = 300
        r.activationMin = -100; r.activationMax = 6
        r.add.input1Offset = -1; r.add.input2Offset = 14; r.add.input1Multiplier = Int32.min; r.add.input1Shift = -1; r.add.outputOffset = 5
        r.pruningThreshold = 3
        r.sequence = 0
        return r
    }

    func testFieldsLandOnTheWordsAndBitsOfTheTable() throws {
        let b = try sample.encoded()
        XCTAssertEqual(b.count, 128)
        // word 0: op 2, mode 0, first (bit 6) and last (bit 7), magic 0xC5 in bits 24-31.
        XCTAssertEqual(Array(b[0 ..< 4]), [0xC2, 0x00, 0x00, 0xC5])
        XCTAssertEqual(Array(b[4 ..< 8]), [7, 0, 0, 0])
        XCTAssertEqual(Array(b[8 ..< 12]), [3, 0, 5, 0])
        XCTAssertEqual(Array(b[12 ..< 16]), [0xFF, 0xFF, 0xFE, 0xFF])
        XCTAssertEqual(Array(b[16 ..< 20]), [0x34, 0x12, 2, 0])
        XCTAssertEqual(Array(b[20 ..< 24]), [0xD4, 0xC3, 0xB2, 0xA1])
        XCTAssertEqual(Array(b[32 ..< 36]), [16, 0xFD, 4, 0x80])
        XCTAssertEqual(Array(b[40 ..< 44]), [9, 0, 16, 0])
        XCTAssertEqual(Array(b[60 ..< 64]), [2, 0, 0x2C, 0x01])
        XCTAssertEqual(Array(b[68 ..< 72]), [0x9C, 6, 0, 0])
        XCTAssertEqual(Array(b[72 ..< 76]), [0xFF, 0xFF, 14, 0])
        XCTAssertEqual(Array(b[76 ..< 80]), [0, 0, 0, 0x80])
        XCTAssertEqual(Array(b[88 ..< 92]), [0xFF, 0, 0, 5])
        XCTAssertEqual(Array(b[96 ..< 100]), [3, 0, 0, 0])
        XCTAssertEqual(Array(b[100 ..< 120]), [UInt8](repeating: 0, count: 20), "words 25 (no buffer row), 26-28 (no slot offsets) and 29 are clear")
        XCTAssertEqual(Array(b[124 ..< 128]), fnv(b[0 ..< 124]))
        XCTAssertEqual(try ControlRecord.decode(b[0 ..< 128], expectedSequence: 0), sample)
        // The input-buffer fields: keep (word 0 bit 16), replay (bit 17), bufferRow0 (word 25 bits 0-15).
        var kept = sample; kept.op = .conv; kept.mode = .folded; kept.keep = true; kept.bufferRow0 = 0x1234
        let k = try kept.encoded()
        XCTAssertEqual(Array(k[0 ..< 4]), [0xF1, 0x00, 0x01, 0xC5])
        XCTAssertEqual(Array(k[100 ..< 104]), [0x34, 0x12, 0, 0])
        XCTAssertEqual(try ControlRecord.decode(k[0 ..< 128], expectedSequence: 0), kept)
        var replayed = kept; replayed.keep = false; replayed.replay = true
        XCTAssertEqual(try replayed.encoded()[2], 0x02)
        // A wide pointwise pass: word 0 bit 18.
        var wide = sample; wide.op = .conv; wide.mode = .pointwise; wide.wide = true
        let w = try wide.encoded()
        XCTAssertEqual(w[2], 0x04)
        XCTAssertEqual(try ControlRecord.decode(w[0 ..< 128], expectedSequence: 0), wide)
        // Single-slice slots: word 0 bit 19 beside it.
        var single = wide; single.singleSlice = true
        let s1 = try single.encoded()
        XCTAssertEqual(s1[2], 0x0C)
        XCTAssertEqual(try ControlRecord.decode(s1[0 ..< 128], expectedSequence: 0), single)
        // One tap lane per beat on a folded pass: word 0 bit 20.
        var oneTap = kept; oneTap.oneTapPerBeat = true
        let o1 = try oneTap.encoded()
        XCTAssertEqual(o1[2], 0x11)
        XCTAssertEqual(try ControlRecord.decode(o1[0 ..< 128], expectedSequence: 0), oneTap)
        // A residual span: word 0 bit 21 (bit 22 kept), residualOffset in word 24 bits 8-15,
        // residualBeats in word 25 bits 16-31.
        var span = sample; span.op = .conv; span.residual = true; span.residualSpan = true; span.residualOffset = 16; span.residualBeats = 0x0106
        let sp = try span.encoded()
        XCTAssertEqual(Array(sp[0 ..< 4]), [0xC1, 0x02, 0x20, 0xC5])
        XCTAssertEqual(Array(sp[96 ..< 104]), [3, 16, 0, 0, 0, 0, 0x06, 0x01])
        XCTAssertEqual(try ControlRecord.decode(sp[0 ..< 128], expectedSequence: 0), span)
        var kept2 = span; kept2.residualKept = true
        XCTAssertEqual(try kept2.encoded()[2], 0x60)
        XCTAssertEqual(try ControlRecord.decode(try kept2.encoded()[0 ..< 128], expectedSequence: 0), kept2)
        var stray = sample; stray.residualKept = true
        XCTAssertThrowsError(try ControlRecord.decode(try stray.encoded()[0 ..< 128], expectedSequence: 0)) { e in
            XCTAssertTrue("\(e)".contains("residualKept without residualSpan"), "\(e)")
        }
        // A depthwise beat of 3 positions of 2 slices: word 24 bits 16-19 and 20-23 (byte 98).
        var positions = sample; positions.op = .conv; positions.mode = .depthwise; positions.depthwisePositions = 3; positions.positionSlices = 2
        let dp = try positions.encoded()
        XCTAssertEqual(Array(dp[96 ..< 100]), [3, 0, 0x23, 0])
        XCTAssertEqual(try ControlRecord.decode(dp[0 ..< 128], expectedSequence: 0), positions)
        var lonely = positions; lonely.positionSlices = 0
        XCTAssertThrowsError(try ControlRecord.decode(try lonely.encoded()[0 ..< 128], expectedSequence: 0)) { e in
            XCTAssertTrue("\(e)".contains("depthwisePositions 3 with positionSlices 0 (both set, or neither)"), "\(e)")
        }
        var pointwise = positions; pointwise.mode = .pointwise
        XCTAssertThrowsError(try ControlRecord.decode(try pointwise.encoded()[0 ..< 128], expectedSequence: 0)) { e in
            XCTAssertTrue("\(e)".contains("depthwisePositions on a pass that is not depthwise"), "\(e)")
        }
        // Positions of half a slice: word 24 bit 24, with positionSlices 1.
        var half = positions; half.depthwisePositions = 12; half.positionSlices = 1; half.positionHalfSlice = true
        XCTAssertEqual(Array(try half.encoded()[96 ..< 100]), [3, 0, 0x1C, 1])
        XCTAssertEqual(try ControlRecord.decode(try half.encoded()[0 ..< 128], expectedSequence: 0), half)
        var halfOfTwo = half; halfOfTwo.positionSlices = 2
        XCTAssertThrowsError(try ControlRecord.decode(try halfOfTwo.encoded()[0 ..< 128], expectedSequence: 0)) { e in
            XCTAssertTrue("\(e)".contains("positionHalfSlice without depthwisePositions, or with positionSlices 2, not 1"), "\(e)")
        }
        var tooWide = positions; tooWide.depthwisePositions = 16
        XCTAssertThrowsError(try tooWide.encoded()) { e in XCTAssertTrue("\(e)".contains("field depthwisePositions = 16 outside 0...15"), "\(e)") }
        // Slot offsets: byte s of words 26, 27, 28 (bytes 104 + s).
        var packed = wide; packed.slotOffsets = [0, 0, 2, 2, 0, 0, 0, 0, 0, 7]
        let p = try packed.encoded()
        XCTAssertEqual(Array(p[104 ..< 116]), [0, 0, 2, 2, 0, 0, 0, 0, 0, 7, 0, 0])
        XCTAssertEqual(try ControlRecord.decode(p[0 ..< 128], expectedSequence: 0), packed)
        var tooMany = wide; tooMany.slotOffsets = [UInt8](repeating: 1, count: 13).map(Int.init)
        XCTAssertThrowsError(try tooMany.encoded()) { e in XCTAssertTrue("\(e)".contains("13 slot offsets; words 26-28 hold 12"), "\(e)") }
    }

    func testFlagsPadsAndModesRoundTrip() throws {
        var r = sample
        r.op = .conv; r.mode = .depthwise; r.first = false; r.loadParams = true; r.residual = true; r.resultIsSecond = true; r.stride2 = true
        r.padTop = 1; r.padRight = 1
        let b = try r.encoded()
        // op 1 | mode 2 << 4 | last << 7 | loadParams << 8 | residual << 9 | second << 10 | stride2 << 11 | padTop << 12 | padRight << 15
        XCTAssertEqual(Array(b[0 ..< 4]), [0xA1, 0x9F, 0x00, 0xC5])
        XCTAssertEqual(try ControlRecord.decode(b[0 ..< 128], expectedSequence: 0), r)
    }

    /// At B = 256 a chunk may be 256: its low 8 bits stay in word 8, bit 8 is word 24's bit 25
    /// (inChunk) or 26 (outChunk), so every record of a narrower stream is unchanged.
    func testChunksAboveOneHundredTwentyEightCarryBitEightInWordTwentyFour() throws {
        var r = sample
        r.inChunk = 256; r.outChunk = 144
        let b = try r.encoded()
        XCTAssertEqual(b[32], 0x00, "inChunk 256, low byte")
        XCTAssertEqual(b[34], 0x90, "outChunk 144, low byte")
        // Word 24: threshold 3; byte 3 holds bits 24-31: inChunk bit 8 at bit 25 and outChunk's (0) at 26.
        XCTAssertEqual(Array(b[96 ..< 100]), [0x03, 0x00, 0x00, 0x02])
        XCTAssertEqual(try ControlRecord.decode(b[0 ..< 128], expectedSequence: 0), r)
        r.inChunk = 100; r.outChunk = 256
        let c = try r.encoded()
        XCTAssertEqual([c[32], c[34], c[99]], [100, 0x00, 0x04])
        XCTAssertEqual(try ControlRecord.decode(c[0 ..< 128], expectedSequence: 0), r)
    }

    func testTheEncoderNamesTheFieldThatDoesNotFit() {
        for (mutate, field) in [({ (r: inout ControlRecord) in r.inChunk = 0 }, "inChunk"), ({ $0.outChunk = 257 }, "outChunk"), ({ $0.regionRow0 = -40000 }, "regionRow0"),
                                ({ $0.padTop = 2 }, "padTop"), ({ $0.fillValue = 128 }, "fillValue"), ({ $0.outputCols = 0 }, "outputCols"),
                                ({ $0.slotOffsets = [1, 256] }, "slotOffsets[1]")] {
            var r = sample
            mutate(&r)
            XCTAssertThrowsError(try r.encoded()) { e in XCTAssertTrue("\(e)".contains("field \(field) "), "\(e)") }
        }
    }

    func testTheDecoderRefusesCorruptedReorderedAndReservedRecords() throws {
        let good = try sample.encoded()
        func expectError(_ bytes: [UInt8], sequence: Int = 0, _ text: String, line: UInt = #line) {
            XCTAssertThrowsError(try ControlRecord.decode(bytes[0 ..< bytes.count], expectedSequence: sequence), line: line) { e in
                XCTAssertTrue("\(e)".contains(text), "\(e)", line: line)
            }
        }
        func resealed(_ b: [UInt8]) -> [UInt8] { Array(b[0 ..< 124]) + fnv(b[0 ..< 124]) }
        var flipped = good; flipped[20] ^= 1
        expectError(flipped, "checksum")
        var magic = good; magic[3] = 0xD5
        expectError(resealed(magic), "bad magic")
        expectError(good, sequence: 1, "sequence number 0")
        var reserved = good; reserved[2] = 0x80   // word 0 bit 23, the reserved one
        expectError(resealed(reserved), "reserved")
        var word24 = good; word24[99] = 8   // word 24 bits 27-31
        expectError(resealed(word24), "reserved")
        var chunkHigh = good; chunkHigh[99] = 2   // inChunk bit 8: 16 + 256
        expectError(resealed(chunkHigh), "chunk sizes 272/4 outside 1...256")
        var word29 = good; word29[116] = 1
        expectError(resealed(word29), "reserved")
        var op = good; op[0] = (op[0] & 0xF0) | 3
        expectError(resealed(op), "unknown op 3")
        // Every 2-bit mode is a mode: 3 is the folded pass.
        var mode = good; mode[0] |= 0x30
        XCTAssertEqual(try ControlRecord.decode(resealed(mode)[...], expectedSequence: 0).mode, .folded)
        expectError(Array(good.prefix(100)), "100 bytes")
        XCTAssertThrowsError(try ControlRecord.decodeStream(good + good)) { e in XCTAssertTrue("\(e)".contains("control record 1: sequence number 0"), "\(e)") }
    }
}
