import HDLKit

/// The accelerator's datapath units, each a top module that `elaborate` writes and lints on its own.
/// The order is the data flow; every unit reads the one configuration.
public enum Datapath {
    public static func units(_ c: AcceleratorConfig) throws -> [Module] {
        [
            // The whole accelerator first: the harness builds it by name (rtl/AcceleratorTop.v).
            try AcceleratorTop(config: c).module,
            try ReshapeUnit(config: c).module(),
            try ConvolutionEngine(c).module(),
            try QuantizationUnit(config: c).module,
            try PoolingUnit(config: c).module,
            try LayerDatapath(config: c).module(),
        ]
    }

    /// The one-line summary `elaborate` prints.
    public static func summary(_ c: AcceleratorConfig) throws -> String {
        let engine = try ConvolutionEngine(c)
        let dsp = c.dspPacking ? ", \(engine.dsps) DSPs packed" : ""
        return "\(c.multipliers) multipliers (PK=\(c.pk) PV=\(c.pv) PC=\(c.pc) PF=\(c.pf) PD=\(c.pd)\(dsp)), "
            + "adder-tree depth \(engine.tree.depth) (\(engine.tree.unitCount) units per filter lane), "
            + "buffer bits \(c.bufferBits)"
    }
}
