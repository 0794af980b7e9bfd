import Accelerator

/// The cycles the RTL (`AcceleratorTop`, docs/control.md) spends on a program's control records,
/// predicted from the records alone, so `dsc estimate` sweeps knobs and bandwidth in seconds
/// instead of simulating.
///
/// A pass is a serial stream of beats on the data port: the parameter records, the residual block
/// and the region's positions (fill beats included, one per cycle; the reshape unit adds a row of
/// `regionCols` cycles when it inserts the bottom padding). Its weights come on the weight stream
/// (WeightStreamer): into the weight buffer as far ahead as its room allows, on the bytes per cycle
/// the data side leaves, and to the execution unit set by set in record order, a beat a cycle once
/// the set before it went active, so a conv pass's pixels wait for its set only where the set was
/// not in when the pass started. Wider-than-bandwidth beats and the writes share the memory's
/// bytes per cycle. What follows the last input beat is a fixed tail that depends on what the pass
/// ends with: `tail*` below.
///
/// With an on-chip memory, external beats are taken ahead into its read-ahead FIFO
/// (OnChipMemory.externalReadAhead) while no external write is pending, so a pass's parameter
/// records and its first external data beats may be in before it starts.
///
/// When the data is there is a timeline of the control unit's run-ahead (ControlUnit, "Why commands
/// run ahead"): pass k+1's commands go out while pass k runs, then the fetches of the records up to
/// k+R (R = ControlUnit.recordsAhead), so a pass's data waits for the later of its commands plus the
/// latency and the records fetched ahead of it on the one in-order stream (for pass k+1, those
/// fetched a pass earlier); a pass whose
/// commands could not go out early (the first, or one after a pass too short to issue them) waits
/// a whole latency from its own start. `estimate` walks that timeline record by record; `cycles`
/// is one pass that issues its own commands.
///
/// The tails were measured on the RTL (`./Vtop --verbose`, cycles per record, no back-pressure) at
/// PC=PF=16 and PC=PF=4 and are the same at both, since the pipeline depths do not depend on PC or
/// PF. `AcceleratorRTLTests` checks the prediction against the RTL per layer, so a change of the
/// hardware's timing fails there until these are re-measured.
public enum ControlCycleModel {
    /// A pass that is not its group's last: from its last input beat to the next pass's start
    /// (the engine's last beat, the registered pass_done, the control unit's 4-cycle gap).
    public static let tailIntermediate = 15
    /// The same when the reshape unit inserts the bottom padding row (its windows overlap the tail).
    public static let tailIntermediateAfterPaddingRow = 11
    /// Last passes: engine, accumulator, requantizer, output path and the last output beat (through
    /// the fused ADD: a last pass or copy without one takes ResidualAdder.latency cycles less).
    public static let tailStandard = 43
    public static let tailDepthwise = 40
    /// Folded: the standard pipeline without the reshape unit, plus the gather register. A folded
    /// pass that is not the group's last ends as its last position enters the engine, and the next
    /// pass starts after the record fetched ahead has passed on the stream: 6 cycles plus the
    /// record's 128 / B beats (measured: 8 at B = 64, 14 at B = 16, kept or replayed).
    public static let tailFolded = 43
    public static let tailFoldedIntermediate = 6
    /// Pointwise: plus one cycle per further position of the last engine beat (the serializer
    /// sends one position per cycle).
    public static let tailPointwise = 38
    /// Copies: the output path only.
    public static let tailCopy = 15

    /// Cycles from an on-chip read command to its first beat: a pass whose reads are all on chip
    /// waits this instead of the external memory's latency.
    public static let onChipLatency = OnChipMemory.readLatency

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

