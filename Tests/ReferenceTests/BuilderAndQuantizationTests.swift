import Reference
import XCTest

/// Batch-norm folding, float-to-int8 quantization and the built-in networks.
final class BuilderAndQuantizationTests: XCTestCase {
    func testBatchNormFoldingScalesWeightsAndShiftsBias() {
        // gamma 3, var + eps = 4: factor 1.5. w' = 2 * 1.5 = 3; b' = (1 - 0.5) * 1.5 + 0.25 = 1.
        let bn = BatchNorm(gamma: [3], beta: [0.25], mean: [0.5], variance: [4 - 1e-3], epsilon: 1e-3)
        let r = Quantizer.foldBatchNorm(weights: [2, -4], bias: [1], batchNorm: bn, channelOf: { _ in 0 })
        XCTAssertEqual(r.weights[0], 3, accuracy: 1e-5)
        XCTAssertEqual(r.weights[1], -6, accuracy: 1e-5)
        XCTAssertEqual(r.bias[0], 1, accuracy: 1e-5)
    }

    func testFoldedConvolutionEqualsConvolutionFollowedByBatchNorm() {
        var rng = SeededRandom(seed: 3)
        let shape = [4, 3, 3, 2]
        let w = rng.uniform(count: shape.reduce(1, *), -1, 1)
        let bn = BatchNorm(gamma: rng.uniform(count: 4, 0.5, 1.5), beta: rng.uniform(count: 4, -1, 1),
                           mean: rng.uniform(count: 4, -1, 1), variance: rng.uniform(count: 4, 0.5, 2))
        var withBN = FloatModel(inputShape: [1, 5, 5, 2])
        withBN.conv2D(0, weights: w, shape: shape, batchNorm: bn, options: ConvOptions(stride: 1, padding: .same))
        var plain = FloatModel(inputShape: [1, 5, 5, 2])
        plain.conv2D(0, weights: w, shape: shape, options: ConvOptions(stride: 1, padding: .same))
        let x = rng.uniform(count: 50, -1, 1)
        let y = withBN.forward(x)[1], z = plain.forward(x)[1]
        for (i, v) in z.enumerated() {
            let c = i % 4
            let expected = (v - bn.mean[c]) / (bn.variance[c] + bn.epsilon).squareRoot() * bn.gamma[c] + bn.beta[c]
            XCTAssertEqual(y[i], expected, accuracy: 1e-4)
        }
    }

    func testWeightsQuantizeSymmetricallyPerChannel() {
        // Channel 0 max 2 -> scale 2/127: 1 -> 63.5 -> 64, -2 -> -127. Channel 1 max 4: 0.5 -> 15.875 -> 16, 4 -> 127.
        let r = Quantizer.quantizeWeightsPerChannel([1, -2, 0.5, 4], channels: 2, channelOf: { $0 / 2 })
        XCTAssertEqual(r.values, [64, -127, 16, 127])
        XCTAssertEqual(r.scales[0], 2 / 127, accuracy: 1e-9)
        XCTAssertEqual(r.scales[1], 4 / 127, accuracy: 1e-9)
    }

    func testActivationRangesBecomeAsymmetricInt8WithZeroExact() {
        let relu6 = Quantizer.activationQuantization(min: 0, max: 6)
        XCTAssertEqual(relu6.scale, 6 / 255, accuracy: 1e-9)
        XCTAssertEqual(relu6.zeroPoint, -128)
        // [-1, 1]: scale 2/255, zp = round(-128 + 127.5) = round(-0.5) = -1.
        let sym = Quantizer.activationQuantization(min: -1, max: 1)
        XCTAssertEqual(sym.zeroPoint, -1)
        // A range not containing 0 is widened to include it.
        XCTAssertEqual(Quantizer.activationQuantization(min: 2, max: 5.1).zeroPoint, -128)
        XCTAssertEqual(Quantizer.quantizeBias([0.5, -0.25], inputScale: 0.5, weightScales: [0.01, 0.1]), [100, -5])
    }

    // The MAC totals of the real models these builders mirror (../shared/models/README.md and
    // `dsc info`), so each builder is checked layer-geometry-exact against an external design.

