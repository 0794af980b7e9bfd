import Accelerator
import Mapper
import Reference
import XCTest

/// The binary instruction format: every field survives encode/decode, and corrupt streams are
/// refused with a one-line reason instead of being executed.
final class InstructionSetTests: XCTestCase {
    private func everyFieldSet() -> Instruction {
        var i = Instruction()
        i.kind = .depthwise; i.inputRoute = .ramM; i.outputRoute = .ramS; i.residualRoute = .external
        i.fusedAdd = true; i.resultIsSecondAddend = true
        i.layer = 70_001
        i.inputHeight = 225; i.inputWidth = 1023; i.inputChannels = 100_000
        i.outputHeight = 113; i.outputWidth = 512; i.outputChannels = 70_000
        i.kernelHeight = 10; i.kernelWidth = 4; i.strideH = 2; i.strideW = 1
        i.padTop = 4; i.padLeft = 1; i.padBottom = 5; i.padRight = 2
        i.depthMultiplier = 8; i.piecesH = 4; i.piecesW = 2
        i.channelSlices = 4375; i.filterSlices = 1
        i.tileOutColumn = 200; i.tileOutColumns = 111; i.tileInColumn = -1; i.tileInColumns = 223
        i.inputAddress = 0xDEAD_BEEF; i.outputAddress = 0x1000; i.weightAddress = 0xFFFF_FFFF; i.parameterAddress = 12; i.residualAddress = 0x8000_0000
        i.inputZeroPoint = -128; i.outputZeroPoint = 127; i.activationMin = -14; i.activationMax = 63
        i.weightZeroPoint = -3; i.pruningThreshold = 255; i.batches = 3
        i.add.input1Offset = 128; i.add.input2Offset = -127
        i.add.input1Multiplier = Int32.max; i.add.input2Multiplier = 1 << 30; i.add.outputMultiplier = Int32.min
        i.add.input1Shift = -31; i.add.input2Shift = 0; i.add.outputShift = -20; i.add.outputOffset = -128
        i.add.activationMin = 0; i.add.activationMax = 6
        i.meanMultiplier = -123_456_789; i.meanShift = -40
        i.layoutShape = [1, 3, 224, 65535]; i.permutation = [0, 2, 3, 1]
        return i
    }

    func testEveryFieldRoundTripsThroughTheBinaryEncoding() throws {
        let i = everyFieldSet()
        let bytes = try Instruction.encodeStream([i, Instruction()])
        XCTAssertEqual(bytes.count, 2 * Instruction.byteCount)
        let back = try Instruction.decodeStream(bytes)
        XCTAssertEqual(back[0], i)
        var second = Instruction(); second.sequence = 1
        XCTAssertEqual(back[1], second)
    }

    func testTheEncodingIsLittleEndianWithMagicKindAndFlagsInWordZero() throws {
        var i = Instruction()
        i.kind = .pointwise; i.outputRoute = .ramM; i.fusedAdd = true
        i.inputAddress = 0x0403_0201
        let b = try i.encoded()
        XCTAssertEqual(b[0], 2)                       // kind
        XCTAssertEqual(b[1], 0b0100_1000)             // output route 2 at bits 10-11, fused ADD at bit 14
        XCTAssertEqual([b[2], b[3]], [0xC1, 0xD5])    // magic 0xD5C1
        XCTAssertEqual(Array(b[52 ..< 56]), [1, 2, 3, 4])  // word 13: input address
    }

    func testEveryCompiledProgramDecodesToItsOwnInstructions() throws {
        let net = try Builders.mobileNetV2(widthMultiplier: 0.35, resolution: 32, classes: 10).quantizedWithRandomCalibration()
        let program = try Mapper.compile(net, config: AcceleratorConfig())
        XCTAssertEqual(try Instruction.decodeStream(try program.encodedInstructions()), program.instructions)
    }