    /// A pass's own timing: beats streamed on the data port (`stream`, with the bandwidth bound;
    /// `pixels` of them the region's, which wait for the weights), the tail after its last input
    /// beat, its read commands, and the weight beats it loads from the weight stream.
    struct Body {
        var stream: Int
        var pixels: Int
        var tail: Int
        /// Beats of its tail that are the record fetched ahead passing on the stream (a wide or
        /// folded pass that is not its group's last ends only after them).
        var recordInTail: Int
        var commands: Int
        /// Every beat it reads on the data port comes from the on-chip memory (no parameters).
        var onChipOnly: Bool
        /// It writes results (a group's last pass, or a copy): its tail is the long one.
        var writes: Bool
        var conv: Bool
        var weightBeats: Int
        /// Cycles its parameter records take on the data port (from external memory, first).
        var paramCycles: Double
        /// Its parameter beats, the memory's cycles per beat, and the cycles the parameter phase
        /// takes in `stream` when its beats come from the memory as the pass takes them.
        var paramBeats: Int
        var paramBeatCycles: Double
        var paramSerial: Double
        /// It writes results to external memory.
        var externalWrites: Bool
        /// Its external data beats after the parameters (residual and pixels; none: it reads only
        /// parameters from external memory), and the memory's cycles for the first of them.
        var externalDataBeats: Int
        var externalDataBeatCycles: Double
        /// Its beats after the parameters, a cycle each: what the phase takes with all of them in;
        /// and its pixel beats alone.
        var dataBeats: Double
        var pixelBeats: Int
        /// Bytes a cycle it moves to and from external memory on the data port after its parameters.
        var externalRate: Double
    }

