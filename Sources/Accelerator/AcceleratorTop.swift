import HDLKit

/// The whole accelerator as one Verilog module named `AcceleratorTop` (docs/control.md): the
/// AXI4-Lite register file, the control unit and the execution unit, with the ports of
/// docs/control.md. The configuration is in the CONFIG register (and rtl/config.json), not the name,
/// so harnesses build it by one name.
///
/// The streams' data ports are single vectors of 8·B bits (byte b in bits 8b+7 ... 8b), split into
/// and joined from the units' per-byte ports here; `m_axis_tkeep` has the low `outChunk` bits set.
public struct AcceleratorTop {
    public let config: AcceleratorConfig
    public let module: Module
    public static let moduleName = "AcceleratorTop"

    /// The accelerator with its ExecutionUnit.
    public init(config c: AcceleratorConfig) throws {
        try self.init(config: c, executionUnit: try ExecutionUnit(config: c).module())
    }

    /// The accelerator around `executionUnit`, a module with the ExecutionUnit's ports
    /// (/work/EXECUTION_UNIT.md); tests pass stand-ins.
    public init(config c: AcceleratorConfig, executionUnit: Module) throws {
        try c.validate()
        config = c
        let registers = try AxiLiteRegisters(config: c).module
        let control = try ControlUnit(config: c).module
        let b = c.streamBytes
        module = Module(Self.moduleName) { m in
            let regs = m.instance(registers, "registers")
            let ctrl = m.instance(control, "control")
            let exec = m.instance(executionUnit, "execution")

            for port in registers.portList where port.name.hasPrefix("s_axil_") {
                if port.isInput { regs.port(port.name).assign(m.input(port.name, port.type)) }
                else { m.output(port.name, regs.port(port.name)) }
            }
            m.output("irq", regs.irq)

            let command = ["valid", "ready", "address", "chunk", "count1", "stride1", "count2", "stride2"]
            for field in command {
                let name = "m_rd_cmd_\(field)"
                if field == "ready" { ctrl.port(name).assign(m.input(name, .bool)) } else { m.output(name, ctrl.port(name)) }
            }
            ctrl.s_axis_tvalid.assign(m.input("s_axis_tvalid", .bool))
            m.output("s_axis_tready", ctrl.s_axis_tready)
            let sData = m.input("s_axis_tdata", .uint(8 * b))
            for i in 0..<b { ctrl.port("s_axis_byte_\(i)").assign(sData.bits(8 * i + 7, 8 * i)) }
            ctrl.s_axis_tlast.assign(m.input("s_axis_tlast", .bool))
            for field in command {
                let name = "m_wr_cmd_\(field)"
                if field == "ready" { ctrl.port(name).assign(m.input(name, .bool)) } else { m.output(name, ctrl.port(name)) }
            }

            let outValid = m.output("m_axis_tvalid", exec.out_valid)
            let outReady = m.input("m_axis_tready", .bool)
            exec.out_ready.assign(outReady)
            m.output("m_axis_tdata", cat((0..<b).reversed().map { exec.port("out_byte_\($0)").asUnsigned }))
            let outChunk = ctrl.out_chunk
            m.output("m_axis_tkeep", cat((0..<b).reversed().map { outChunk > $0 }))
            m.output("m_axis_tlast", exec.out_last)
            m.output("trace_record_done", ctrl.trace_record_done)
            m.output("trace_layer", ctrl.trace_layer)

            // Registers ↔ control unit.
            ctrl.start.assign(regs.start)
            ctrl.record_base.assign(regs.record_base)
            ctrl.record_count.assign(regs.record_count)
            for name in ["busy", "error", "run_done", "records_done", "cycles", "stall_input", "stall_output", "engine_beats",
                         "prune_active", "current_layer", "error_record", "layers_done", "layer_done_index", "layer_done_cycles",
                         "layer_done_stall_input", "layer_done_stall_output", "layer_done_engine_beats"] {
                regs.port(name).assign(ctrl.port(name))
            }

            // Control unit ↔ execution unit: every other input of the execution unit is a control output of
            // the same name; its status outputs go back to the control unit.
            for port in executionUnit.portList where port.isInput && port.name != "out_ready" {
                exec.port(port.name).assign(ctrl.port(port.name))
            }
            for name in ["in_ready", "pass_done", "engine_beat", "activity"] { ctrl.port(name).assign(exec.port(name)) }
            ctrl.output_valid.assign(outValid)
            ctrl.output_ready.assign(outReady)
        }
    }
}