    func testCorruptStreamsAreRefusedWithTheReason() throws {
        let good = try Instruction.encodeStream([everyFieldSet(), Instruction()])
        func refusal(_ bytes: [UInt8]) -> String {
            do { _ = try Instruction.decodeStream(bytes); return "accepted" } catch { return "\(error)" }
        }
        for bit in stride(from: 0, to: 8 * 124, by: 37) {
            var bad = good
            bad[bit / 8] ^= UInt8(1 << (bit % 8))
            let why = refusal(bad)
            XCTAssertTrue(why.contains("instruction 0"), "bit \(bit): \(why)")
        }
        XCTAssertTrue(refusal(Array(good.dropLast(3))).contains("not a whole number"))
        XCTAssertTrue(refusal(Array(good[128...]) + Array(good[..<128])).contains("sequence"))
        var magic = good; magic[3] = 0
        XCTAssertTrue(refusal(magic).contains("magic"))
        // A well-formed record (checksum fixed up) with an unknown kind is still refused.
        var kind = Array(good[..<128]); kind[0] = 99
        let sum = fnv(kind[..<124])
        kind[124] = UInt8(sum & 255); kind[125] = UInt8(sum >> 8 & 255); kind[126] = UInt8(sum >> 16 & 255); kind[127] = UInt8(sum >> 24)
        XCTAssertTrue(refusal(kind).contains("unknown kind 99"), refusal(kind))
    }

    func testFieldsOutsideTheirRangeCannotBeEncoded() {
        var i = Instruction(); i.strideH = 300
        XCTAssertThrowsError(try i.encoded()) { XCTAssertTrue("\($0)".contains("strideH = 300")) }
    }

    /// FNV-1a, as docs/instructions.md specifies the checksum.
    private func fnv(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var h: UInt32 = 0x811C_9DC5
        for b in bytes { h = (h ^ UInt32(b)) &* 0x0100_0193 }
        return h
    }
}

/// Networks the accelerator cannot run are refused with the layer named.
final class MappingErrorTests: XCTestCase {
    private func tinyConvNetwork() throws -> Network {
        try Builders.dsCNN(channels: 8, blocks: 1).quantizedWithRandomCalibration()
    }

    private func message(_ net: Network) -> String {
        do { _ = try Mapper.compile(net, config: AcceleratorConfig()); return "compiled" } catch { return "\(error)" }
    }

    func testSoftmaxInTheMiddleNamesTheLayer() throws {
        var net = try tinyConvNetwork()
        let x = net.layers[0].outputs[0]
        let s = net.addTensor(Tensor(name: "sm", shape: net.tensors[x].shape, quantization: Quantization(scale: 1.0 / 256, zeroPoint: -128)))
        net.layers.insert(Layer(.softmax(beta: 1), inputs: [x], outputs: [s]), at: 1)
        net.layers[2].inputs[0] = s
        XCTAssertEqual(message(net).hasPrefix("layer 1 (SOFTMAX): softmax runs on the host"), true, message(net))
    }

    func testAnUnsupportedOperatorNamesTheLayer() throws {
        var net = try tinyConvNetwork()
        net.layers[2].op = .unsupported("TANH")
        XCTAssertEqual(message(net), "layer 2 (TANH): operator not supported by the accelerator or the host")
    }

    func testDilationIsRefusedNamingTheLayer() throws {
        var net = try tinyConvNetwork()
        guard case .depthwiseConv2D(var o) = net.layers[1].op else { return XCTFail("layer 1 should be depthwise") }
        o.dilationH = 2; o.dilationW = 2; o.padding = .same
        net.layers[1].op = .depthwiseConv2D(o)
        XCTAssertTrue(message(net).hasPrefix("layer 1 (DEPTHWISE_CONV_2D): dilation 2x2"), message(net))
    }

    func testAnInvalidConfigurationIsRefused() throws {
        var c = AcceleratorConfig(); c.pc = 0
        XCTAssertThrowsError(try Mapper.compile(try tinyConvNetwork(), config: c)) { XCTAssertTrue("\($0)".contains("--pc 0")) }
    }

    func testTheExecutorReadsWeightsFromTheMemoryImage() throws {
        // Corrupting the constant region must change the result: the executor has no other copy.
        let net = try tinyConvNetwork()
        var program = try Mapper.compile(net, config: AcceleratorConfig())
        let input = [Int8](repeating: 5, count: net.tensors[net.inputs[0]].elementCount)
        let clean = try Executor(program).run(input: input)
        XCTAssertEqual(clean, try net.run(input: input))
        for k in 0 ..< program.constantBytes { program.memory[k] = 0 }
        XCTAssertNotEqual(try Executor(program).run(input: input), clean)
    }
}