    static func body(_ r: ControlRecord, config c: AcceleratorConfig, memory: Memory) -> Body {
        let params = r.loadParams ? r.paramRecords : 0
        // Parameter records come P to a beat (AcceleratorConfig.parameterRecordsPerBeat).
        let perBeat = c.parameterRecordsPerBeat, paramBeats = (params + perBeat - 1) / perBeat
        let weights = r.op == .conv ? r.weightBeats : 0
        let residualPhase = r.residualPhase(streamBytes: c.streamBytes)
        let residual = residualPhase?.beats ?? 0
        let positions = r.regionRows * r.regionCols
        let paddingRow = r.op == .conv && r.mode != .pointwise ? r.padBottom * r.regionCols : 0
        let dataBeats = inImageBeats(r)
        // On-chip reads and writes (RAM-S, RAM-M) take a beat a cycle and none of the memory's bytes.
        let residualOnChip = DeviceMemory.isOnChip(r.residualAddress), pixelsOnChip = DeviceMemory.isOnChip(r.inputAddress)
        let external = traffic(r, config: c)
        let reads = external.read - ControlRecordFields.recordBytes, writes = external.written
        func beat(_ bytes: Int, onChip: Bool = false) -> Double { onChip ? 1 : max(1, Double(bytes) / memory.bandwidth) }
        let pixelBeats = Double(dataBeats) * beat(r.inChunk, onChip: pixelsOnChip) + Double(positions - dataBeats) + Double(paddingRow)
        // The memory's credit is one cycle's bytes: a beat moves while it is positive and leaves it
        // negative for the next to repay (sim/DataMover.h). So the parameter phase's last beat takes
        // a cycle when on-chip beats follow it, and its debt is repaid behind them.
        let nextOnChip = residual > 0 ? residualOnChip : dataBeats == 0 || pixelsOnChip
        let paramSerial = paramBeats == 0 ? 0 : Double(paramBeats - 1) * beat(16 * perBeat) + (nextOnChip ? 1 : beat(16 * perBeat))
        let serial = paramSerial + Double(residual) * beat(residualPhase?.chunk ?? 0, onChip: residualOnChip) + pixelBeats
        var tail: Int, recordInTail = 0
        switch (r.op, r.mode, r.last) {
        case (.copy, _, _): tail = tailCopy
        // A wide pass's engine beat is one position, so like a folded pass it ends as its last
        // position enters the engine (measured: 90 cycles for MobileNetV2's 7×7 320 → 1280 passes
        // of 32 weight and 49 on-chip pixel beats at B = 64, as for folded ones).
        case (.conv, let mode, false) where mode == .folded || (mode == .pointwise && r.wide):
            recordInTail = max(1, ControlRecordFields.recordBytes / c.streamBytes)
            tail = tailFoldedIntermediate + recordInTail
        case (_, _, false): tail = r.padBottom > 0 && r.mode != .pointwise ? tailIntermediateAfterPaddingRow : tailIntermediate
        // A split window's sums leave the engine in its pointwise mode, without the channel adder.
        case (_, .standard, true) where r.wide: tail = tailStandard - splitWindowShortening(c)
        case (_, .standard, true): tail = tailStandard
        case (_, .depthwise, true): tail = tailDepthwise
        case (_, .folded, true): tail = tailFolded
        case (_, .pointwise, true):
            // (A wide pass's engine beat is one position.)
            let inLastBeat = r.wide ? 1 : positions % c.pv == 0 ? c.pv : positions % c.pv
            tail = tailPointwise + inLastBeat - 1
        }
        // The tails of writing passes were measured through the fused ADD; a pass without one goes
        // around it (OutputPath) and is out that much sooner.
        if (r.last || r.op == .copy) && !r.residual { tail -= ResidualAdder.latency }
        // The memory bound covers the writes too, but the last results are written during the tail
        // (measured: about 5/8 of it overlaps; 2/8 for a stride-2 pass, whose last output row is a
        // quarter as long as its last input row: MobileNetV2's stride-2 depthwise passes at B = 64).
        // The parameter records come first, P per beat: that phase is beat-bound whatever the
        // bandwidth, so only the rest of the pass shares the memory's budget.
        let paramPhase = Double(paramBeats) * beat(16 * perBeat)
        let overlap = Double(tail) * (r.stride2 ? 2 : 5) / 8
        let dataReads = reads - weights * c.streamBytes
        let stream = max(serial, paramPhase + Double(dataReads + writes - params * 16) / memory.bandwidth - overlap)
        let commands = [paramBeats > 0, residual > 0, dataBeats > 0].filter { $0 }.count
        let onChipOnly = paramBeats == 0 && (residual == 0 || residualOnChip) && (dataBeats == 0 || pixelsOnChip)
        let externalDataBeats = (residualOnChip ? 0 : residual) + (pixelsOnChip ? 0 : dataBeats)
        return Body(stream: Int(stream.rounded(.up)), pixels: Int(pixelBeats.rounded(.up)), tail: tail, recordInTail: recordInTail, commands: commands,
                    onChipOnly: onChipOnly, writes: r.last || r.op == .copy, conv: r.op == .conv, weightBeats: weights, paramCycles: paramPhase,
                    paramBeats: paramBeats, paramBeatCycles: beat(16 * perBeat), paramSerial: paramSerial,
                    externalWrites: writes > 0, externalDataBeats: externalDataBeats,
                    externalDataBeatCycles: residual > 0 && !residualOnChip ? beat(residualPhase?.chunk ?? 0) : beat(r.inChunk),
                    dataBeats: Double(residual + positions + paddingRow), pixelBeats: positions + paddingRow,
                    externalRate: stream > paramPhase ? Double(dataReads + writes - params * 16) / (stream - paramPhase) : 0)
    }

    /// How much sooner a split window's last results are out than a standard window's: the
    /// engine's channel adder, which its per-lane sums skip (measured: 25 cycles less over
    /// MobileNetV2's five split passes at PC = PF = 16).
    static func splitWindowShortening(_ c: AcceleratorConfig) -> Int {
        guard let engine = try? ConvolutionEngine(c) else { return 0 }
        return engine.latency(.standard) - engine.latency(.pointwise)
    }

    /// Cycles of one record's pass that issues its own read commands, start to the next pass's start.
    public static func cycles(_ r: ControlRecord, config: AcceleratorConfig, memory: Memory) -> Int {
        let b = body(r, config: config, memory: memory)
        let setCycles = Int((Double(b.weightBeats) * weightBeatCycles(config, memory)).rounded(.up))
        return max((b.onChipOnly ? onChipLatency : memory.latency) + b.stream, setCycles + armingCycles + b.pixels) + b.tail
    }

