import Accelerator
import Foundation
import Reference

/// Everything the RTL simulator needs to run one network and check it layer by layer
/// (docs/control.md, "What dsc compile writes"): the control plan, the input, the device's expected
/// output before the host steps and each device layer's expected bytes. Building one runs the
/// records through `ControlModel` and the instructions through the `Executor` and refuses (throws)
/// unless both agree with each other and with the Reference model on every layer.
public struct SimulationBundle: Sendable {
    /// One `layer` line of sim.txt.
    public struct Layer: Sendable, Equatable {
        /// The TFLite layer the records carry in `layer` (what `trace_layer` shows).
        public var index: Int
        /// The TFLite layer whose output the check holds: `index`, or the ADD fused into it
        /// (its file is layers/<producer>.bin).
        public var producer: Int
        public var operation: String
        public var macs: Int
        public var lastRecord: Int
        public var address: UInt32
        public var expected: [UInt8]
    }

    public let network: Network
    public let program: Program
    public let plan: ControlPlan
    public let input: [Int8]
    /// The network's first output after the host steps (the Reference model's).
    public let expected: [Int8]
    /// What the device leaves at `plan.deviceOutputAddress` (the Reference value of that tensor).
    public let expectedDevice: [UInt8]
    public let layers: [Layer]
    /// Every TFLite layer's first output (layers/<n>.bin), as `dsc compile` always wrote.
    public let layerOutputs: [Int: [UInt8]]

    /// `options` default to the configuration's RAM-S and RAM-M (`MapperOptions.device`).
    public init(network: Network, config: AcceleratorConfig, input: [Int8], options: MapperOptions? = nil) throws {
        let program = try Mapper.compile(network, config: config, options: options ?? .device(config))
        let plan = try ControlPlan(program: program)
        let values = try network.runAll(input: input)
        guard let outIndex = network.outputs.first, let expected = values[outIndex] else { throw MapperError("the reference model computed no output") }

        var executorLayers = [Int: [UInt8]]()
        let spans = Dictionary(program.layerSpans.map { ($0.lastInstruction, $0) }, uniquingKeysWith: { a, _ in a })
        let executor = try Executor(program)
        let executed = try executor.run(input: input) { n, _ in
            if let s = spans[n] { executorLayers[n] = try executor.bytes(s.route, s.address, s.length) }
        }
        guard executed == expected else { throw MapperError("internal: the instruction stream's result differs from the reference model") }

        var producer = [Int: Int]()
        for (k, l) in network.layers.enumerated() { for o in l.outputs where producer[o] == nil { producer[o] = k } }
        var modelLayers = [Int: [UInt8]]()
        let checkAt = Dictionary(plan.checks.map { ($0.lastRecord, $0) }, uniquingKeysWith: { a, _ in a })
        let memory = try ControlModel.run(plan, input: input) { n, _, memory in
            if let c = checkAt[n] { modelLayers[n] = memory.bytes(c.address, c.length) }
        }

        var layers = [Layer]()
        for c in plan.checks {
            let k = producer[c.producedTensor] ?? c.layer
            let name = (c.fusedLayers + [c.layer] + (k != c.layer ? [k] : [])).map { network.layers[$0].op.name }.joined(separator: "+")
            let here = "layer \(c.layer) (\(name))"
            guard let reference = values.bytes(of: c.producedTensor), reference.count == c.length else {
                throw MapperError("internal: \(here): no reference value of \(c.length) bytes for tensor \(c.producedTensor)")
            }
            guard let model = modelLayers[c.lastRecord], let executor = executorLayers[c.lastInstruction] else { throw MapperError("internal: \(here) was never traced") }
            let vsExecutor = zip(model, executor).filter { $0 != $1 }.count
            guard vsExecutor == 0 else { throw MapperError("\(here): the control records' result differs from the Executor in \(vsExecutor) of \(c.length) bytes") }
            let vsReference = zip(model, reference).filter { $0 != $1 }.count
            guard vsReference == 0 else { throw MapperError("\(here): the control records' result differs from the Reference model in \(vsReference) of \(c.length) bytes") }
            layers.append(Layer(index: c.layer, producer: k, operation: name, macs: c.macs, lastRecord: c.lastRecord, address: c.address, expected: reference))
        }
        let a = Int(plan.deviceOutputAddress)
        let device = memory.bytes(UInt32(a), plan.deviceOutputLength)
        guard let expectedDevice = values.bytes(of: plan.deviceOutputTensor), device == expectedDevice else {
            throw MapperError("the control records' device output differs from the Reference model")
        }
        guard try SimulationBundle.finish(deviceOutput: device, dma: program.dma) == expected else {
            throw MapperError("the host steps on the control records' device output differ from the Reference model")
        }
        var outputs = [Int: [UInt8]]()
        for (n, l) in network.layers.enumerated() { if let o = l.outputs.first, let b = values.bytes(of: o) { outputs[n] = b } }

        self.network = network
        self.program = program
        self.plan = plan
        self.input = input
        self.expected = expected
        self.expectedDevice = expectedDevice
        self.layers = layers
        self.layerOutputs = outputs
    }

