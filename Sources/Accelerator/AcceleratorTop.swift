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
        let onChip = c.onChipBytes > 0 ? try OnChipMemory(config: c).module : nil
        let streamer = try WeightStreamer(config: c).module
        let b = c.streamBytes
        // The on-chip memory's figures, read 0 on an accelerator without one.
        let onChipFigures = ["onchip_read_beats", "onchip_write_beats", "onchip_raw_stalls"]
        module = Module(Self.moduleName) { m in
            let regs = m.instance(registers, "registers")
            let ctrl = m.instance(control, "control")
            let exec = m.instance(executionUnit, "execution")
            let weights = m.instance(streamer, "weights")

            for port in registers.portList where port.name.hasPrefix("s_axil_") {
                if port.isInput { regs.port(port.name).assign(m.input(port.name, port.type)) }
                else { m.output(port.name, regs.port(port.name)) }
            }
            m.output("irq", regs.irq)

            // The streams as the units see them: straight to the ports, or through the on-chip
            // RAM-S and RAM-M, which serve the commands addressed to them and pass the rest on.
            let command = ["valid", "ready", "address", "chunk", "count1", "stride1", "count2", "stride2"]
            let sData = m.input("s_axis_tdata", .uint(8 * b))
            let outData = cat((0..<b).reversed().map { exec.port("out_byte_\($0)").asUnsigned })
            let outReady = m.input("m_axis_tready", .bool)
            let outValid: Signal, unitsOutReady: Signal
            if let onChip {
                let mem = m.instance(onChip, "on_chip")
                for field in command {
                    for dir in ["rd", "wr"] {
                        let up = "up_\(dir)_cmd_\(field)", down = "m_\(dir)_cmd_\(field)"
                        if field == "ready" {
                            ctrl.port(down).assign(mem.port(up))
                            mem.port(down).assign(m.input(down, .bool))
                        } else {
                            mem.port(up).assign(ctrl.port(down))
                            m.output(down, mem.port(down))
                        }
                    }
                }
                mem.s_axis_tvalid.assign(m.input("s_axis_tvalid", .bool))
                m.output("s_axis_tready", mem.s_axis_tready)
                mem.s_axis_tdata.assign(sData)
                mem.s_axis_tlast.assign(m.input("s_axis_tlast", .bool))
                ctrl.s_axis_tvalid.assign(mem.up_s_axis_tvalid)
                mem.up_s_axis_tready.assign(ctrl.s_axis_tready)
                for i in 0..<b { ctrl.port("s_axis_byte_\(i)").assign(mem.up_s_axis_tdata.bits(8 * i + 7, 8 * i)) }
                ctrl.s_axis_tlast.assign(mem.up_s_axis_tlast)

                mem.up_m_axis_tvalid.assign(exec.out_valid)
                mem.up_m_axis_tdata.assign(outData)
                mem.up_m_axis_tlast.assign(exec.out_last)
                mem.m_axis_tready.assign(outReady)
                m.output("m_axis_tvalid", mem.m_axis_tvalid)
                m.output("m_axis_tdata", mem.m_axis_tdata)
                m.output("m_axis_tlast", mem.m_axis_tlast)
                outValid = exec.out_valid
                unitsOutReady = mem.up_m_axis_tready
                mem.clear.assign(regs.start)
                for name in onChipFigures { regs.port(name).assign(mem.port(name)) }
            } else {
                for field in command {
                    for dir in ["rd", "wr"] {
                        let name = "m_\(dir)_cmd_\(field)"
                        if field == "ready" { ctrl.port(name).assign(m.input(name, .bool)) } else { m.output(name, ctrl.port(name)) }
                    }
                }
                ctrl.s_axis_tvalid.assign(m.input("s_axis_tvalid", .bool))
                m.output("s_axis_tready", ctrl.s_axis_tready)
                for i in 0..<b { ctrl.port("s_axis_byte_\(i)").assign(sData.bits(8 * i + 7, 8 * i)) }
                ctrl.s_axis_tlast.assign(m.input("s_axis_tlast", .bool))
                outValid = m.output("m_axis_tvalid", exec.out_valid)
                m.output("m_axis_tdata", outData)
                m.output("m_axis_tlast", exec.out_last)
                unitsOutReady = outReady
                for name in onChipFigures { regs.port(name).assign(Signal.uint(0, width: 32)) }
            }
            exec.out_ready.assign(unitsOutReady)
            // tkeep is the running pass's chunk: the one pass writing is the one whose beats leave.
            let outChunk = ctrl.out_chunk
            m.output("m_axis_tkeep", cat((0..<b).reversed().map { outChunk > $0 }))
            m.output("trace_record_done", ctrl.trace_record_done)
            m.output("trace_layer", ctrl.trace_layer)

            // The weight stream: its own read port, straight to memory (weights are never on chip).
            for field in ["valid", "address", "chunk", "count1", "stride1", "count2", "stride2"] {
                m.output("m_wt_cmd_\(field)", weights.port("m_wt_cmd_\(field)"))
            }
            weights.m_wt_cmd_ready.assign(m.input("m_wt_cmd_ready", .bool))
            weights.s_axis_wt_tvalid.assign(m.input("s_axis_wt_tvalid", .bool))
            weights.s_axis_wt_tdata.assign(m.input("s_axis_wt_tdata", .uint(8 * b)))
            weights.s_axis_wt_tlast.assign(m.input("s_axis_wt_tlast", .bool))
            m.output("s_axis_wt_tready", weights.s_axis_wt_tready)
            weights.start.assign(ctrl.weights_clear)
            weights.weight_base.assign(regs.weight_base)
            weights.weight_beats.assign(regs.weight_beats)
            weights.flush.assign(ctrl.weights_flush)
            ctrl.weights_idle.assign(weights.idle)
            ctrl.sets_held.assign(weights.sets_held)
            for name in ["set_push", "set_beats", "set_mode", "set_wide"] { weights.port(name).assign(ctrl.port(name)) }
            for name in ["wt_valid", "wt_set_last", "wt_mode", "wt_wide"] { exec.port(name).assign(weights.port(name)) }
            for i in 0..<b { exec.port("wt_byte_\(i)").assign(weights.port("wt_byte_\(i)")) }
            weights.wt_ready.assign(exec.wt_ready)

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
            for port in executionUnit.portList where port.isInput && port.name != "out_ready" && !port.name.hasPrefix("wt_") {
                exec.port(port.name).assign(ctrl.port(port.name))
            }
            for name in ["in_ready", "pass_done", "engine_beat", "activity"] { ctrl.port(name).assign(exec.port(name)) }
            ctrl.output_valid.assign(outValid)
            ctrl.output_ready.assign(unitsOutReady)
        }
    }
}
