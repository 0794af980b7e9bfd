import Accelerator
import Foundation
import HDLKit
import XCTest

/// The units at the paper's configuration (PV×PF = 144 requantized lanes, PC = 16 pooled channels
/// of 9 taps) and at a narrow data width, emitted and checked by the three tools the project
/// promises: verilator -Wall with no waivers, iverilog -g2005 and a Yosys read.
final class QuantizationUnitLintTests: XCTestCase {
    func testPaperConfigurationIsLintClean() throws {
        try assertThreeToolLintClean(QuantizationUnit(config: .paper).module)
        try assertThreeToolLintClean(PoolingUnit(config: .paper).module)
    }

    func testNarrowDataWidthIsLintClean() throws {
        var c = AcceleratorConfig.paper
        c.dataWidth = 4
        c.pf = 8
        c.pd = 4
        try assertThreeToolLintClean(QuantizationUnit(config: c, maxChannels: 100, tagWidth: 3).module)
        try assertThreeToolLintClean(PoolingUnit(config: c, maxWindow: 9).module)
        try assertThreeToolLintClean(QuantizationUnit(config: c, maxChannels: 64, residual: false).module)
    }
}
