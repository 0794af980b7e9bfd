import Reference
import XCTest

/// Hand-derived values of the fixed-point helpers at their edges. Each expected value is worked
/// out in the comment beside it from the C definitions, not computed by the code under test.
final class FixedPointTests: XCTestCase {
    func testDoublingHighMulSaturatesOnlyForIntMinSquared() {
        XCTAssertEqual(FixedPoint.saturatingRoundingDoublingHighMul(.min, .min), .max)
        // (2^31-1)^2 * 2 / 2^32 = 2^31 - 2 + 2^-31, nudged by 1/2 and truncated: 2^31 - 2.
        XCTAssertEqual(FixedPoint.saturatingRoundingDoublingHighMul(.max, .max), 2_147_483_646)
        // -2^31 (2^31-1) / 2^31 = -(2^31 - 1): exact.
        XCTAssertEqual(FixedPoint.saturatingRoundingDoublingHighMul(.min, .max), -2_147_483_647)
        XCTAssertEqual(FixedPoint.saturatingRoundingDoublingHighMul(.min, 0), 0)
    }

    func testDoublingHighMulRoundsPositiveTiesUpAndNegativeTiesTowardZero() {
        // 2^30 * 3 / 2^31 = 1.5 -> 2 (nudge +2^30, truncate).
        XCTAssertEqual(FixedPoint.saturatingRoundingDoublingHighMul(1 << 30, 3), 2)
        // -1.5: (-3*2^30 + 1 - 2^30) / 2^31 = -2 + 2^-31, truncated toward zero -> -1. gemmlowp's
        // nudge of 1 - 2^30 makes negative ties go toward zero, unlike RoundingDivideByPOT.
        XCTAssertEqual(FixedPoint.saturatingRoundingDoublingHighMul(-(1 << 30), 3), -1)
        // -2.5 -> -2, 2.5 -> 3.
        XCTAssertEqual(FixedPoint.saturatingRoundingDoublingHighMul(-(1 << 30), 5), -2)
        XCTAssertEqual(FixedPoint.saturatingRoundingDoublingHighMul(1 << 30, 5), 3)
        // -1.25 -> -1, -1.75 -> -2.
        XCTAssertEqual(FixedPoint.saturatingRoundingDoublingHighMul(-(1 << 29), 5), -1)
        XCTAssertEqual(FixedPoint.saturatingRoundingDoublingHighMul(-(1 << 29), 7), -2)
    }

    func testRoundingDivideByPowerOfTwoRoundsTiesAwayFromZero() {
        XCTAssertEqual(FixedPoint.roundingDivideByPOT(3, 1), 2)      // 1.5
        XCTAssertEqual(FixedPoint.roundingDivideByPOT(-3, 1), -2)    // -1.5
        XCTAssertEqual(FixedPoint.roundingDivideByPOT(-6, 2), -2)    // -1.5
        XCTAssertEqual(FixedPoint.roundingDivideByPOT(-5, 2), -1)    // -1.25
        XCTAssertEqual(FixedPoint.roundingDivideByPOT(-7, 2), -2)    // -1.75
        XCTAssertEqual(FixedPoint.roundingDivideByPOT(5, 2), 1)      // 1.25
        XCTAssertEqual(FixedPoint.roundingDivideByPOT(12345, 0), 12345)
    }

    func testRoundingDivideByPowerOfTwoAtShift31CoversTheWholeInt32Range() {
        XCTAssertEqual(FixedPoint.roundingDivideByPOT(.min, 31), -1)           // -1 exactly
        XCTAssertEqual(FixedPoint.roundingDivideByPOT(.max, 31), 1)            // 0.99999...
        XCTAssertEqual(FixedPoint.roundingDivideByPOT(1 << 30, 31), 1)         // 0.5
        XCTAssertEqual(FixedPoint.roundingDivideByPOT(-(1 << 30), 31), -1)     // -0.5
        XCTAssertEqual(FixedPoint.roundingDivideByPOT((1 << 30) - 1, 31), 0)   // just under 0.5
        XCTAssertEqual(FixedPoint.roundingDivideByPOT(-(1 << 30) + 1, 31), 0)  // just above -0.5
    }