    func testDSCNNBuilderHasTheMLPerfKeywordSpottingGeometry() {
        XCTAssertEqual(try Builders.dsCNN().quantizedWithRandomCalibration().totalMACs, 2_656_768)
    }

    func testResNet8BuilderHasTheMLPerfImageClassificationGeometry() {
        XCTAssertEqual(try Builders.resNet8().quantizedWithRandomCalibration().totalMACs, 12_501_632)
    }

    func testMobileNetV1BuilderAtQuarterWidthAnd96MatchesVisualWakeWords() {
        XCTAssertEqual(try Builders.mobileNetV1(widthMultiplier: 0.25, resolution: 96, classes: 2).quantizedWithRandomCalibration(samples: 1).totalMACs, 7_489_664)
    }

    func testMobileNetV2BuilderAt035And96MatchesTheKerasModel() throws {
        let net = try Builders.mobileNetV2(widthMultiplier: 0.35, resolution: 96).quantizedWithRandomCalibration(samples: 1)
        XCTAssertEqual(net.totalMACs, 11_934_128)
        XCTAssertEqual(net.layers.filter { if case .add = $0.op { return true }; return false }.count, 10)
    }

    func testMobileNetV2FullSizeHas300MillionMACs() {
        // Counted without running: torchvision's MobileNetV2 1.0 at 224 (the shared model) has 300,774,272.
        let model = Builders.mobileNetV2()
        var macs = 0
        for node in model.nodes {
            switch node.op {
            case let .conv2D(_, shape, _, _, _): macs += node.shape.reduce(1, *) * shape[1] * shape[2] * shape[3]
            case let .depthwiseConv2D(_, shape, _, _, _): macs += node.shape.reduce(1, *) * shape[1] * shape[2]
            case let .fullyConnected(w, _, _, _): macs += w.count
            default: break
            }
        }
        XCTAssertEqual(macs, 300_774_272)
    }

    func testBuildersAreDeterministicForASeedAndDifferAcrossSeeds() throws {
        let a = try Builders.dsCNN(seed: 5).quantizedWithRandomCalibration()
        let b = try Builders.dsCNN(seed: 5).quantizedWithRandomCalibration()
        let c = try Builders.dsCNN(seed: 6).quantizedWithRandomCalibration()
        XCTAssertEqual(a.tensors[a.layers[0].inputs[1]].int8Data, b.tensors[b.layers[0].inputs[1]].int8Data)
        XCTAssertNotEqual(a.tensors[a.layers[0].inputs[1]].int8Data, c.tensors[c.layers[0].inputs[1]].int8Data)
    }

    /// The int8 network must compute what its float model computes, up to quantization noise.
    private func assertTracksFloat(_ model: FloatModel, tolerance: Float, file: StaticString = #filePath, line: UInt = #line) throws {
        let net = try model.quantizedWithRandomCalibration(seed: 9, samples: 3)
        var rng = SeededRandom(seed: 10)
        let x = rng.uniform(count: model.nodes[0].shape.reduce(1, *), -1, 1)
        let qIn = try XCTUnwrap(net.tensors[net.inputs[0]].quantization)
        let qOut = try XCTUnwrap(net.tensors[net.outputs[0]].quantization)
        let y = Quantizer.dequantize(try net.run(input: Quantizer.quantize(x, qIn)), qOut)
        let want = model.forward(x)[model.output]
        let range = (want.max() ?? 0) - (want.min() ?? 0)
        let worst = zip(y, want).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThan(worst, tolerance * range, "worst error \(worst) over output range \(range)", file: file, line: line)
    }

    func testQuantizedResNet8TracksItsFloatModel() throws { try assertTracksFloat(Builders.resNet8(), tolerance: 0.1) }
    func testQuantizedDSCNNTracksItsFloatModel() throws { try assertTracksFloat(Builders.dsCNN(), tolerance: 0.1) }
    func testQuantizedMobileNetV2TracksItsFloatModel() throws {
        try assertTracksFloat(Builders.mobileNetV2(widthMultiplier: 0.35, resolution: 32, classes: 10), tolerance: 0.15)
    }
    func testQuantizedMobileNetV1TracksItsFloatModel() throws {
        try assertTracksFloat(Builders.mobileNetV1(widthMultiplier: 0.25, resolution: 32, classes: 10), tolerance: 0.15)
    }
}