    /// The host's side after the device ran: the device output is the first tensor the schedule
    /// reads back; the host steps (softmax) run on it exactly as in `Executor.run`.
    public static func finish(deviceOutput: [UInt8], dma: DMASchedule) throws -> [Int8] {
        guard let last = dma.entries.last, let read = last.transfers.first(where: { $0.direction == .toHost }) else {
            throw MapperError("the schedule reads nothing back from the device")
        }
        guard deviceOutput.count == read.length else {
            throw MapperError("device output has \(deviceOutput.count) bytes; the schedule reads \(read.length)")
        }
        var values = [read.tensor: deviceOutput.map { Int8(bitPattern: $0) }]
        for h in last.hostSteps {
            guard let x = values[h.inputTensor] else { throw MapperError("host step layer \(h.layer) reads tensor \(h.inputTensor), which is not the device output") }
            do {
                values[h.outputTensor] = try Softmax.run(SoftmaxParameters(beta: Double(h.beta), inputScale: Double(h.inputScale)), input: x, depth: h.depth)
            } catch { throw MapperError("host step layer \(h.layer): \(error)") }
        }
        guard let out = values[dma.outputTensor] else { throw MapperError("the network output (tensor \(dma.outputTensor)) is not the device output or a host step's") }
        return out
    }

    /// sim.txt (docs/control.md).
    public var simText: String {
        let c = plan.config
        let clock = c.clockMHz == c.clockMHz.rounded() ? String(Int(c.clockMHz)) : String(c.clockMHz)
        var s = "# \(plan.records.count) control records, memory image \(plan.memory.count) bytes\n"
        s += "stream_bytes \(c.streamBytes)\nclock_mhz \(clock)\nmultipliers \(c.multipliers)\n"
        s += "memory memory.bin\nrecords \(plan.recordBase) \(plan.records.count)\n"
        if plan.weightStreamBeats > 0 { s += "weights \(plan.weightStreamAddress) \(plan.weightStreamBeats)   # WEIGHT_BASE, WEIGHT_BEATS\n" }
        s += "input input.bin \(plan.inputAddress)\n"
        s += "output device_output.bin \(plan.deviceOutputAddress) \(plan.deviceOutputLength) expected_device.bin\n"
        if c.onChipBytes > 0 {
            s += "on_chip \(AcceleratorConfig.onChipBase) \(c.onChipBytes)   # RAM-S then RAM-M\n"
            let beats = plan.records.map { ControlCycleModel.onChipBeats($0, config: plan.config) }.reduce((0, 0)) { ($0.0 + $1.read, $0.1 + $1.written) }
            s += "on_chip_beats \(beats.0) \(beats.1)   # ONCHIP_READ_BEATS and ONCHIP_WRITE_BEATS after the run\n"
        }
        for l in layers {
            s += "layer \(l.index) \(l.operation) \(l.macs) \(l.lastRecord) \(l.address) \(l.expected.count) layers/\(l.producer).bin\n"
        }
        return s
    }

    /// Writes sim.txt, memory.bin (records and constants in place), records.txt (one line per record), input.bin, expected_device.bin,
    /// expected.bin, dma.json, instructions.bin and layers/<n>.bin into `dir`.
    public func write(to dir: URL) throws {
        let layersDir = dir.appendingPathComponent("layers")
        do { try FileManager.default.createDirectory(at: layersDir, withIntermediateDirectories: true) } catch {
            throw MapperError("cannot create \(layersDir.path): \(error.localizedDescription)")
        }
        func write(_ data: [UInt8], _ name: String) throws {
            let url = dir.appendingPathComponent(name)
            do { try Data(data).write(to: url) } catch { throw MapperError("cannot write \(url.path): \(error.localizedDescription)") }
        }
        try write(Array(simText.utf8), "sim.txt")
        try write(plan.memory, "memory.bin")
        try write(Array(plan.records.map { "\($0)\n" }.joined().utf8), "records.txt")
        try write(input.map { UInt8(bitPattern: $0) }, "input.bin")
        try write(expectedDevice, "expected_device.bin")
        try write(expected.map { UInt8(bitPattern: $0) }, "expected.bin")
        try write(Array(try program.dma.json().utf8), "dma.json")
        try write(try program.encodedInstructions(), "instructions.bin")
        for (n, b) in layerOutputs { try write(b, "layers/\(n).bin") }
    }

    /// Built-in networks for simulation without a .tflite file: Reference's builders with seeded
    /// weights, calibration and input.
    public static let builtinNames = ["dscnn", "dscnn-tiny", "mobilenetv2-tiny", "resnet8"]

    public static func builtin(_ name: String) throws -> (network: Network, input: [Int8]) {
        let model: FloatModel
        switch name {
        case "dscnn": model = Builders.dsCNN()
        case "dscnn-tiny": model = Builders.dsCNN(channels: 16, blocks: 1, classes: 4)
        case "mobilenetv2-tiny": model = Builders.mobileNetV2(widthMultiplier: 0.35, resolution: 32, classes: 10)
        case "resnet8": model = Builders.resNet8()
        default: throw MapperError("unknown built-in network \(name); one of \(builtinNames.joined(separator: ", "))")
        }
        let network: Network
        do { network = try model.quantizedWithRandomCalibration() } catch { throw MapperError("built-in \(name): \(error)") }
        guard let t = network.inputs.first else { throw MapperError("built-in \(name) has no input") }
        var rng = SeededRandom(seed: 2026)
        let input = (0 ..< network.tensors[t].elementCount).map { _ in Int8(truncatingIfNeeded: Int(rng.next() % 256) - 128) }
        return (network, input)
    }
}