/// Hardware-assisted pruning: a threshold t must act as if every weight with |w| ≤ t were zero.
final class PruningExecutionTests: XCTestCase {
    func testAPrunedProgramEqualsTheReferenceWithSmallWeightsZeroed() throws {
        let net = try Builders.mobileNetV1(widthMultiplier: 0.25, resolution: 32, classes: 10).quantizedWithRandomCalibration()
        var options = MapperOptions(); options.pruningThreshold = 20
        var zeroed = net
        for (n, l) in net.layers.enumerated() {
            switch l.op {
            case .conv2D, .depthwiseConv2D, .fullyConnected:
                let w = l.inputs[1]
                zeroed.tensors[w].data = .int8((net.tensors[w].int8Data ?? []).map { abs(Int($0)) <= 20 ? 0 : $0 })
            default: _ = n
            }
        }
        let input = (0 ..< net.tensors[net.inputs[0]].elementCount).map { Int8(truncatingIfNeeded: $0 * 37) }
        let pruned = try Executor(try Mapper.compile(net, config: AcceleratorConfig(), options: options)).run(input: input)
        XCTAssertEqual(pruned, try zeroed.run(input: input))
        XCTAssertTrue(try Mapper.compile(net, config: AcceleratorConfig(), options: options).instructions.contains { $0.pruningThreshold == 20 })
    }
}

/// The cycle model's arithmetic on a network small enough to compute by hand.
final class CycleModelTests: XCTestCase {
    func testAPointwiseLayerByHand() throws {
        // 1×4×4×8 input, 1×1 conv to 8 filters, paper configuration (PC = PF = 16, PV = 9).
        var net = Network()
        let x = net.addTensor(Tensor(name: "x", shape: [1, 4, 4, 8], quantization: Quantization(scale: 0.1, zeroPoint: 0)))
        let w = net.addTensor(Tensor(name: "w", shape: [8, 1, 1, 8], quantization: Quantization(scale: 0.01, zeroPoint: 0), data: .int8([Int8](repeating: 1, count: 64))))
        let y = net.addTensor(Tensor(name: "y", shape: [1, 4, 4, 8], quantization: Quantization(scale: 0.2, zeroPoint: 0)))
        net.addLayer(.conv2D(ConvOptions(stride: 1, padding: .same)), inputs: [x, w, -1], outputs: [y])
        net.inputs = [x]; net.outputs = [y]
        let program = try Mapper.compile(net, config: AcceleratorConfig())
        let e = CycleModel.estimate(program, network: net, bandwidth: 64)
        XCTAssertEqual(e.layers.count, 1)
        let l = e.layers[0]
        // One PC slice × one PF slice; ceil(16 pixels / PV 9) = 2 cycles per pass.
        let compute = 1 * (2 + CycleModel.sliceSwitchCycles) + CycleModel.pipelineFillCycles
        // Weights 16×16 (padded block), 16 parameter records of 12 bytes, input 128, output 128.
        XCTAssertEqual(l.bytesIn, 256 + 192 + 128)
        XCTAssertEqual(l.bytesOut, 128)
        let transfer = (704 + 63) / 64
        XCTAssertEqual(l.computeCycles, compute)
        XCTAssertEqual(l.transferCycles, transfer)
        XCTAssertEqual(l.cycles, max(compute, transfer) + CycleModel.instructionOverheadCycles)
        XCTAssertEqual(l.macs, 16 * 8 * 8)
        XCTAssertEqual(l.utilisation, Double(1024) / Double(l.cycles * 9 * 16 * 16), accuracy: 1e-12)
        XCTAssertEqual(e.fps, 150e6 / Double(l.cycles), accuracy: 1e-6)
        XCTAssertEqual(e.gops, 2 * 1024 * 150e6 / Double(l.cycles) / 1e9, accuracy: 1e-9)
    }

    func testMoreBandwidthNeverCostsCycles() throws {
        let net = try Builders.mobileNetV2(widthMultiplier: 0.35, resolution: 32, classes: 10).quantizedWithRandomCalibration()
        let program = try Mapper.compile(net, config: AcceleratorConfig())
        let slow = CycleModel.estimate(program, network: net, bandwidth: 4), fast = CycleModel.estimate(program, network: net, bandwidth: 256)
        XCTAssertGreaterThan(slow.cycles, fast.cycles)
        XCTAssertEqual(slow.macs, fast.macs)
    }
}
