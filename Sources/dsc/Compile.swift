import Accelerator
import ArgumentParser
import Foundation
import Mapper
import Reference

struct Compile: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Map a model onto an accelerator configuration: instructions, memory image, DMA schedule and expected tensors.")

    @Argument(help: "The .tflite model.")
    var model: String

    @Option(help: "The accelerator's config.json (as written by elaborate).")
    var config: String

    @Option(help: "Raw input tensor for the expected outputs (the model's int8 input, row-major).")
    var input: String

    @Option(help: "Output folder.")
    var out: String

    func run() throws {
        try failing {
            let network = try readModel(model)
            let cfg = try AcceleratorConfig.load(from: URL(fileURLWithPath: config))
            guard let inIndex = network.inputs.first else { throw MapperError("model has no input") }
            guard let bytes = FileManager.default.contents(atPath: input) else { throw MapperError("input file \(input) does not exist or cannot be read") }
            let spec = network.tensors[inIndex]
            guard bytes.count == spec.elementCount else {
                throw MapperError("\(input) has \(bytes.count) bytes, the model input \(spec.shape) int8 needs \(spec.elementCount)")
            }
            let x = bytes.map { Int8(bitPattern: $0) }
            let program = try Mapper.compile(network, config: cfg)
            let values = try network.runAll(input: x)
            let executed = try Executor(program).run(input: x)
            guard let outIndex = network.outputs.first, let expected = values[outIndex] else { throw MapperError("the reference model computed no output") }
            guard executed == expected else { throw MapperError("internal: the instruction stream's result differs from the reference model") }

            let dir = URL(fileURLWithPath: out)
            let layers = dir.appendingPathComponent("layers")
            do { try FileManager.default.createDirectory(at: layers, withIntermediateDirectories: true) } catch {
                throw MapperError("cannot create \(layers.path): \(error.localizedDescription)")
            }
            func write(_ data: [UInt8], _ name: URL) throws {
                do { try Data(data).write(to: name) } catch { throw MapperError("cannot write \(name.path): \(error.localizedDescription)") }
            }
            try write(try program.encodedInstructions(), dir.appendingPathComponent("instructions.bin"))
            try write(program.memory, dir.appendingPathComponent("memory.bin"))
            try write(Array(try program.dma.json().utf8), dir.appendingPathComponent("dma.json"))
            try write(expected.map { UInt8(bitPattern: $0) }, dir.appendingPathComponent("expected.bin"))
            for (n, layer) in network.layers.enumerated() {
                if let o = layer.outputs.first, let b = values.bytes(of: o) { try write(b, layers.appendingPathComponent("\(n).bin")) }
            }
            print("\(program.instructions.count) instructions, memory image \(program.memory.count) bytes (\(program.constantBytes) constant), written to \(out)")
        }
    }
}
