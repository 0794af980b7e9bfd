import Accelerator
import Reference

/// The cycle model (issue 7): predicts each instruction's cycles from the units' documented
/// schedules, so design-space sweeps over PC/PF/PD/PV and bandwidth run in seconds. Every term is
/// named here and in docs/instructions.md ("Cycle model"); the RTL is to be checked against it.
///
/// Per instruction:
///   compute   = passes × (passCycles + sliceSwitchCycles) + pipelineFillCycles
///   transfer  = ceil(externalBytes / bandwidth)
///   cycles    = max(compute, transfer) + instructionOverheadCycles
/// `max` because input, weight and output buffers are ping-pong (Fig. 12): loading the next block
/// and storing the previous one overlap the computation of the current one.
public enum CycleModel {
    /// Decode, address setup and the quantization-parameter FIFO handshake of one instruction.
    public static let instructionOverheadCycles = 32
    /// Bubble between two slice passes (weight block swap, accumulator hand-over).
    public static let sliceSwitchCycles = 2
    /// Engine product register + adder tree + quantization unit, paid once per instruction.
    public static let pipelineFillCycles = 12
    /// Default external memory bandwidth, bytes per cycle.
    public static let defaultBandwidth = 64.0

    public enum Bound: String, Sendable { case compute, bandwidth, control }

    public struct Entry: Sendable {
        public var layer: Int
        public var name: String
        public var kind: String
        public var instructions: Int
        public var cycles: Int
        public var computeCycles: Int
        public var transferCycles: Int
        public var overheadCycles: Int
        public var macs: Int
        /// MACs / (cycles × PK·PC·PF multipliers).
        public var utilisation: Double
        public var bytesIn: Int
        public var bytesOut: Int
        public var bound: Bound
    }

    public struct Estimate: Sendable {
        public var layers: [Entry]
        public var config: AcceleratorConfig
        public var bandwidth: Double
        public var cycles: Int { layers.reduce(0) { $0 + $1.cycles } }
        public var macs: Int { layers.reduce(0) { $0 + $1.macs } }
        public var seconds: Double { Double(cycles) / (config.clockMHz * 1e6) }
        public var fps: Double { seconds > 0 ? 1 / seconds : 0 }
        /// Two operations per MAC, as the paper counts GOPS.
        public var gops: Double { seconds > 0 ? 2 * Double(macs) / seconds / 1e9 : 0 }
        public var utilisation: Double { cycles > 0 ? Double(macs) / (Double(cycles) * Double(config.multipliers)) : 0 }
    }

    /// One instruction's terms.
    public struct Terms: Sendable, Equatable {
        public var passes: Int
        public var passCycles: Int
        public var compute: Int
        public var transfer: Int
        public var cycles: Int
        public var macs: Int
        public var bytesIn: Int
        public var bytesOut: Int
    }

    static func ceilDiv(_ a: Int, _ b: Int) -> Int { (a + b - 1) / b }

    /// The terms of one instruction at `config` with `bandwidth` bytes per cycle.
    public static func terms(_ i: Instruction, config c: AcceleratorConfig, bandwidth: Double = defaultBandwidth) -> Terms {
        let ho = i.outputHeight, wo = i.tileOutColumns
        // Columns the line buffer actually stores: the tile without its padding columns.
        let storedColumns = max(1, min(i.tileInColumn + i.tileInColumns, i.inputWidth) - max(i.tileInColumn, 0))
        // The reshape unit's schedule: (H + 1)·W cycles per PC-channel slice (the extra row flushes
        // the bottom padding), one window per cycle.
        let reshapePass = (i.inputHeight + 1) * storedColumns
        var passes = 1, pass = 0, macs = 0
        var weightBytes = 0, parameterBytes = 0, inputReads = 1
        switch i.kind {
        case .convolution:
            passes = i.filterSlices * i.pieces * i.channelSlices
            pass = max(reshapePass, ho * wo)
            macs = ho * wo * i.outputChannels * i.kernelHeight * i.kernelWidth * i.inputChannels
            weightBytes = passes * 9 * c.pc * c.pf
            parameterBytes = i.filterSlices * c.pf * Slicing.parameterRecordBytes
            inputReads = inputFits(i, c) ? 1 : i.filterSlices * i.pieces
        case .depthwise:
            // PD windows per cycle: one reshape stream per RAM-M bank, each on its own band of rows.
            passes = i.channelSlices * i.pieces
            pass = max(ceilDiv(reshapePass, c.pd), ceilDiv(ho * wo, c.pd))
            macs = ho * wo * i.outputChannels * i.kernelHeight * i.kernelWidth
            weightBytes = passes * 9 * c.pc
            parameterBytes = i.channelSlices * c.pc * Slicing.parameterRecordBytes
            inputReads = inputFits(i, c) ? 1 : i.pieces
        case .pointwise:
            passes = i.filterSlices * i.channelSlices
            pass = ceilDiv(ho * wo, c.pv)
            macs = ho * wo * i.outputChannels * i.inputChannels
            weightBytes = passes * c.pc * c.pf
            parameterBytes = i.filterSlices * c.pf * Slicing.parameterRecordBytes
            inputReads = inputFits(i, c) ? 1 : i.filterSlices
        case .fullyConnected:
            passes = i.batches * i.filterSlices * i.channelSlices
            pass = 1
            macs = i.batches * i.outputChannels * i.inputChannels
            weightBytes = i.filterSlices * i.channelSlices * Slicing.fullyConnectedChunk(c) * c.pf
            parameterBytes = i.filterSlices * c.pf * Slicing.parameterRecordBytes
        case .averagePool, .mean:
            // The pooling unit reads PC channels of one pixel per cycle.
            passes = i.channelSlices
            pass = i.inputHeight * i.inputWidth
        case .add:
            passes = 1
            pass = ceilDiv(i.inputChannels, c.pv * c.pf)
        case .transpose, .pad:
            passes = 0   // pure data movement: only the transfer term
        }
        let inputBytes = inputElements(i)
        let outputBytes = outputElements(i)
        var bytesIn = weightBytes + parameterBytes
        if i.inputRoute == .external { bytesIn += inputBytes * inputReads }
        if i.fusedAdd && i.residualRoute == .external { bytesIn += outputBytes }
        let bytesOut = i.outputRoute == .external ? outputBytes : 0
        let compute = passes == 0 ? 0 : passes * (pass + sliceSwitchCycles) + pipelineFillCycles
        let transfer = Int((Double(bytesIn + bytesOut) / bandwidth).rounded(.up))
        return Terms(passes: passes, passCycles: pass, compute: compute, transfer: transfer,
                     cycles: max(compute, transfer) + instructionOverheadCycles, macs: macs, bytesIn: bytesIn, bytesOut: bytesOut)
    }