    /// Cycles per weight-stream beat: the memory's bandwidth, at most a beat a cycle.
    static func weightBeatCycles(_ c: AcceleratorConfig, _ memory: Memory) -> Double { max(1, Double(c.streamBytes) / memory.bandwidth) }

    /// From the cycle the execution unit sees its set whole (or a keeping pass starts) to its first
    /// pixel beat: load the slice flags, swap the set in, arm.
    static let armingCycles = 3

    /// Bytes a record's pass reads from and writes to external memory (on-chip traffic is free).
    public static func traffic(_ r: ControlRecord, config: AcceleratorConfig) -> (read: Int, written: Int) {
        let params = r.loadParams ? r.paramRecords * 16 : 0
        let weights = r.op == .conv ? r.weightBeats * config.streamBytes : 0
        let phase = DeviceMemory.isOnChip(r.residualAddress) ? nil : r.residualPhase(streamBytes: config.streamBytes)
        let residual = phase.map { $0.beats * $0.chunk } ?? 0
        let pixels = DeviceMemory.isOnChip(r.inputAddress) ? 0 : inImageBeats(r) * r.inChunk
        let written = (r.last || r.op == .copy) && !DeviceMemory.isOnChip(r.outputAddress) ? r.outputPositions * r.outChunk : 0
        return (ControlRecordFields.recordBytes + params + weights + residual + pixels, written)
    }

    /// The region's positions inside the image: the beats its pixel read command moves (the rest
    /// are fill beats, read from nowhere).
    static func inImageBeats(_ r: ControlRecord) -> Int {
        let rows = max(0, min(r.regionRow0 + r.regionRows, r.imageRows) - max(r.regionRow0, 0))
        let cols = max(0, min(r.regionCol0 + r.regionCols, r.imageCols) - max(r.regionCol0, 0))
        return rows * cols
    }

    /// Beats a record's pass reads from and writes to RAM-S and RAM-M (what the accelerator's
    /// ONCHIP_READ_BEATS and ONCHIP_WRITE_BEATS count): its in-image pixel beats and residual beats
    /// where those addresses are on chip, and its output positions where its results go there.
    /// Records, parameters and weights always come from external memory.
    public static func onChipBeats(_ r: ControlRecord, config: AcceleratorConfig) -> (read: Int, written: Int) {
        let writes = r.last || r.op == .copy
        let residual = DeviceMemory.isOnChip(r.residualAddress) ? r.residualPhase(streamBytes: config.streamBytes)?.beats ?? 0 : 0
        let pixels = DeviceMemory.isOnChip(r.inputAddress) ? inImageBeats(r) : 0
        return (residual + pixels, writes && DeviceMemory.isOnChip(r.outputAddress) ? r.outputPositions : 0)
    }

