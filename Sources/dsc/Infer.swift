import ArgumentParser
import Foundation
import Reference

struct Infer: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the reference model on a raw input tensor and write the raw output.")

    @Argument(help: "The .tflite model.")
    var model: String

    @Option(help: "Raw input tensor: the model's input dtype and layout, row-major.")
    var input: String

    @Option(help: "Where to write the raw output tensor.")
    var output: String

    @Option(help: "Also write every tensor as DIR/t<tflite-tensor-index>.bin.")
    var dump: String?

    func run() throws {
        try failing {
            let network = try readModel(model)
            guard let inIndex = network.inputs.first, network.inputs.count == 1 else {
                throw ReferenceError.unsupported("model has \(network.inputs.count) inputs; dsc infer takes one")
            }
            let spec = network.tensors[inIndex]
            guard spec.type == .int8 else { throw ReferenceError.unsupported("model input is \(spec.type); only int8 is supported") }
            guard FileManager.default.fileExists(atPath: input), let bytes = FileManager.default.contents(atPath: input) else {
                throw ReferenceError.io("input file \(input) does not exist or cannot be read")
            }
            guard bytes.count == spec.elementCount else {
                throw ReferenceError.invalidInput("\(input) has \(bytes.count) bytes, the model input \(spec.shape) int8 needs \(spec.elementCount)")
            }
            let interpreter = try Interpreter(network)
            let values = try interpreter.runAll(inputs: [bytes.map { Int8(bitPattern: $0) }])
            guard let outIndex = network.outputs.first, let out = values.bytes(of: outIndex) else {
                throw ReferenceError.invalidNetwork("the model output was not computed")
            }
            try write(Data(out), to: output)
            if let dump {
                do { try FileManager.default.createDirectory(atPath: dump, withIntermediateDirectories: true) } catch {
                    throw ReferenceError.io("cannot create \(dump): \(error.localizedDescription)")
                }
                for i in network.tensors.indices {
                    if let b = values.bytes(of: i) { try write(Data(b), to: (dump as NSString).appendingPathComponent("t\(i).bin")) }
                }
            }
        }
    }

    private func write(_ data: Data, to path: String) throws {
        do { try data.write(to: URL(fileURLWithPath: path)) } catch {
            throw ReferenceError.io("cannot write \(path): \(error.localizedDescription)")
        }
    }
}