    /// Whether the instruction's whole input (its tile) fits the input buffer of `inputBufferDepth`
    /// PC-channel words, so later filter slices and pieces re-read it on chip, not from memory.
    static func inputFits(_ i: Instruction, _ c: AcceleratorConfig) -> Bool {
        ceilDiv(inputElements(i), max(i.inputChannels, 1)) * ceilDiv(i.inputChannels, c.pc) <= c.inputBufferDepth
    }

    /// Input bytes one instruction reads (its column tile for windowed kinds).
    static func inputElements(_ i: Instruction) -> Int {
        switch i.kind {
        case .convolution, .depthwise:
            let stored = max(1, min(i.tileInColumn + i.tileInColumns, i.inputWidth) - max(i.tileInColumn, 0))
            return i.inputHeight * stored * i.inputChannels
        case .pointwise, .averagePool, .mean, .pad: return i.inputHeight * i.inputWidth * i.inputChannels
        case .fullyConnected: return i.batches * i.inputChannels
        case .add: return 2 * i.inputChannels
        case .transpose: return i.inputChannels
        }
    }

    static func outputElements(_ i: Instruction) -> Int {
        switch i.kind {
        case .convolution, .depthwise, .pointwise: return i.outputHeight * i.tileOutColumns * i.outputChannels
        case .averagePool, .pad: return i.outputHeight * i.outputWidth * i.outputChannels
        case .mean: return i.outputChannels
        case .fullyConnected: return i.batches * i.outputChannels
        case .add, .transpose: return i.outputChannels
        }
    }

    /// Per-layer estimate of a compiled program.
    public static func estimate(_ program: Program, network: Network, bandwidth: Double = defaultBandwidth) -> Estimate {
        // One entry per layer span: a row-band pair's interleaved instructions are one, named
        // after both layers, with the layers' MACs.
        var entries = program.layerSpans.map { s in
            let last = program.instructions[s.lastInstruction]
            let names = s.layers.map { network.layers.indices.contains($0) ? network.layers[$0].op.name : "?" }
            var e = Entry(layer: s.layer, name: names.joined(separator: "+"), kind: last.kind.description, instructions: 0, cycles: 0, computeCycles: 0,
                          transferCycles: 0, overheadCycles: 0, macs: s.macs, utilisation: 0, bytesIn: 0, bytesOut: 0, bound: .compute)
            for i in program.instructions[s.firstInstruction ... s.lastInstruction] {
                let t = terms(i, config: program.config, bandwidth: bandwidth)
                e.instructions += 1
                e.cycles += t.cycles; e.computeCycles += t.compute; e.transferCycles += t.transfer
                e.overheadCycles += instructionOverheadCycles + (t.passes > 0 ? t.passes * sliceSwitchCycles + pipelineFillCycles : 0)
                e.bytesIn += t.bytesIn; e.bytesOut += t.bytesOut
            }
            return e
        }
        for k in entries.indices {
            var e = entries[k]
            e.utilisation = e.cycles > 0 ? Double(e.macs) / (Double(e.cycles) * Double(program.config.multipliers)) : 0
            if 2 * e.overheadCycles > e.cycles { e.bound = .control }
            else { e.bound = e.transferCycles > e.computeCycles ? .bandwidth : .compute }
            entries[k] = e
        }
        return Estimate(layers: entries, config: program.config, bandwidth: bandwidth)
    }
}
