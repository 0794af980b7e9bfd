import Accelerator
import Foundation
import Mapper
import Reference
import XCTest

/// The folder `dsc compile` writes for the RTL simulator, read back the way the harness reads it
/// (sim.txt, memory.bin, input.bin, layers/*.bin, expected_device.bin): records decoded from the
/// memory image at the `records` address and run by `ControlModel` must leave every `layer` line's
/// bytes after its LAST_RECORD and the device output at the end; the host steps on that output must
/// give the Reference model's result.
final class ControlSimulationBundleTests: XCTestCase {
    private func readFolder(_ dir: URL, _ name: String) throws -> [UInt8] { try [UInt8](Data(contentsOf: dir.appendingPathComponent(name))) }

    func testTheWrittenFolderRunsAsTheHarnessRunsIt() throws {
        var config = AcceleratorConfig()
        config.pc = 4; config.pf = 4; config.pd = 2; config.maxRowWidth = 32; config.outputBufferDepth = 64; config.streamBytes = 32
        for name in ["dscnn-tiny", "mobilenetv2-tiny"] {
            let (network, input) = try SimulationBundle.builtin(name)
            let bundle = try SimulationBundle(network: network, config: config, input: input)
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("control-bundle-\(name)-\(ProcessInfo.processInfo.processIdentifier)")
            defer { try? FileManager.default.removeItem(at: dir) }
            try bundle.write(to: dir)

            var fields = [String: [String]](), layers = [[String]]()
            for line in String(decoding: try readFolder(dir, "sim.txt"), as: UTF8.self).split(separator: "\n") {
                let words = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0].split(separator: " ").map(String.init)
                guard let key = words.first else { continue }
                if key == "layer" { layers.append(words) } else { fields[key] = words }
            }
            XCTAssertEqual(fields["stream_bytes"], ["stream_bytes", "32"])
            XCTAssertEqual(fields["multipliers"], ["multipliers", "\(9 * 4 * 4)"])
            let recordsLine = try XCTUnwrap(fields["records"]), inputLine = try XCTUnwrap(fields["input"]), outputLine = try XCTUnwrap(fields["output"])
            var image = try readFolder(dir, try XCTUnwrap(fields["memory"])[1])
            let inputBytes = try readFolder(dir, inputLine[1])
            XCTAssertEqual(inputBytes, input.map { UInt8(bitPattern: $0) })
            let inAt = Int(inputLine[2])!
            image.replaceSubrange(inAt ..< inAt + inputBytes.count, with: inputBytes)
            let base = Int(recordsLine[1])!, count = Int(recordsLine[2])!
            let model = try ControlModel(config: config, recordStream: Array(image[base ..< base + 128 * count]))
            var memory = DeviceMemory(external: image, config: config)
            XCTAssertFalse(layers.isEmpty)
            var next = 0
            try model.run(memory: &memory) { n, _, m in
                while next < layers.count, Int(layers[next][4])! == n {
                    let l = layers[next], at = Int(l[5])!, length = Int(l[6])!
                    XCTAssertEqual(m.bytes(UInt32(at), length), try self.readFolder(dir, l[7]), "\(name): layer \(l[1]) \(l[2]) after record \(n)")
                    next += 1
                }
            }
            XCTAssertEqual(next, layers.count, "\(name): every layer line was checked")
            let outAt = Int(outputLine[2])!, outLength = Int(outputLine[3])!
            let device = memory.bytes(UInt32(outAt), outLength)
            XCTAssertEqual(device, try readFolder(dir, outputLine[4]), "\(name): device output")
            let dma = try JSONDecoder().decode(DMASchedule.self, from: Data(try readFolder(dir, "dma.json")))
            let reference = try network.run(input: input)
            XCTAssertEqual(try SimulationBundle.finish(deviceOutput: device, dma: dma), reference, "\(name): after the host steps")
            XCTAssertEqual(try readFolder(dir, "expected.bin"), reference.map { UInt8(bitPattern: $0) })
        }
    }

    func testFinishRefusesADeviceOutputOfTheWrongLength() throws {
        let (network, input) = try SimulationBundle.builtin("dscnn-tiny")
        let bundle = try SimulationBundle(network: network, config: AcceleratorConfig(), input: input)
        XCTAssertThrowsError(try SimulationBundle.finish(deviceOutput: [1, 2, 3], dma: bundle.program.dma)) { e in
            XCTAssertEqual("\(e)", "device output has 3 bytes; the schedule reads \(bundle.plan.deviceOutputLength)")
        }
    }

    func testUnknownBuiltInNetworksAreAOneLineError() {
        XCTAssertThrowsError(try SimulationBundle.builtin("alexnet")) { e in
            XCTAssertEqual("\(e)", "unknown built-in network alexnet; one of dscnn, dscnn-tiny, mobilenetv2-tiny, resnet8")
        }
    }
}
