import Foundation
import Reference
import XCTest

/// The reader on small models written by `TFLiteModelBuilder`, so these need no model files.
final class TFLiteReaderTests: XCTestCase {
    func testKeras3ShapeStridedSlicePackReshapeChainIsFoldedToAConstant() throws {
        var b = TFLiteModelBuilder()
        let x = b.tensor([1, 2, 3, 4], int8: 0.5, zeroPoint: 3)
        let shape = b.int32Tensor([4])
        b.op(77, [x], [shape])  // SHAPE
        let begin = b.constant([1], int32: [0]), end = b.constant([1], int32: [1]), strides = b.constant([1], int32: [1])
        let batch = b.int32Tensor([])
        b.op(45, [shape, begin, end, strides], [batch], options: [4: .i32(1)])  // STRIDED_SLICE, shrink_axis_mask 1
        let minusOne = b.constant([], int32: [-1])
        let target = b.int32Tensor([2])
        b.op(83, [batch, minusOne], [target], options: [0: .i32(2), 1: .i32(0)])  // PACK, axis 0
        let y = b.tensor([1, 24], int8: 0.5, zeroPoint: 3)
        b.op(22, [x, target], [y])  // RESHAPE
        b.inputs = [x]
        b.outputs = [y]
        let net = try Network(tflite: b.build())
        XCTAssertEqual(net.layers.map(\.op.name), ["RESHAPE"])
        XCTAssertEqual(net.tensors[Int(shape)].int32Data, [1, 2, 3, 4])
        XCTAssertEqual(net.tensors[Int(batch)].int32Data, [1])
        XCTAssertEqual(net.tensors[Int(target)].int32Data, [1, -1])
        let input = (0 ..< 24).map { Int8($0 - 12) }
        XCTAssertEqual(try net.run(input: input), input)
    }

    func testQuantizationAndOperatorOptionsAreRead() throws {
        var b = TFLiteModelBuilder()
        let x = b.tensor([1, 4, 4, 1], int8: 0.25, zeroPoint: -7)
        let y = b.tensor([1, 2, 2, 1], int8: 0.25, zeroPoint: -7)
        // AVERAGE_POOL_2D: padding VALID, stride 2x2, filter 2x2, RELU6.
        b.op(1, [x], [y], options: [0: .u8(1), 1: .i32(2), 2: .i32(2), 3: .i32(2), 4: .i32(2), 5: .u8(3)])
        b.inputs = [x]
        b.outputs = [y]
        let net = try Network(tflite: b.build())
        XCTAssertEqual(net.tensors[0].quantization, Quantization(scale: 0.25, zeroPoint: -7))
        XCTAssertEqual(net.layers[0].op, .averagePool2D(PoolOptions(filterH: 2, filterW: 2, strideH: 2, strideW: 2, padding: .valid, activation: .relu6)))
        // 2x2 blocks of 0..15 row-major: (0+1+4+5)/4 = 2.5 -> 3, 4.5 -> 5, 10.5 -> 11, 12.5 -> 13.
        XCTAssertEqual(try net.run(input: (0 ..< 16).map { Int8($0) }), [3, 5, 11, 13])
    }

    func testUnknownOperatorsAreListedNotFatalUntilRun() throws {
        var b = TFLiteModelBuilder()
        let x = b.tensor([1, 8])
        let y = b.tensor([1, 8])
        b.op(117, [x], [y])  // HARD_SWISH
        b.inputs = [x]
        b.outputs = [y]
        let net = try Network(tflite: b.build())
        XCTAssertEqual(net.unsupportedOperators, ["HARD_SWISH"])
        XCTAssertThrowsError(try net.run(input: [Int8](repeating: 0, count: 8))) { e in
            XCTAssertTrue("\(e)".contains("HARD_SWISH"), "\(e)")
        }
    }

    func testOperatorIndicesOutsideTheTensorListAreRejected() {
        var b = TFLiteModelBuilder()
        let x = b.tensor([1, 8])
        b.op(22, [x], [99])
        b.inputs = [x]
        b.outputs = [x]
        XCTAssertThrowsError(try Network(tflite: b.build())) { e in XCTAssertTrue("\(e)".contains("tensor 99"), "\(e)") }
    }

    func testAWrongSchemaVersionIsRejected() {
        let data = FlatBufferWriter.file(root: .table([0: .i32(2)]))
        XCTAssertThrowsError(try Network(tflite: data)) { e in XCTAssertTrue("\(e)".contains("version 2"), "\(e)") }
    }
}