    func testQuantizeMultiplierSplitsIntoQ31SignificandAndExponent() {
        XCTAssertTrue(FixedPoint.quantizeMultiplier(1.0) == (1 << 30, 1))
        XCTAssertTrue(FixedPoint.quantizeMultiplier(0.5) == (1 << 30, 0))
        XCTAssertTrue(FixedPoint.quantizeMultiplier(0.75) == (1_610_612_736, 0))  // 0.75 * 2^31
        XCTAssertTrue(FixedPoint.quantizeMultiplier(-0.5) == (-(1 << 30), 0))
        // 0.1 = 0.8 * 2^-3; 0.8 * 2^31 = 1717986918.4 -> 1717986918.
        XCTAssertTrue(FixedPoint.quantizeMultiplier(0.1) == (1_717_986_918, -3))
        // A significand that rounds up to 2^31 is halved and the exponent raised.
        XCTAssertTrue(FixedPoint.quantizeMultiplier(1 - 0x1p-40) == (1 << 30, 1))
    }

    func testQuantizeMultiplierOfZeroAndOfTinyValuesIsZero() {
        XCTAssertTrue(FixedPoint.quantizeMultiplier(0) == (0, 0))
        // 2^-32 = 0.5 * 2^-31: the smallest exponent kept.
        XCTAssertTrue(FixedPoint.quantizeMultiplier(0x1p-32) == (1 << 30, -31))
        // 2^-33 has exponent -32 < -31: flushed to zero as TFLite does.
        XCTAssertTrue(FixedPoint.quantizeMultiplier(0x1p-33) == (0, 0))
        XCTAssertTrue(FixedPoint.quantizeMultiplier(.nan) == (0, 0))
    }

    func testMultiplyByQuantizedMultiplierAppliesLeftShiftBeforeAndRightShiftAfter() {
        // Multiplier 1.0 = (2^30, 1): identity.
        for x: Int32 in [0, 1, -1, 127, -128, 1_000_000, -1_000_000] {
            XCTAssertEqual(FixedPoint.multiplyByQuantizedMultiplier(x, 1 << 30, 1), x)
        }
        // 0.75 * 10 = 7.5: SRDHM(10, 0.75*2^31) = 7.5 -> 8.
        XCTAssertEqual(FixedPoint.multiplyByQuantizedMultiplier(10, 1_610_612_736, 0), 8)
        // Double rounding: x * 0.5 * 2^-1 with x = 3: SRDHM(3, 2^30) = 1.5 -> 2, then 2/2 = 1 -> 1;
        // x = -3: SRDHM -> -1 (negative tie toward zero), then -1/2 = -0.5 -> -1.
        XCTAssertEqual(FixedPoint.multiplyByQuantizedMultiplier(3, 1 << 30, -1), 1)
        XCTAssertEqual(FixedPoint.multiplyByQuantizedMultiplier(-3, 1 << 30, -1), -1)
        // 5 * 0.5 * 2^-1 = 1.25: SRDHM(5, 2^30) = 2.5 -> 3, then 3/2 = 1.5 -> 2 (single rounding gives 1).
        XCTAssertEqual(FixedPoint.multiplyByQuantizedMultiplier(5, 1 << 30, -1), 2)
    }

    func testMultiplyByQuantizedMultiplierHandlesShiftMinus31AndZeroMultiplier() {
        // VWW's all-zero channels: acc = bias up to 2^30 with multiplier 0: result 0.
        XCTAssertEqual(FixedPoint.multiplyByQuantizedMultiplier(1 << 30, 0, -31), 0)
        XCTAssertEqual(FixedPoint.multiplyByQuantizedMultiplier(.min, 0, 0), 0)
        // 2^30 * 0.5 * 2^-31 = 0.25: SRDHM gives 2^29, then 2^29 / 2^31 = 0.25 -> 0.
        XCTAssertEqual(FixedPoint.multiplyByQuantizedMultiplier(1 << 30, 1 << 30, -31), 0)
        // INT32_MIN * 0.5 * 2^-31 = -0.5: SRDHM gives -2^30 exactly, then -0.5 -> -1.
        XCTAssertEqual(FixedPoint.multiplyByQuantizedMultiplier(.min, 1 << 30, -31), -1)
        // INT32_MIN * (INT32_MIN as multiplier) saturates to INT32_MAX before the shift.
        XCTAssertEqual(FixedPoint.multiplyByQuantizedMultiplier(.min, .min, 0), .max)
    }

