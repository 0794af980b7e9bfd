import Foundation
import Reference
import XCTest

/// The acceptance tests: every model and case in ../shared/models, output bit-exact with
/// tflite-micro's expected.bin and every tensor bit-exact with the per-layer goldens.
final class ModelGoldenTests: XCTestCase {
    /// Models this file checks; a new model in the folder must be added here (see the coverage test).
    static let models = [
        "ad01_int8", "kws_ref_model", "micro_speech_quantized", "mobilenet_v2_quantized_1x3x224x224",
        "mobilenetv2_035_96_random_int8", "person_detect", "pretrainedResnet_large_int8", "pretrainedResnet_quant",
        "str_ww_ref_model", "vww_96_int8",
    ]

    func testEveryModelInTheSharedFolderIsCoveredByAGoldenTest() throws {
        let names = try SharedModels.modelNames()
        XCTAssertEqual(names, Self.models.sorted())
    }

    func testAnomalyDetectionFCAutoencoderMatchesTFLiteMicroBitExactly() throws { try checkModel("ad01_int8") }
    func testKeywordSpottingDSCNNMatchesTFLiteMicroBitExactlyOnEveryTensor() throws { try checkModel("kws_ref_model") }
    func testMicroSpeechMatchesTFLiteMicroBitExactly() throws { try checkModel("micro_speech_quantized") }
    func testTorchvisionMobileNetV2WithTransposeAndPadMatchesTFLiteMicroBitExactlyOnEveryTensor() throws {
        try checkModel("mobilenet_v2_quantized_1x3x224x224")
    }
    func testKerasMobileNetV2WithPerChannelFCMatchesTFLiteMicroBitExactlyOnEveryTensor() throws {
        try checkModel("mobilenetv2_035_96_random_int8")
    }
    func testPersonDetectWithDepthMultiplierAndOddBiasQuantizationMatchesBitExactlyOnEveryTensor() throws {
        try checkModel("person_detect")
    }
    func testLargeResNetWithResidualAddsMatchesTFLiteMicroBitExactly() throws { try checkModel("pretrainedResnet_large_int8") }
    func testResNet8WithResidualAddsMatchesTFLiteMicroBitExactly() throws { try checkModel("pretrainedResnet_quant") }
    func testStreamingWakeWordOneDimensionalSeparableConvsMatchBitExactly() throws { try checkModel("str_ww_ref_model") }
    func testVisualWakeWordsWithZeroWeightChannelsMatchesTFLiteMicroBitExactlyOnEveryTensor() throws { try checkModel("vww_96_int8") }

    func testPublishedMACCountsOfTheSharedModelsAreReproduced() throws {
        // Totals from the table in ../shared/models/README.md, in millions, to the printed precision.
        let published: [String: Double] = [
            "vww_96_int8": 7.49, "kws_ref_model": 2.66, "person_detect": 7.16, "pretrainedResnet_quant": 12.5,
            "pretrainedResnet_large_int8": 76.5, "mobilenet_v2_quantized_1x3x224x224": 300.8,
            "mobilenetv2_035_96_random_int8": 11.9, "str_ww_ref_model": 0.83, "micro_speech_quantized": 0.34, "ad01_int8": 0.26,
        ]
        for (name, millions) in published {
            let network = try TFLiteReader.read(contentsOf: try SharedModels.model(name).appendingPathComponent("model.tflite"))
            let digits = millions >= 100 ? 1.0 : (millions >= 10 ? 1.0 : 2.0)
            let scale = pow(10, digits)
            XCTAssertEqual((Double(network.totalMACs) / 1e6 * scale).rounded() / scale, millions, "\(name) MACs \(network.totalMACs)")
        }
    }

    private struct CaseInfo: Decodable {
        var litert_reference_differs: Int?
    }

    private struct TensorEntry: Decodable {
        var name: String
        var shape: [Int]
        var dtype: String
        var file: String
        var producer_op: [ProducerField]?
    }

