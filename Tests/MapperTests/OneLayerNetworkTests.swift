import Accelerator
import Mapper
import Reference
import XCTest

/// Small networks of one operator kind (plus what feeds it), with random int8 weights and inputs,
/// built directly with the Network API: the executor's result must equal the Reference model's
/// for every kind the mapper lowers, at the paper's configuration and at small ones whose slices,
/// pieces and column tiles differ.
final class OneLayerNetworkTests: XCTestCase {
    fileprivate static var configs: [AcceleratorConfig] {
        var small = AcceleratorConfig(); small.pc = 4; small.pf = 4; small.pd = 2; small.maxRowWidth = 32
        var odd = AcceleratorConfig(); odd.pc = 3; odd.pf = 5; odd.pd = 1; odd.maxRowWidth = 7
        return [AcceleratorConfig(), small, odd]
    }

    private func assertBitExact(_ net: Network, _ what: String, seed: UInt64 = 7, file: StaticString = #filePath, line: UInt = #line) throws {
        var rng = SeededRandom(seed: seed)
        let n = net.tensors[net.inputs[0]].elementCount
        let input = (0 ..< n).map { _ in Int8(truncatingIfNeeded: Int(rng.next() % 256) - 128) }
        let expected = try net.run(input: input)
        for c in Self.configs {
            let program = try Mapper.compile(net, config: c)
            let got = try Executor(program).run(input: input)
            XCTAssertEqual(got.count, expected.count, "\(what) at PC=\(c.pc) PF=\(c.pf)", file: file, line: line)
            let bad = zip(got, expected).filter { $0 != $1 }.count
            XCTAssertEqual(bad, 0, "\(what) at PC=\(c.pc) PF=\(c.pf) maxRow \(c.maxRowWidth): \(bad) of \(expected.count) differ", file: file, line: line)
        }
    }

    func testStandardConvolutionsOfEveryKernelSizeStrideAndPadding() throws {
        for (k, stride, padding) in [((3, 3), 1, Padding.same), ((3, 3), 2, .same), ((3, 3), 1, .valid), ((5, 5), 1, .same),
                                     ((10, 4), 2, .same), ((7, 7), 2, .valid), ((1, 3), 1, .same), ((2, 2), 2, .valid)] {
            var b = NetBuilder(seed: UInt64(k.0 * 10 + k.1))
            let x = b.input([1, 13, 11, 6])
            b.output(b.conv(x, outputs: 7, kernel: k, stride: stride, padding: padding, activation: .relu))
            try assertBitExact(b.net, "conv \(k) stride \(stride) \(padding)")
        }
    }

    func testPointwiseConvolutionsIncludingStrideTwo() throws {
        for stride in [1, 2] {
            var b = NetBuilder(seed: 3)
            let x = b.input([1, 9, 10, 21])
            b.output(b.conv(x, outputs: 19, kernel: (1, 1), stride: stride, padding: .same, activation: .relu6))
            try assertBitExact(b.net, "pointwise stride \(stride)")
        }
    }

    func testDepthwiseWithMultipliersLargeKernelsAndStrides() throws {
        for (k, stride, m, padding) in [((3, 3), 1, 1, Padding.same), ((3, 3), 2, 1, .same), ((3, 3), 1, 8, .same),
                                        ((10, 8), 2, 1, .same), ((5, 1), 1, 2, .valid), ((15, 1), 1, 1, .valid)] {
            var b = NetBuilder(seed: UInt64(k.0 + 100 * m))
            let x = b.input([1, 17, 9, 5])
            b.output(b.depthwise(x, kernel: k, stride: stride, multiplier: m, padding: padding))
            try assertBitExact(b.net, "depthwise \(k) stride \(stride) ×\(m) \(padding)")
        }
    }

    func testFullyConnectedPerTensorAndPerChannel() throws {
        for perChannel in [false, true] {
            var b = NetBuilder(seed: 11)
            let x = b.input([1, 150])
            b.output(b.fullyConnected(x, outputs: 37, perChannel: perChannel))
            try assertBitExact(b.net, "fc per-channel \(perChannel)")
        }
    }

