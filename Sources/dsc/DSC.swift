import ArgumentParser
import Accelerator
import Foundation
import Mapper
import Reference

@main
struct DSC: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dsc",
        abstract: "Inspect and run int8 TFLite models with the bit-exact reference model; compile them for the accelerator.",
        subcommands: [Info.self, Infer.self, Compile.self, Finish.self, Estimate.self])

    /// A usage error (a missing value, an unknown option) is bad input like any other: one line on
    /// stderr and exit status 1, not ArgumentParser's help text and status 64.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if error is ExitCode || exitCode(for: error) == .success { exit(withError: error) }
            let line = message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            FileHandle.standardError.write(Data("dsc: error: \(line)\n".utf8))
            Foundation.exit(1)
        }
    }
}

/// Prints a failure as one line on stderr and exits with status 1.
func failing<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch {
        let message = (error as? ReferenceError)?.description ?? (error as? MapperError)?.description
            ?? (error as? AcceleratorConfig.Invalid)?.description ?? (error as? InstructionDecodingError)?.description
            ?? (error as? ControlRecordError)?.description ?? "\(error.localizedDescription)"
        FileHandle.standardError.write(Data("dsc: error: \(oneLine(message))\n".utf8))
        throw ExitCode(1)
    }
}

/// A message stays one line whatever a file put into it (a tensor name with a newline in a
/// corrupt model): control characters are written as escapes.
func oneLine(_ message: String) -> String {
    message.unicodeScalars.map { $0.properties.generalCategory == .control ? $0.escaped(asASCII: true) : String($0) }.joined()
}

func readModel(_ path: String) throws -> Network {
    guard FileManager.default.fileExists(atPath: path) else { throw ReferenceError.io("model file \(path) does not exist") }
    return try TFLiteReader.read(contentsOf: URL(fileURLWithPath: path))
}

/// The network of a command that takes a .tflite `model` or a `builtin` name, exactly one of them;
/// a built-in one comes with its seeded input.
func readNetwork(model: String?, builtin: String?) throws -> (network: Network, input: [Int8]?) {
    switch (model, builtin) {
    case let (path?, nil): return (try readModel(path), nil)
    case let (nil, name?): return try SimulationBundle.builtin(name)
    case (_?, _?): throw MapperError("give either a .tflite model or --builtin, not both")
    case (nil, nil): throw MapperError("give a .tflite model or --builtin NAME (\(SimulationBundle.builtinNames.joined(separator: ", ")))")
    }
}
