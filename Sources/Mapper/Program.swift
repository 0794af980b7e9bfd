import Accelerator
import Foundation

/// Sizes of the on-chip input buffers of the bottleneck architecture (seed section 3.4). They are
/// mapper options, not AcceleratorConfig knobs, until the input-buffer generator exists.
public struct MapperOptions: Sendable, Equatable, Codable {
    /// RAM-S: holds a bottleneck's input (FM0), read again as the shortcut.
    public var ramSBytes = 256 * 1024
    /// RAM-M0..RAM-M(PD-1) together: the expansion and depthwise results inside a bottleneck.
    public var ramMBytes = 1024 * 1024
    /// Byte alignment of every region (the DMA's burst granule).
    public var alignment = 64
    /// Hardware-assisted pruning threshold written into every convolution and FC instruction:
    /// weights with |w| at most this are skipped. 0 keeps the result exact.
    public var pruningThreshold = 0
    /// Row-band fusion of an expansion too big for RAM-M with the depthwise after it (`RowBands`).
    public var rowBands = RowBandPolicy.whereFaster

    public enum RowBandPolicy: String, Sendable, Codable {
        /// Each pair where the cycle model of the records predicts a faster program (the halo rows
        /// it recomputes cost where the stream, not the memory, bounds the pair).
        case whereFaster
        /// Every pair whose band buffer fits RAM-M.
        case always
        case never
    }

    public init() {}
}

/// One transfer between the host and the accelerator's external memory.
public struct DMATransfer: Sendable, Equatable, Codable {
    public enum Direction: String, Sendable, Codable { case toDevice = "write", toHost = "read" }
    public var direction: Direction
    public var address: UInt32
    public var length: Int
    /// What it carries (tensor name and index), for people reading dma.json.
    public var what: String
    /// TFLite tensor index it carries, -1 for the constant region.
    public var tensor: Int
}

/// Work the host does between instructions: only SOFTMAX (its exp and reciprocal stay in software).
public struct HostStep: Sendable, Equatable, Codable {
    public var layer: Int
    public var operation: String
    public var beta: Float
    public var inputScale: Float
    public var depth: Int
    /// The tensor the host reads (its external address and length) and the tensor it produces.
    public var inputTensor: Int
    public var inputAddress: UInt32
    public var inputLength: Int
    public var outputTensor: Int
}

/// The host's schedule: the constant region once, the input before instruction 0, results after the
/// instruction that writes them, and host steps (softmax) at the end.
public struct DMASchedule: Sendable, Equatable, Codable {
    public struct Entry: Sendable, Equatable, Codable {
        /// Transfers happen before instruction `beforeInstruction` starts (== instruction count: after the last).
        public var beforeInstruction: Int
        public var transfers: [DMATransfer]
        public var hostSteps: [HostStep]
    }
    public var preload: [DMATransfer]
    public var entries: [Entry]
    /// The tensor whose transfer (or host step) carries the network's first output, and whether the
    /// host (softmax) produces it.
    public var outputTensor: Int
    public var outputLength: Int
    public var outputFromHost: Bool

    public func json() throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try e.encode(self), as: UTF8.self) + "\n"
    }
}

/// Everything the accelerator and its host need to run one network: the instruction stream, the
/// external memory image (constants in place, activations zero) and the host's DMA schedule.
public struct Program: Sendable {
    public var config: AcceleratorConfig
    public var options: MapperOptions
    public var instructions: [Instruction]
    public var memory: [UInt8]
    /// Bytes of `memory` holding weights and quantization parameters (preloaded once).
    public var constantBytes: Int
    public var dma: DMASchedule
    /// The network input's external address and length (the schedule's first write).
    public var inputAddress: UInt32
    public var inputLength: Int
    /// For each instruction, the TFLite tensor whose bytes it writes (part of, for a column tile
    /// or a row band): the layer's output, or the fused ADD's output.
    public var producedTensors: [Int]
    /// The instructions in runs that each leave one TFLite tensor whole: a layer's column tiles, or
    /// a row-band pair's interleaved bands (`RowBands`), whose expanded map never exists whole.
    /// What a trace is checked against, layer by layer.
    public var layerSpans: [LayerSpan]
    /// For each instruction, the on-chip bytes no tensor live while it runs holds
    /// (`Allocation.freeOnChip`): where its lowering may keep a scratch image (nil: none).
    public var onChipScratch: [OnChipSpace?] = []

    public struct OnChipSpace: Sendable, Equatable {
        public var route: Instruction.Route
        public var address: UInt32
        public var length: Int
    }

    public struct LayerSpan: Sendable, Equatable {
        /// The TFLite layers whose instructions the span holds, in order; the last one's output is
        /// `tensor` (or the ADD fused into it).
        public var layers: [Int]
        public var firstInstruction: Int
        public var lastInstruction: Int
        public var tensor: Int
        public var route: Instruction.Route
        public var address: UInt32
        public var length: Int
        /// The layers' multiply-accumulates (a row band's recomputed halo rows not counted twice).
        public var macs: Int
        public var layer: Int { layers[layers.count - 1] }
    }

    /// The 128-byte records, numbered in order.
    public func encodedInstructions() throws -> [UInt8] { try Instruction.encodeStream(instructions) }
}