    func testRequantizeAddsZeroPointThenClampsToTheActivationRange() {
        // acc 100 * 0.5 = 50, + zp -14 = 36.
        XCTAssertEqual(FixedPoint.requantize(acc: 100, multiplier: 1 << 30, shift: 0, outputZeroPoint: -14, min: -128, max: 127), 36)
        // The torchvision RELU6 clamp [-14, 63].
        XCTAssertEqual(FixedPoint.requantize(acc: 1000, multiplier: 1 << 30, shift: 0, outputZeroPoint: -14, min: -14, max: 63), 63)
        XCTAssertEqual(FixedPoint.requantize(acc: -1000, multiplier: 1 << 30, shift: 0, outputZeroPoint: -14, min: -14, max: 63), -14)
        XCTAssertEqual(FixedPoint.requantize(acc: .max, multiplier: .max, shift: 0, outputZeroPoint: 0, min: -128, max: 127), 127)
        XCTAssertEqual(FixedPoint.requantize(acc: .min, multiplier: .max, shift: 0, outputZeroPoint: 0, min: -128, max: 127), -128)
    }

    func testAddParametersWithEqualScalesGiveTheIntegerSum() throws {
        // All scales s: twice_max = 2s, input multipliers 1/2 = (2^30, 0), output 2^-19 = (2^30, -18).
        let p = try AddParameters(input1Scale: 0.05, input1ZeroPoint: 5, input2Scale: 0.05, input2ZeroPoint: 5,
                                  outputScale: 0.05, outputZeroPoint: -3)
        XCTAssertEqual(AddParameters.leftShift, 20)
        XCTAssertEqual(p.input1Multiplier, 1 << 30)
        XCTAssertEqual(p.input1Shift, 0)
        XCTAssertEqual(p.outputMultiplier, 1 << 30)
        XCTAssertEqual(p.outputShift, -18)
        // (a - 5) + (b - 5) - 3, all steps exact.
        XCTAssertEqual(p.add(10, 20), 17)
        XCTAssertEqual(p.add(-128, -128), -128)  // -269 clamps
        XCTAssertEqual(p.add(127, 127), 127)     // 241 clamps
    }

    func testAddParametersScaleTheSmallerInputDown() throws {
        // s1 = 1, s2 = 0.5, out = 1: r1 = 1/2 = (2^30, 0), r2 = 1/4 = (2^30, -1), ro = 2/2^20 = (2^30, -18).
        let p = try AddParameters(input1Scale: 1, input1ZeroPoint: 0, input2Scale: 0.5, input2ZeroPoint: 0, outputScale: 1, outputZeroPoint: 0)
        XCTAssertEqual(p.input2Shift, -1)
        // 10 + 7 * 0.5 = 13.5: x1 = 10<<20 -> 5<<20; x2 = 7<<20 -> 7<<18; sum = 27<<18 -> 27/2^1 = 13.5 -> 14.
        XCTAssertEqual(p.add(10, 7), 14)
        // -10 - 3.5 = -13.5 -> -14 (ties away from zero in the final divide).
        XCTAssertEqual(p.add(-10, -7), -14)
    }

    func testFusedActivationRangesFollowTFLite() {
        // RELU6 with scale 6/77 and zp -14: quantize(6) = -14 + 77 = 63 (the torchvision clamp).
        let r = FusedActivation.relu6.range(scale: 6.0 / 77.0, zeroPoint: -14)
        XCTAssertEqual(r.min, -14)
        XCTAssertEqual(r.max, 63)
        XCTAssertTrue(FusedActivation.relu.range(scale: 0.1, zeroPoint: -128) == (-128, 127))
        XCTAssertTrue(FusedActivation.none.range(scale: 0.1, zeroPoint: 3) == (-128, 127))
        XCTAssertTrue(FusedActivation.relu6.range(scale: 0.01, zeroPoint: 0) == (0, 127))
    }
}
