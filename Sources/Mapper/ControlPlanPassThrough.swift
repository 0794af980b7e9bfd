import Accelerator
import Reference

/// Passes that move bytes through the engine unchanged (weights of 1 on chosen lanes, the exact
/// multiplier of a division by 1): how the space-to-depth image and a transposed input are built.
extension PlanBuilder {
    /// `count` positions of `width` elements: the whole ones as one run, then the rest as one
    /// shorter position (the runs of the byte-moving passes below).
    static func runs(of count: Int, by width: Int) -> [(first: Int, positions: Int, width: Int)] {
        var runs = [(first: Int, positions: Int, width: Int)]()
        if count / width > 0 { runs.append((0, count / width, width)) }
        if count % width > 0 { runs.append((count / width * width, 1, count % width)) }
        return runs
    }

    /// The parameter block of a pass group that moves bytes unchanged through the engine: bias 0
    /// and `unit`, the exact multiplier of a division by 1, on `lanes` output lanes, one group of
    /// PF lanes per filter group (a wide pass's parameter groups).
    mutating func passThroughParameters(lanes: Int, unit: (multiplier: Int32, shift: Int)) throws -> UInt32 {
        let pf = config.pf
        return try parameterBlock(slices: (0 ..< (lanes + pf - 1) / pf).map { v in
            (0 ..< min(pf, lanes - v * pf)).map { _ in (0, unit.multiplier, Int32(unit.shift)) }
        })
    }

    /// The weight set of such a pass: input byte b (slice b / PC of the beat) goes to output lane
    /// `lane(b)` with weight 1. In the wide layout that is pixel lane (b / PC)·S + L / PF, filter
    /// L mod PF, byte (((b / PC)·S + L / PF)·PC + b mod PC)·PF + L mod PF; with one slice and one
    /// filter group it is the pointwise layout.
    mutating func passThroughWeights(inputBytes: Int, lanes: Int, _ lane: (Int) -> Int) throws -> (address: UInt32, beats: Int) {
        let pc = config.pc, pf = config.pf, s = config.pointwiseSlices
        let groups = (lanes + pf - 1) / pf, beatSlices = (inputBytes + pc - 1) / pc
        var set = [UInt8](repeating: 0, count: ((beatSlices - 1) * s + groups) * pc * pf)
        for b in 0 ..< inputBytes {
            let l = lane(b)
            set[(((b / pc) * s + l / pf) * pc + b % pc) * pf + l % pf] = 1
        }
        return try weightSet(set)
    }

    /// The same on single-slice slots (`singleSlice`): slot s, output lanes s·PF ..< (s + 1)·PF,
    /// takes the PC bytes of the beat from its offset o_s·U on, the lowest multiple of U at or
    /// below its first input byte, so its weights are byte ((s·PC + b − o_s·U)·PF + L mod PF).
    /// Nil where a slot's input bytes span more than that slice.
    mutating func passThroughSingleSlice(inputBytes: Int, lanes: Int, _ lane: (Int) -> Int) throws -> (set: (address: UInt32, beats: Int), offsets: [Int])? {
        let pc = config.pc, pf = config.pf, unit = config.slotOffsetUnit
        let slots = (lanes + pf - 1) / pf
        guard slots <= config.singleSliceSlots else { return nil }
        var bytes = [[Int]](repeating: [], count: slots)
        for b in 0 ..< inputBytes { bytes[lane(b) / pf].append(b) }
        let offsets = bytes.map { ($0.min() ?? 0) / unit }
        for s in 0 ..< slots where !bytes[s].isEmpty {
            guard bytes[s].max()! < offsets[s] * unit + pc, offsets[s] < config.slotOffsetChoices else { return nil }
        }
        var set = [UInt8](repeating: 0, count: slots * pc * pf)
        for (s, slot) in bytes.enumerated() {
            for b in slot { set[(s * pc + b - offsets[s] * unit) * pf + lane(b) % pf] = 1 }
        }
        return (try weightSet(set), offsets.allSatisfy { $0 == 0 } ? [] : offsets)
    }

    /// Either of the two above: the set and its slot offsets (none on two-slice slots).
    mutating func passThrough(singleSlice: Bool, inputBytes: Int, lanes: Int, _ lane: (Int) -> Int) throws
        -> (set: (address: UInt32, beats: Int), offsets: [Int])? {
        guard singleSlice else { return (try passThroughWeights(inputBytes: inputBytes, lanes: lanes, lane), []) }
        return try passThroughSingleSlice(inputBytes: inputBytes, lanes: lanes, lane)
    }
}
