import HDLKit

/// The fields of a control record (docs/control.md), read from the record's words 0 ... 24 as the
/// control unit holds them. Only slicing and reinterpretation: no logic, so every field has the
/// record's own width.
public struct ControlRecordFields {
    /// The record's magic byte (word 0, bits 24-31).
    public static let magic = 0xC5
    /// Values of `op`.
    public static let opConv = 1, opCopy = 2
    /// Words the RTL reads (29 is reserved; 30 and 31 are the sequence and checksum).
    public static let usedWords = 29
    /// Slot offsets a record carries (bytes of words 26, 27, 28): at least any configuration's
    /// wide slots, min(PD, B / PC, PV) ≤ 9.
    public static let slotOffsetCount = 12
    /// Bytes of one record.
    public static let recordBytes = 128

    public let op, mode, magic: Signal
    public let first, last, loadParams, residual, resultSecond, stride2, padTop, padBottom, padLeft, padRight: Signal
    public let layer: Signal
    public let regionRows, regionCols, regionRow0, regionCol0, imageRows, imageCols: Signal
    public let inputAddress, inputPixelStride, inputRowStride: Signal
    public let inChunk, fillValue, outChunk, outZeroPoint: Signal
    public let weightAddress, weightBeats, paramRecords, parameterAddress: Signal
    public let outputAddress, outputPixelStride, outputRowStride, outputRows, outputCols, residualAddress: Signal
    public let activationMin, activationMax: Signal
    public let addInput1Offset, addInput2Offset, addInput1Multiplier, addInput2Multiplier, addOutputMultiplier: Signal
    public let addInput1Shift, addInput2Shift, addOutputShift, addOutputOffset, addMin, addMax: Signal
    public let pruningThreshold: Signal
    public let keep, replay, wide, singleSlice, oneTapPerBeat, bufferRow0: Signal
    /// The residual as a span of whole pixels (word 0 bit 21), kept from an earlier pass (bit 22),
    /// a position's byte offset in its pixel (word 24 bits 8-15), the span's beats (word 25 bits 16-31).
    public let residualSpan, residualKept, residualOffset, residualBeats: Signal
    /// Wide slot s's offset into the beat, in `AcceleratorConfig.slotOffsetUnit` bytes.
    public let slotOffsets: [Signal]
    /// A depthwise beat's positions P (word 24 bits 16-19; 0 and 1: one) of Q channel slices each
    /// (bits 20-23), or of half a slice (bit 24).
    public let depthwisePositions, positionSlices, positionHalf: Signal

    /// `w` holds words 0 ..< `usedWords`, each uint(32); `chunkWidth`: the chunks' width
    /// (AcceleratorConfig.chunkWidth), 8, or 9 with bit 8 from word 24 (bit 25 in, bit 26 out).
    public init(words w: [Signal], chunkWidth: Int) {
        func lo16(_ x: Signal) -> Signal { x.bits(15, 0) }
        func hi16(_ x: Signal) -> Signal { x.bits(31, 16) }
        func byte(_ x: Signal, _ i: Int) -> Signal { x.bits(8 * i + 7, 8 * i) }
        op = w[0].bits(3, 0)
        mode = w[0].bits(5, 4)
        first = w[0][6]; last = w[0][7]; loadParams = w[0][8]; residual = w[0][9]; resultSecond = w[0][10]
        stride2 = w[0][11]; padTop = w[0][12]; padBottom = w[0][13]; padLeft = w[0][14]; padRight = w[0][15]
        magic = w[0].bits(31, 24)
        layer = w[1]
        regionRows = lo16(w[2]); regionCols = hi16(w[2])
        regionRow0 = lo16(w[3]).asSigned; regionCol0 = hi16(w[3]).asSigned
        imageRows = lo16(w[4]); imageCols = hi16(w[4])
        inputAddress = w[5]; inputPixelStride = w[6]; inputRowStride = w[7]
        func chunk(_ low: Int, _ high: Int) -> Signal { chunkWidth > 8 ? cat(w[24][high], byte(w[8], low)) : byte(w[8], low) }
        inChunk = chunk(0, 25); fillValue = byte(w[8], 1).asSigned; outChunk = chunk(2, 26); outZeroPoint = byte(w[8], 3).asSigned
        weightAddress = w[9]
        weightBeats = lo16(w[10]); paramRecords = hi16(w[10])
        parameterAddress = w[11]
        outputAddress = w[12]; outputPixelStride = w[13]; outputRowStride = w[14]
        outputRows = lo16(w[15]); outputCols = hi16(w[15])
        residualAddress = w[16]
        activationMin = byte(w[17], 0).asSigned; activationMax = byte(w[17], 1).asSigned
        addInput1Offset = lo16(w[18]).asSigned; addInput2Offset = hi16(w[18]).asSigned
        addInput1Multiplier = w[19].asSigned; addInput2Multiplier = w[20].asSigned; addOutputMultiplier = w[21].asSigned
        addInput1Shift = byte(w[22], 0).asSigned; addInput2Shift = byte(w[22], 1).asSigned
        addOutputShift = byte(w[22], 2).asSigned; addOutputOffset = byte(w[22], 3).asSigned
        addMin = byte(w[23], 0).asSigned; addMax = byte(w[23], 1).asSigned
        pruningThreshold = byte(w[24], 0)
        keep = w[0][16]; replay = w[0][17]; wide = w[0][18]; singleSlice = w[0][19]; oneTapPerBeat = w[0][20]
        bufferRow0 = lo16(w[25])
        residualSpan = w[0][21]; residualKept = w[0][22]; residualOffset = byte(w[24], 1); residualBeats = hi16(w[25])
        slotOffsets = (0 ..< Self.slotOffsetCount).map { byte(w[26 + $0 / 4], $0 % 4) }
        depthwisePositions = w[24].bits(19, 16); positionSlices = w[24].bits(23, 20); positionHalf = w[24][24]
    }

