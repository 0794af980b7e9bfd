import Reference
import XCTest

/// The interpreter on networks built in Swift, and its errors.
final class InterpreterTests: XCTestCase {
    /// input [1,2,2,1] -> 1x1 conv with weight 2 (scales 1) -> output, zero points 0.
    private func doubler() -> Network {
        var net = Network()
        let x = net.addTensor(Tensor(name: "x", shape: [1, 2, 2, 1], quantization: Quantization(scale: 1, zeroPoint: 0)))
        let w = net.addTensor(Tensor(name: "w", shape: [1, 1, 1, 1], quantization: Quantization(scale: 1, zeroPoint: 0), data: .int8([2])))
        let y = net.addTensor(Tensor(name: "y", shape: [1, 2, 2, 1], quantization: Quantization(scale: 1, zeroPoint: 0)))
        net.addLayer(.conv2D(ConvOptions(stride: 1, padding: .valid)), inputs: [x, w, -1], outputs: [y])
        net.inputs = [x]
        net.outputs = [y]
        return net
    }

    func testANetworkBuiltInSwiftRunsAndKeepsEveryTensor() throws {
        let net = doubler()
        XCTAssertEqual(try net.run(input: [1, -3, 50, 100]), [2, -6, 100, 127])
        let all = try net.runAll(input: [1, 2, 3, 4])
        XCTAssertEqual(all[0], [1, 2, 3, 4])
        XCTAssertEqual(all[1], [2])  // constants come back too
        XCTAssertEqual(all.bytes(of: 2), [2, 4, 6, 8])
        XCTAssertEqual(net.statistics()[0], LayerStatistics(macs: 4, weights: 1, biases: 0))
    }

    func testAWrongInputSizeIsAnErrorNamingBothSizes() {
        XCTAssertThrowsError(try doubler().run(input: [1, 2, 3])) { e in
            XCTAssertTrue("\(e)".contains("needs 4 bytes"), "\(e)")
            XCTAssertTrue("\(e)".contains("got 3"), "\(e)")
        }
    }

    func testAnUnsupportedOperatorIsNamedWhenTheNetworkIsPrepared() {
        var net = doubler()
        net.layers.append(Layer(.unsupported("HARD_SWISH"), inputs: [2], outputs: [2]))
        XCTAssertEqual(net.unsupportedOperators, ["HARD_SWISH"])
        XCTAssertThrowsError(try Interpreter(net)) { e in
            XCTAssertEqual(e as? ReferenceError, .unsupported("operator HARD_SWISH (layer 1) is not implemented by the reference model"))
        }
    }

    func testAnOutputShapeThatDisagreesWithTheOperatorIsRejected() {
        var net = doubler()
        net.tensors[2].shape = [1, 2, 1, 2]
        XCTAssertThrowsError(try Interpreter(net)) { e in XCTAssertTrue("\(e)".contains("computes [1, 2, 2, 1]"), "\(e)") }
    }

    func testATensorReadBeforeItIsWrittenIsAnError() {
        var net = doubler()
        let orphan = net.addTensor(Tensor(name: "orphan", shape: [1, 2, 2, 1], quantization: Quantization(scale: 1, zeroPoint: 0)))
        net.layers[0].inputs[0] = orphan
        XCTAssertThrowsError(try net.run(input: [1, 2, 3, 4])) { e in XCTAssertTrue("\(e)".contains("read before"), "\(e)") }
    }
}
