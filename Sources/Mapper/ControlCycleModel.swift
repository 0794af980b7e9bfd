import Accelerator

/// The cycles the RTL (`AcceleratorTop`, docs/control.md) spends on a program's control records,
/// predicted from the records alone, so `dsc estimate` sweeps knobs and bandwidth in seconds
/// instead of simulating.
///
/// A pass is a serial stream of beats on the one data-in port: after the memory's latency come the
/// parameter records, the weight beats, the residual block and the region's positions (fill beats
/// included, one per cycle; the reshape unit adds a row of `regionCols` cycles when it inserts the
/// bottom padding). Wider-than-bandwidth beats and the writes share the memory's bytes per cycle.
/// What follows the last input beat is a fixed tail that depends on what the pass ends with:
/// `tail*` below. The run's first record also waits for its own fetch; later records are
/// prefetched while the previous pass drains, behind at least one memory latency, so they cost
/// nothing extra.
///
/// The tails were measured on the RTL (`./Vtop --verbose`, cycles per record, no back-pressure) at
/// PC=PF=16 and PC=PF=4 and are the same at both, since the pipeline depths do not depend on PC or
/// PF. `AcceleratorRTLTests` checks the prediction against the RTL per layer, so a change of the
/// hardware's timing fails there until these are re-measured.
public enum ControlCycleModel {
    /// A pass that is not its group's last: from its last input beat to the next pass's start
    /// (the engine's last beat, the registered pass_done, the control unit's 4-cycle gap).
    public static let tailIntermediate = 16
    /// The same when the reshape unit inserts the bottom padding row (its windows overlap the tail).
    public static let tailIntermediateAfterPaddingRow = 12
    /// Last passes: engine, accumulator, requantizer, output path and the last output beat.
    public static let tailStandard = 44
    public static let tailDepthwise = 41
    /// Pointwise: plus one cycle per further position of the last engine beat (the serializer
    /// sends one position per cycle).
    public static let tailPointwise = 39
    /// Copies: the output path only.
    public static let tailCopy = 16

    public struct Memory: Sendable, Equatable {
        public var bandwidth: Double
        public var latency: Int
        public init(bandwidth: Double = 64, latency: Int = 64) {
            self.bandwidth = bandwidth
            self.latency = latency
        }
    }

    public struct Layer: Sendable, Equatable {
        public var layer: Int
        public var records: Int
        public var cycles: Int
        public var bytesRead: Int
        public var bytesWritten: Int
    }

    /// Cycles of one record's pass, start to the next pass's start.
    public static func cycles(_ r: ControlRecord, config: AcceleratorConfig, memory: Memory) -> Int {
        let c = config
        let params = r.loadParams ? r.paramRecords : 0
        let weights = r.op == .conv ? r.weightBeats : 0
        let residual = r.residual && (r.last || r.op == .copy) ? r.outputPositions : 0
        let positions = r.regionRows * r.regionCols
        let paddingRow = r.op == .conv && r.mode != .pointwise ? r.padBottom * r.regionCols : 0
        let rows = max(0, min(r.regionRow0 + r.regionRows, r.imageRows) - max(r.regionRow0, 0))
        let cols = max(0, min(r.regionCol0 + r.regionCols, r.imageCols) - max(r.regionCol0, 0))
        let dataBeats = rows * cols
        let writes = r.last || r.op == .copy ? r.outputPositions * r.outChunk : 0
        let reads = params * 16 + weights * c.streamBytes + residual * r.outChunk + dataBeats * r.inChunk
        func beat(_ bytes: Int) -> Double { max(1, Double(bytes) / memory.bandwidth) }
        let serial = Double(params) * beat(16) + Double(weights) * beat(c.streamBytes) + Double(residual) * beat(r.outChunk)
            + Double(dataBeats) * beat(r.inChunk) + Double(positions - dataBeats) + Double(paddingRow)
        let tail: Int
        switch (r.op, r.mode, r.last) {
        case (.copy, _, _): tail = tailCopy
        case (_, _, false): tail = r.padBottom > 0 && r.mode != .pointwise ? tailIntermediateAfterPaddingRow : tailIntermediate
        case (_, .standard, true): tail = tailStandard
        case (_, .depthwise, true): tail = tailDepthwise
        case (_, .pointwise, true):
            let inLastBeat = positions % c.pv == 0 ? c.pv : positions % c.pv
            tail = tailPointwise + inLastBeat - 1
        }
        // The memory bound covers the writes too, but the last results are written during the tail
        // (measured: about half of it overlaps).
        let stream = max(serial, Double(reads + writes) / memory.bandwidth - Double(tail) / 2)
        return memory.latency + Int(stream.rounded(.up)) + tail
    }

    /// Bytes a record's pass reads and writes.
    public static func traffic(_ r: ControlRecord, config: AcceleratorConfig) -> (read: Int, written: Int) {
        let params = r.loadParams ? r.paramRecords * 16 : 0
        let weights = r.op == .conv ? r.weightBeats * config.streamBytes : 0
        let residual = r.residual && (r.last || r.op == .copy) ? r.outputPositions * r.outChunk : 0
        let rows = max(0, min(r.regionRow0 + r.regionRows, r.imageRows) - max(r.regionRow0, 0))
        let cols = max(0, min(r.regionCol0 + r.regionCols, r.imageCols) - max(r.regionCol0, 0))
        return (128 + params + weights + residual + rows * cols * r.inChunk, r.last || r.op == .copy ? r.outputPositions * r.outChunk : 0)
    }

    /// Per-layer cycles, in the order the layers' records run (records of one layer are consecutive).
    public static func estimate(_ plan: ControlPlan, memory: Memory = Memory()) -> [Layer] {
        var layers = [Layer]()
        for (n, r) in plan.records.enumerated() {
            var cycles = cycles(r, config: plan.config, memory: memory)
            // The first record is fetched before anything else can start.
            if n == 0 { cycles += memory.latency + 128 / plan.config.streamBytes + 2 }
            let (read, written) = traffic(r, config: plan.config)
            if let last = layers.last, last.layer == r.layer {
                layers[layers.count - 1].records += 1
                layers[layers.count - 1].cycles += cycles
                layers[layers.count - 1].bytesRead += read
                layers[layers.count - 1].bytesWritten += written
            } else {
                layers.append(Layer(layer: r.layer, records: 1, cycles: cycles, bytesRead: read, bytesWritten: written))
            }
        }
        return layers
    }
}