    private enum ProducerField: Decodable {
        case index(Int), name(String)
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let i = try? c.decode(Int.self) { self = .index(i) } else { self = .name(try c.decode(String.self)) }
        }
    }

    private func checkModel(_ name: String) throws {
        let dir = try SharedModels.model(name)
        let network = try TFLiteReader.read(contentsOf: dir.appendingPathComponent("model.tflite"))
        XCTAssertEqual(network.unsupportedOperators, [], "\(name) uses operators the reference model lacks")
        let interpreter = try Interpreter(network)
        let cases = try SharedModels.caseNames(dir)
        XCTAssertFalse(cases.isEmpty, "\(name) has no cases")
        for c in cases {
            let caseDir = dir.appendingPathComponent(c)
            let input = try SharedModels.bytes(caseDir.appendingPathComponent("input.bin"))
            let expected = try SharedModels.bytes(caseDir.appendingPathComponent("expected.bin"))
            let values = try interpreter.runAll(inputs: [input])
            let output = try XCTUnwrap(values[network.outputs[0]])
            let differing = zip(output, expected).filter { $0 != $1 }.count
            XCTAssertEqual(output.count, expected.count, "\(name)/\(c): output size")
            XCTAssertEqual(differing, 0, "\(name)/\(c): \(differing) of \(expected.count) output bytes differ from tflite-micro")
            let tensorsDir = caseDir.appendingPathComponent("tensors")
            if FileManager.default.fileExists(atPath: tensorsDir.appendingPathComponent("index.json").path) {
                let info = try JSONDecoder().decode(CaseInfo.self, from: Data(contentsOf: caseDir.appendingPathComponent("case.json")))
                try checkTensors(network, values, tensorsDir, "\(name)/\(c)", litertDiffersAfterFC: (info.litert_reference_differs ?? 0) > 0)
            }
        }
    }

    /// Compares every tensor of the model with the LiteRT dump. LiteRT's reference FC rounds a
    /// double product and tflite-micro's does not, so where the case says they differ, FC outputs
    /// and everything computed from them are left to expected.bin, which is tflite-micro's.
    private func checkTensors(_ network: Network, _ values: TensorValues, _ dir: URL, _ label: String, litertDiffersAfterFC: Bool) throws {
        let index = try JSONDecoder().decode([String: TensorEntry].self, from: Data(contentsOf: dir.appendingPathComponent("index.json")))
        var downstreamOfFC = Set<Int>()
        if litertDiffersAfterFC {
            for layer in network.layers {
                let isFC: Bool
                if case .fullyConnected = layer.op { isFC = true } else { isFC = false }
                if isFC || layer.inputs.contains(where: downstreamOfFC.contains) { downstreamOfFC.formUnion(layer.outputs) }
            }
        }
        var compared = 0
        for (key, entry) in index {
            let i = try XCTUnwrap(Int(key))
            guard i < network.tensors.count else {
                // LiteRT appends its own scratch tensors (MEAN's temporaries) after the model's.
                XCTAssertNil(entry.producer_op, "\(label): t\(i) is produced by an operator but is not in the model")
                continue
            }
            if downstreamOfFC.contains(i) { continue }
            let golden = try [UInt8](Data(contentsOf: dir.appendingPathComponent(entry.file)))
            guard let mine = values.bytes(of: i) else {
                XCTFail("\(label): t\(i) (\(entry.name)) was not computed")
                continue
            }
            XCTAssertEqual(network.tensors[i].shape, entry.shape, "\(label): t\(i) shape")
            let differing = zip(mine, golden).filter { $0 != $1 }.count
            XCTAssertTrue(mine.count == golden.count && differing == 0,
                          "\(label): t\(i) (\(entry.name)) differs in \(differing) of \(golden.count) bytes")
            compared += 1
        }
        XCTAssertGreaterThan(compared, network.layers.count, "\(label): too few tensors compared")
    }
}