    /// The ExecutionUnit's pass-configuration ports (/work/EXECUTION_UNIT.md), name and value;
    /// `slots`: the wide slots the execution unit has (AcceleratorConfig.wideSlots when wide passes
    /// exist, else 0); `singleSlice`: whether it has `singleSlice` passes (more single-slice slots
    /// than two-slice ones); `oneTap`: whether folded beats fill more than one tap lane, so a pass
    /// may ask for one (`AcceleratorConfig.foldTaps` > 1); `positions`: whether a depthwise beat
    /// may carry several positions (`AcceleratorConfig.depthwiseSlices` > 1).
    public func executionPorts(isCopy: Signal, slots: Int, singleSlice hasSingle: Bool, oneTap hasOneTap: Bool,
                               positions hasPositions: Bool) -> [(String, Signal)] {
        (0 ..< slots).map { ("slot_offset_\($0)", slotOffsets[$0]) } + [
            ("op_copy", isCopy), ("mode", mode), ("first", first), ("last", last), ("load_params", loadParams),
            ("residual", residual), ("result_second", resultSecond), ("stride2", stride2),
            ("pad_top", padTop), ("pad_bottom", padBottom), ("pad_left", padLeft), ("pad_right", padRight),
            ("region_rows", regionRows), ("region_cols", regionCols), ("out_rows", outputRows), ("out_cols", outputCols),
            ("out_chunk", outChunk), ("fill_value", fillValue), ("out_zp", outZeroPoint),
            ("act_min", activationMin), ("act_max", activationMax),
            ("add_in1_offset", addInput1Offset), ("add_in2_offset", addInput2Offset),
            ("add_in1_multiplier", addInput1Multiplier), ("add_in2_multiplier", addInput2Multiplier),
            ("add_out_multiplier", addOutputMultiplier),
            ("add_in1_shift", addInput1Shift), ("add_in2_shift", addInput2Shift), ("add_out_shift", addOutputShift),
            ("add_out_offset", addOutputOffset), ("add_min", addMin), ("add_max", addMax),
            ("threshold", pruningThreshold), ("param_records", paramRecords), ("weight_beats", weightBeats),
            ("keep", keep), ("replay", replay), ("wide", wide), ("buffer_row0", bufferRow0),
            ("residual_span", residualSpan), ("residual_stride", outputPixelStride.bits(15, 0)), ("residual_offset", residualOffset),
        ] + (hasSingle ? [("single_slice", singleSlice)] : []) + (hasOneTap ? [("one_tap", oneTapPerBeat)] : [])
            + (hasPositions ? [("dw_positions", depthwisePositions), ("position_slices", positionSlices), ("position_half", positionHalf)] : [])
    }
}