    /// Each record's cycles, from its pass's start to the next's (the first record's from the run's
    /// start, its own fetch included).
    public static func timeline(_ records: [ControlRecord], config c: AcceleratorConfig, memory: Memory) -> [Int] {
        let latency = memory.latency, recordBeats = max(1, ControlRecordFields.recordBytes / c.streamBytes)
        let readAhead = c.onChipBytes > 0 ? OnChipMemory.externalReadAhead(streamBytes: c.streamBytes) : 0
        let count = records.count
        let bodies = records.map { body($0, config: c, memory: memory) }
        // The timeline, in cycles from the run's start: pass k starts at `start[k]` (its
        // `pass_start`), its last input beat is at `dataEnd[k]`; record k is in at `arrival[k]`, its
        // fetch was issued at `fetch[k]`; pass k's commands went out at `early[k]` when that was
        // while pass k−1 still ran, else it issues its own 2 cycles after its start.
        var start = [Int](repeating: 0, count: count + 1)
        var dataEnd = [Int](repeating: 0, count: count), arrival = dataEnd, fetch = dataEnd
        var early = [Int?](repeating: nil, count: count)
        // Records are fetched in order (`fetched`: the next to fetch). Those a pass's data has on
        // the stream behind it (`landing[k]`: fetched ahead behind pass k's commands during pass
        // k−1, or late in pass k) come in after it.
        var fetched = 1
        var landing = [[Int]](repeating: [], count: count)
        // The first record: its fetch, then load, check, clamp, offsets.
        if count > 0 { start[0] = latency + recordBeats + 2; arrival[0] = latency + recordBeats }
        // The weight stream: its first command goes out a cycle after the run's first. Its beats
        // come from the memory into the weight buffer (WeightStreamer.bufferBeats) as far ahead of
        // the beats the execution unit has taken as the buffer's room allows, at the bandwidth the
        // data side leaves (sim/DataMover.h: the data stream and the writes have priority); the
        // execution unit takes a set's beats a cycle each once the set before it went active
        // (`swapped`) and the set was announced (the cycle after its record is in), or as they come.
        let weightBeat = weightBeatCycles(c, memory)
        let bandwidth = memory.bandwidth, weightRate = Double(c.streamBytes) / weightBeat
        var streamAt = Double(latency + 2), swapped = 0
        var setDone = [Double?](repeating: nil, count: count)
        // Set j's beats are beats offset[j] ..< offset[j + 1] of the stream.
        var offset = [0]
        for body in bodies { offset.append(offset.last! + (body.conv ? body.weightBeats : 0)) }
        // A beat may come in once the beat `lead` before it has been taken: a buffer at least as deep
        // as the command window asks for a command's beats once they have room (and they come a
        // latency later); a shallower one takes the beats waiting in the memory as it drains.
        let bufferBeats = WeightStreamer.bufferBeats(c)
        let deep = bufferBeats >= WeightStreamer.windowBeats
        let lead = deep ? bufferBeats - WeightStreamer.commandBeats : bufferBeats
        let roomLatency = deep ? Double(latency) : 1
        // When the execution unit took beat n (its set's beats are taken in its last cycles).
        func taken(_ n: Int) -> Double? {
            var lo = 0, hi = count
            while lo < hi { let mid = (lo + hi) / 2; if offset[mid + 1] <= n { lo = mid + 1 } else { hi = mid } }
            guard lo < count, let done = setDone[lo] else { return nil }
            return done - Double(offset[lo + 1] - 1 - n)
        }
        // The data side's external transfers so far: from, to, bytes a cycle.
        var usage: [(from: Double, to: Double, rate: Double)] = []
        // When `bytes` weight bytes that start coming at `from` are all in.
        func weightsIn(from: Double, bytes: Double) -> Double {
            usage.removeAll { $0.to <= streamAt - 1 }
            let live = usage.filter { $0.to > from && $0.to > $0.from }
            let points = Set(live.flatMap { [$0.from, $0.to] }.filter { $0 > from }).sorted() + [Double.infinity]
            var t = from, left = bytes
            for p in points {
                let used = live.filter { $0.from <= t && $0.to > t }.reduce(0) { $0 + $1.rate }
                let rate = max(0, min(weightRate, bandwidth - used))
                if rate > 0 && t + left / rate <= p { return t + left / rate }
                left -= rate * (p - t)
                t = p
            }
            return t
        }
        /// Set j: its beats come from the memory from the later of the stream's next beat and the
        /// buffer's room for its first beat, its last no sooner than the room for it; the
        /// execution unit takes them from the later of the set before it going active and its
        /// announcement. Returns the cycle of its last beat.
        func loadSet(_ j: Int) -> Double {
            let w = bodies[j].weightBeats
            var from = streamAt, roomForLast = 0.0
            if let t = taken(offset[j] - lead) { from = max(from, t + roomLatency) }
            if offset[j + 1] - 1 - lead < offset[j], let t = taken(offset[j + 1] - 1 - lead) { roomForLast = t + roomLatency }
            let fetched = max(weightsIn(from: from, bytes: Double(w * c.streamBytes)) - weightBeat, roomForLast)
            streamAt = fetched + weightBeat
            let done = max(Double(max(swapped + 1, arrival[j] + 2) + w - 1), fetched)
            setDone[j] = done
            return done
        }
        for k in 0 ..< count {
            let b = bodies[k]
            let dataStart: Int
            // Behind its commands' latency and behind the records fetched ahead of it (a pass of
            // fill beats only takes nothing from the stream and waits for neither).
            let before = k > 0 && b.commands > 0 ? landing[k - 1].last.map { arrival[$0] } ?? 0 : 0
            if let issued = early[k] {
                dataStart = max(start[k] + 1, issued + (b.onChipOnly ? onChipLatency : latency), before)
            } else {
                dataStart = max(start[k] + 2 + (b.onChipOnly ? onChipLatency : latency), before)
            }
            // Where its parameter records come from memory: at the head of its stream, or, taken
            // ahead by the read-ahead FIFO (OnChipMemory.externalReadAhead), as the memory sends
            // them from their command's latency on, behind the external data of the pass before
            // (which takes nothing ahead while it writes to external memory).
            let paramBeat = Double(16 * c.parameterRecordsPerBeat)
            // When the memory is free to send this pass's first external beat ahead, if it may.
            var aheadFrom: Double?
            if readAhead > 0, let issued = early[k], !(k > 0 && bodies[k - 1].externalWrites) {
                aheadFrom = max(Double(issued + latency), k > 0 && bodies[k - 1].externalDataBeats > 0 ? Double(dataEnd[k - 1]) : 0)
            }
            let readsAhead = aheadFrom != nil && b.paramBeats > 0
            let paramFrom = readsAhead ? aheadFrom ?? 0 : Double(dataStart)
            let paramTo = paramFrom + b.paramCycles
            // Its pixels wait until its set is in and swapped in (a keeping pass: its flags only).
            var armed = 0
            if b.conv {
                var weightsIn = start[k]
                if b.weightBeats > 0 {
                    let done = setDone[k] ?? loadSet(k)
                    weightsIn = max(start[k], Int(done.rounded(.up)) + 1)
                    swapped = weightsIn + 2
                }
                armed = weightsIn + armingCycles
            }
            // Its external transfers take the memory's bytes before the weight stream: its parameter
            // records, then the rest. The next pass's set, which may have come long before, is in
            // once those of the passes so far have left it the bytes.
            if b.paramBeats > 0 { usage.append((paramFrom, paramTo, paramBeat / b.paramBeatCycles)) }
            let rest = Double(dataStart) + (readsAhead ? Double(b.paramBeats) : b.paramCycles)
            usage.append((rest, Double(dataStart + b.stream), b.externalRate))
            if k + 1 < count, bodies[k + 1].conv, bodies[k + 1].weightBeats > 0 { _ = loadSet(k + 1) }
            // Taken ahead, the parameter beats in the FIFO by the pass's start leave a beat a cycle;
            // the rest come at the memory's pace (those past the FIFO's room as it drains).
            var paramChange = 0.0
            if readsAhead {
                let arrived = paramFrom + Double(b.paramBeats - 1) * b.paramBeatCycles + 1 - Double(dataStart)
                let behind = Double(max(0, b.paramBeats - (readAhead - recordBeats))) * b.paramBeatCycles + 1
                paramChange = max(Double(b.paramBeats), arrived, behind) - b.paramSerial
            }
            // Its external data beats too: those the FIFO has room for come in as soon as the memory
            // is free of what is ahead of them, so where they were in before the pass took its first
            // one (or, for pixels, before its weight set armed it), the memory's part of the phase
            // (wide beats, sharing with the weight stream) is that much shorter, down to a beat a cycle.
            var dataChange = 0.0, pixelChange = 0
            if let memoryFree = aheadFrom, b.externalDataBeats > 0 {
                let from = memoryFree + (b.paramBeats > 0 ? b.paramCycles : 0)
                let phase = Double(dataStart) + b.paramSerial + paramChange
                let room = Double(min(b.externalDataBeats, readAhead - recordBeats)) * b.externalDataBeatCycles
                let memoryPart = Double(b.stream) - b.paramSerial - b.dataBeats
                dataChange = -max(0, min(room, phase - from, memoryPart))
                pixelChange = -Int(max(0, min(room, Double(armed) - from, Double(b.pixels - b.pixelBeats))).rounded(.down))
            }
            let streamEnd = dataStart + b.stream + Int((paramChange + dataChange).rounded(.up))
            dataEnd[k] = max(streamEnd, armed + b.pixels + pixelChange)
            // Late fetches, issued in this pass after its own commands, 2 cycles apart: the records
            // up to ControlUnit.lateFetchAhead past it not yet fetched (records 1 and 2 in the first
            // pass). They land behind its data, after the records fetched ahead there.
            var fetchAt = start[k] + 2 + 2 * (early[k] == nil ? b.commands : 0)
            while fetched < count && fetched <= k + ControlUnit.lateFetchAhead {
                fetch[fetched] = fetchAt
                landing[k].append(fetched)
                fetched += 1
                fetchAt += 2
            }
            for j in landing[k] {
                arrival[j] = max(fetch[j] + latency, dataEnd[k], arrival[j - 1]) + recordBeats
                // Its bytes are the data side's too (MobileNetV2's FC: 72 KB in 567 records).
                let recordCycles = Double(ControlRecordFields.recordBytes) / bandwidth
                usage.append((Double(arrival[j]) - recordCycles, Double(arrival[j]), bandwidth))
            }
            // The pass ends after its tail (the tails are measured to the next start across a
            // checked switch), with the next record in. The next starts fastPassGapCycles later
            // where the record came early enough to be checked and clipped while this pass ran,
            // else passGapCycles later.
            let next = k + 1 < count ? arrival[k + 1] : 0
            // (The record behind pass k's data is record k+R−1; the last R − 1 passes have none.)
            // A pass that writes and waited more than 3 cycles for its weight set ends 3 cycles
            // sooner after its last beat than the tails say (measured: VWW's and person_detect's
            // last FC pass at B = 64, 128 and 256, 3 cycles in 55 to 58; the tails were measured
            // on passes whose sets were in when they started).
            let waited = armed - start[k] - armingCycles
            let tail = b.tail - (landing[k].isEmpty ? b.recordInTail : 0) - (b.writes && waited > 3 ? 3 : 0)
            let end = max(dataEnd[k] + tail - 2 - ControlUnit.passGapCycles, next + 1)
            start[k + 1] = end + (end >= next + ControlUnit.earlyClipCycles ? ControlUnit.fastPassGapCycles : ControlUnit.passGapCycles)
            // The next pass's commands go out once its record is here and the early clip has run,
            // if this pass is still running by then.
            if k + 1 < count {
                let issued = max(start[k] + ControlUnit.earlyIssueCycles, next + ControlUnit.earlyIssueCycles - 1)
                if issued < end {
                    early[k + 1] = issued
                    // Fetches of records up to ControlUnit.recordsAhead past this one follow them,
                    // 2 cycles a command, while this pass still runs; they land behind the next
                    // pass's data.
                    var at = issued + 2 * bodies[k + 1].commands
                    while fetched < count && fetched <= k + ControlUnit.recordsAhead && at < end {
                        fetch[fetched] = at
                        landing[k + 1].append(fetched)
                        fetched += 1
                        at += 2
                    }
                }
            }
        }
        return (0 ..< count).map { start[$0 + 1] - ($0 == 0 ? 0 : start[$0]) }
    }

    /// Per-layer cycles, one entry per layer check in record order (a row-band pair's interleaved
    /// records are one entry, under the depthwise's layer).
    public static func estimate(_ plan: ControlPlan, memory: Memory = Memory()) -> [Layer] {
        let perRecord = timeline(plan.records, config: plan.config, memory: memory)
        // One row per layer check, as the harness's table has: a row-band pair is one row.
        return plan.checks.map { c in
            var layer = Layer(layer: c.layer, records: 0, cycles: 0, bytesRead: 0, bytesWritten: 0)
            for n in c.firstRecord ... c.lastRecord {
                let (read, written) = traffic(plan.records[n], config: plan.config)
                layer.records += 1; layer.cycles += perRecord[n]; layer.bytesRead += read; layer.bytesWritten += written
            }
            return layer
        }
    }
}
