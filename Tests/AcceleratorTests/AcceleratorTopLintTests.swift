import Accelerator
import Foundation
import HDLKit
import XCTest

/// AcceleratorTop with the real ExecutionUnit at a small configuration: the module is named
/// `AcceleratorTop`, has exactly the ports of docs/control.md, and is clean under the three tools
/// (verilator -Wall with no waivers, iverilog -g2005, a Yosys read). The paper configuration is
/// linted by ElaborateTests (it is in `Datapath.units`).
final class AcceleratorTopLintTests: XCTestCase {
    static func smallConfig() -> AcceleratorConfig {
        var c = AcceleratorConfig.paper
        c.pc = 4; c.pf = 4; c.pd = 2; c.streamBytes = 16; c.maxRowWidth = 32; c.outputBufferDepth = 64
        return c
    }

    func testPortsAreThoseOfTheDocument() throws {
        let top = try AcceleratorTop(config: Self.smallConfig()).module
        XCTAssertEqual(top.name, "AcceleratorTop")
        let b = 16
        func command(_ p: String, _ readyIn: Bool) -> [(String, Int, Bool)] {
            [("\(p)_valid", 1, false), ("\(p)_ready", 1, true), ("\(p)_address", 32, false), ("\(p)_chunk", 8, false),
             ("\(p)_count1", 16, false), ("\(p)_stride1", 32, false), ("\(p)_count2", 16, false), ("\(p)_stride2", 32, false)]
        }
        var expected: [(String, Int, Bool)] = [
            ("s_axil_awvalid", 1, true), ("s_axil_awready", 1, false), ("s_axil_awaddr", 12, true),
            ("s_axil_wvalid", 1, true), ("s_axil_wready", 1, false), ("s_axil_wdata", 32, true), ("s_axil_wstrb", 4, true),
            ("s_axil_bvalid", 1, false), ("s_axil_bready", 1, true), ("s_axil_bresp", 2, false),
            ("s_axil_arvalid", 1, true), ("s_axil_arready", 1, false), ("s_axil_araddr", 12, true),
            ("s_axil_rvalid", 1, false), ("s_axil_rready", 1, true), ("s_axil_rdata", 32, false), ("s_axil_rresp", 2, false),
            ("irq", 1, false),
        ]
        expected += command("m_rd_cmd", true)
        expected += [("s_axis_tvalid", 1, true), ("s_axis_tready", 1, false), ("s_axis_tdata", 8 * b, true), ("s_axis_tlast", 1, true)]
        expected += command("m_wt_cmd", true)
        expected += [("s_axis_wt_tvalid", 1, true), ("s_axis_wt_tready", 1, false), ("s_axis_wt_tdata", 8 * b, true),
                     ("s_axis_wt_tlast", 1, true)]
        expected += command("m_wr_cmd", true)
        expected += [("m_axis_tvalid", 1, false), ("m_axis_tready", 1, true), ("m_axis_tdata", 8 * b, false),
                     ("m_axis_tkeep", b, false), ("m_axis_tlast", 1, false), ("trace_record_done", 1, false), ("trace_layer", 16, false)]
        let ports = top.portList.map { "\($0.name) \($0.type.width) \($0.isInput ? "in" : "out")" }
        XCTAssertEqual(Set(ports), Set(expected.map { "\($0.0) \($0.1) \($0.2 ? "in" : "out")" }))
        XCTAssertEqual(ports.count, expected.count)
    }

    func testSmallConfigurationIsLintClean() throws {
        try assertThreeToolLintClean(try AcceleratorTop(config: Self.smallConfig()).module)
    }
}