    func testAveragePoolAndMean() throws {
        var b = NetBuilder(seed: 5)
        let x = b.input([1, 12, 10, 7])
        b.output(b.averagePool(x, PoolOptions(filterH: 3, filterW: 3, strideH: 2, strideW: 2, padding: .same)))
        try assertBitExact(b.net, "avgpool 3x3/2 SAME")
        var g = NetBuilder(seed: 6)
        let y = g.input([1, 25, 5, 9])
        g.output(g.averagePool(y, PoolOptions(filterH: 25, filterW: 5)))
        try assertBitExact(g.net, "global avgpool 25x5")
        var m = NetBuilder(seed: 8)
        let z = m.input([1, 7, 7, 20])
        m.output(m.mean(z))
        try assertBitExact(m.net, "mean")
    }

    func testResidualAddFusedIntoTheConvolutionAndStandalone() throws {
        // Fused: conv output read only by the ADD, the other operand computed earlier.
        var b = NetBuilder(seed: 12)
        let x = b.input([1, 8, 8, 16])
        let e = b.conv(x, outputs: 16, kernel: (1, 1), stride: 1, padding: .same, activation: .relu6)
        let d = b.depthwise(e, kernel: (3, 3), stride: 1, multiplier: 1, padding: .same)
        let p = b.conv(d, outputs: 16, kernel: (1, 1), stride: 1, padding: .same, activation: .none)
        b.output(b.add(x, p))
        try assertBitExact(b.net, "bottleneck with fused shortcut (result second)")
        var c = NetBuilder(seed: 13)
        let y = c.input([1, 8, 8, 16])
        let q = c.conv(y, outputs: 16, kernel: (3, 3), stride: 1, padding: .same, activation: .none)
        c.output(c.add(q, y))
        try assertBitExact(c.net, "fused shortcut (result first)")
        // Standalone: both operands are read elsewhere too.
        var s = NetBuilder(seed: 14)
        let z = s.input([1, 6, 6, 8])
        let u = s.conv(z, outputs: 8, kernel: (1, 1), stride: 1, padding: .same, activation: .none)
        let v = s.add(z, u)
        s.output(s.add(v, u))
        try assertBitExact(s.net, "standalone ADD")
    }

    func testExplicitPadFusedIntoTheConvolutionOrRunAlone() throws {
        var b = NetBuilder(seed: 21)
        let x = b.input([1, 10, 12, 4])
        let p = b.pad(x, top: 1, bottom: 1, left: 1, right: 1)
        b.output(b.conv(p, outputs: 6, kernel: (3, 3), stride: 2, padding: .valid, activation: .relu))
        try assertBitExact(b.net, "PAD + VALID conv (fused)")
        var c = NetBuilder(seed: 22)
        let y = c.input([1, 6, 5, 3])
        c.output(c.pad(y, top: 2, bottom: 0, left: 1, right: 3))
        try assertBitExact(c.net, "PAD alone")
    }

    func testTransposeReshapeAndHostSoftmax() throws {
        var b = NetBuilder(seed: 31)
        let x = b.input([1, 3, 8, 8])
        let t = b.transpose(x, [0, 2, 3, 1])
        let c = b.conv(t, outputs: 4, kernel: (3, 3), stride: 1, padding: .same, activation: .none)
        let r = b.reshape(c, [1, 256])
        let f = b.fullyConnected(r, outputs: 10, perChannel: false)
        b.output(b.softmax(f))
        try assertBitExact(b.net, "transpose, conv, reshape, fc, softmax")
    }

    func testTheBuiltInNetworks() throws {
        let nets: [(String, FloatModel)] = [("MobileNetV1 0.25/32", Builders.mobileNetV1(widthMultiplier: 0.25, resolution: 32, classes: 10)),
                                            ("MobileNetV2 0.35/32", Builders.mobileNetV2(widthMultiplier: 0.35, resolution: 32, classes: 10)),
                                            ("DS-CNN", Builders.dsCNN()), ("ResNet-8", Builders.resNet8())]
        for (name, model) in nets {
            try assertBitExact(try model.quantizedWithRandomCalibration(), name)
        }
    }
}
