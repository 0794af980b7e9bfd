import ArgumentParser
import Foundation
import Mapper

struct Finish: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the host steps (softmax) on a simulator's device_output.bin and compare with expected.bin (exit 1 on mismatch).")

    @Argument(help: "A folder written by dsc compile, with the simulator's device_output.bin in it.")
    var dir: String

    func run() throws {
        let folder = URL(fileURLWithPath: dir)
        func read(_ name: String) throws -> [UInt8] {
            let path = folder.appendingPathComponent(name).path
            guard let d = FileManager.default.contents(atPath: path) else { throw MapperError("\(path) does not exist or cannot be read") }
            return [UInt8](d)
        }
        let (output, expected) = try failing { () throws -> ([Int8], [Int8]) in
            let dma: DMASchedule
            do { dma = try JSONDecoder().decode(DMASchedule.self, from: Data(try read("dma.json"))) } catch let e as MapperError { throw e } catch {
                throw MapperError("\(folder.appendingPathComponent("dma.json").path) is not a DMA schedule written by dsc compile")
            }
            let out = try SimulationBundle.finish(deviceOutput: try read("device_output.bin"), dma: dma)
            let expected = try read("expected.bin").map { Int8(bitPattern: $0) }
            do { try Data(out.map { UInt8(bitPattern: $0) }).write(to: folder.appendingPathComponent("output.bin")) } catch {
                throw MapperError("cannot write \(folder.appendingPathComponent("output.bin").path)")
            }
            return (out, expected)
        }
        let bad = zip(output, expected).enumerated().filter { $0.element.0 != $0.element.1 }
        if output.count == expected.count && bad.isEmpty {
            print("dsc finish: output matches expected.bin (\(expected.count) bytes)")
        } else {
            let first = bad.first.map { ", first at byte \($0.offset): \($0.element.0) instead of \($0.element.1)" } ?? ""
            FileHandle.standardError.write(Data("dsc finish: output differs from expected.bin: \(bad.count) of \(expected.count) bytes differ\(output.count != expected.count ? ", \(output.count) bytes instead of \(expected.count)" : "")\(first)\n".utf8))
            throw ExitCode(1)
        }
    }
}
