import Accelerator
import ArgumentParser
import Foundation
import Mapper
import Reference

struct Compile: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Map a model onto an accelerator configuration: instructions, control records, memory image, DMA schedule, expected tensors and the simulator's sim.txt.",
        discussion: """
        Tensors go to RAM-S and RAM-M as the configuration's sizes allow (--external-only keeps them all external). \
        Nothing is written unless the control records (ControlModel), the instructions (Executor) and the Reference model agree on every layer.
        """)

    @Argument(help: "The .tflite model (or use --builtin).")
    var model: String?

    @Option(help: "A built-in network instead of a .tflite file (seeded weights and input): \(SimulationBundle.builtinNames.joined(separator: ", ")).")
    var builtin: String?

    @Option(help: "The accelerator's config.json (as written by elaborate).")
    var config: String

    @Option(help: "Raw input tensor (the model's int8 input, row-major); optional with --builtin.")
    var input: String?

    @Flag(name: .customLong("external-only"), help: "Keep every tensor in external memory (no RAM-S / RAM-M), for comparison with the bottleneck flow.")
    var externalOnly = false

    @Option(help: "Output folder.")
    var out: String

    func run() throws {
        try failing {
            let cfg = try AcceleratorConfig.load(from: URL(fileURLWithPath: config))
            var (network, x) = try readNetwork(model: model, builtin: builtin)
            guard let inIndex = network.inputs.first else { throw MapperError("model has no input") }
            let spec = network.tensors[inIndex]
            if let input {
                guard let bytes = FileManager.default.contents(atPath: input) else { throw MapperError("input file \(input) does not exist or cannot be read") }
                guard bytes.count == spec.elementCount else {
                    throw MapperError("\(input) has \(bytes.count) bytes, the model input \(spec.shape) int8 needs \(spec.elementCount)")
                }
                x = bytes.map { Int8(bitPattern: $0) }
            }
            guard let x else { throw MapperError("--input is required with a .tflite model") }
            let bundle = try SimulationBundle(network: network, config: cfg, input: x, options: externalOnly ? .externalOnly : nil)
            try bundle.write(to: URL(fileURLWithPath: out))
            print("\(bundle.program.instructions.count) instructions, \(bundle.plan.records.count) control records, memory image \(bundle.plan.memory.count) bytes "
                  + "(\(bundle.program.constantBytes) constant, \(bundle.plan.appendedBytes) control constants and records), written to \(out)")
        }
    }
}
