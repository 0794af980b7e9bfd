import Accelerator
import ArgumentParser
import Foundation
import Mapper
import Reference

struct Estimate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Predict per-layer cycles, utilisation and traffic, and FPS/GOPS, from the cycle model.")

    @Argument(help: "The .tflite model (or use --builtin).")
    var model: String?

    @Option(help: "A built-in network instead of a .tflite file: \(SimulationBundle.builtinNames.joined(separator: ", ")).")
    var builtin: String?

    @Option(help: "The accelerator's config.json.")
    var config: String

    @Option(help: "External memory bandwidth in bytes per cycle.")
    var bandwidth: Double = CycleModel.defaultBandwidth

    @Option(help: "Memory latency in cycles, command to first beat (rtl schedule).")
    var latency: Int = 64

    @Flag(name: .customLong("external-only"), help: "Keep every tensor in external memory (no RAM-S / RAM-M), as an accelerator built with --ram-s-kib 0 --ram-m-kib 0.")
    var externalOnly = false

    @Flag(help: "Also print each control record's predicted cycles (rtl schedule), to set beside ./Vtop --verbose.")
    var records = false

    @Option(help: "rtl: the control records the RTL runs (ControlCycleModel, measured against ./Vtop); paper: the paper's schedule without stalls (CycleModel).")
    var schedule: String = "rtl"

    func run() throws {
        try failing {
            guard bandwidth > 0, bandwidth.isFinite else { throw MapperError("--bandwidth \(bandwidth): must be positive") }
            let network = try readNetwork(model: model, builtin: builtin).network
            let cfg = try AcceleratorConfig.load(from: URL(fileURLWithPath: config))
            guard ["rtl", "paper"].contains(schedule) else { throw MapperError("--schedule \(schedule): must be rtl or paper") }
            guard latency >= 0 else { throw MapperError("--latency \(latency): must not be negative") }
            if schedule == "rtl" { return try rtl(network, cfg) }
            let program = try Mapper.compile(network, config: cfg)
            let e = CycleModel.estimate(program, network: network, bandwidth: bandwidth)
            func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }
            print(["layer", "op", "kind", "instr", "cycles", "MACs", "util%", "bytes in", "bytes out", "bound"].enumerated()
                .map { pad($0.element, [5, 18, 10, 5, 10, 11, 6, 10, 10, 9][$0.offset]) }.joined(separator: " "))
            for l in e.layers {
                print([pad("\(l.layer)", 5), pad(l.name, 18), pad(l.kind, 10), pad("\(l.instructions)", 5), pad("\(l.cycles)", 10), pad("\(l.macs)", 11),
                       pad(String(format: "%.1f", 100 * l.utilisation), 6), pad("\(l.bytesIn)", 10), pad("\(l.bytesOut)", 10), pad(l.bound.rawValue, 9)]
                    .joined(separator: " "))
            }
            print(String(format: "total: %d cycles, %d MACs, utilisation %.1f%%, %.1f FPS and %.1f GOPS at %.0f MHz, bandwidth %.0f B/cycle",
                         e.cycles, e.macs, 100 * e.utilisation, e.fps, e.gops, cfg.clockMHz, bandwidth))
        }
    }

    /// The RTL's cycles: the control records `dsc compile` writes, timed by ControlCycleModel.
    private func rtl(_ network: Network, _ cfg: AcceleratorConfig) throws {
        let program = try Mapper.compile(network, config: cfg, options: externalOnly ? .externalOnly : .device(cfg))
        let plan = try ControlPlan(program: program)
        let memory = ControlCycleModel.Memory(bandwidth: bandwidth, latency: latency)
        let layers = ControlCycleModel.estimate(plan, memory: memory)
        if records {
            for (n, cycles) in ControlCycleModel.timeline(plan.records, config: cfg, memory: memory).enumerated() {
                print("record \(n) (layer \(plan.records[n].layer)): \(cycles) cycles")
            }
        }
        let multipliers = Double(cfg.multipliers)
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }
        print(["layer", "op", "records", "cycles", "MACs", "util%", "bytes in", "bytes out", "bound"].enumerated()
            .map { pad($0.element, [5, 18, 7, 10, 11, 6, 10, 10, 9][$0.offset]) }.joined(separator: " "))
        var cycles = 0, total = 0
        // ControlCycleModel.estimate has one entry per layer check, in order.
        for (l, check) in zip(layers, plan.checks) {
            let m = check.macs
            let compute = Double(m) / multipliers, transfer = Double(l.bytesRead + l.bytesWritten) / bandwidth
            // The harness's rule (sim/Report.h): control-bound unless compute or transfer fills half the cycles.
            let bound = max(compute, transfer) < Double(l.cycles) / 2 ? "control" : (compute >= transfer ? "compute" : "bandwidth")
            let name = (check.fusedLayers + [l.layer]).map { $0 < network.layers.count ? network.layers[$0].op.name : "?" }.joined(separator: "+")
            print([pad("\(l.layer)", 5), pad(name, 18), pad("\(l.records)", 7), pad("\(l.cycles)", 10), pad("\(m)", 11),
                   pad(String(format: "%.1f", 100 * Double(m) / max(1, Double(l.cycles) * multipliers)), 6),
                   pad("\(l.bytesRead)", 10), pad("\(l.bytesWritten)", 10), pad(bound, 9)].joined(separator: " "))
            cycles += l.cycles; total += m
        }
        let fps = cfg.clockMHz * 1e6 / Double(max(cycles, 1))
        print(String(format: "total: %d cycles, %d records, %d MACs, utilisation %.1f%%, %.1f FPS and %.1f GOPS at %.0f MHz, bandwidth %.0f B/cycle, latency %d",
                     cycles, plan.records.count, total, 100 * Double(total) / max(1, Double(cycles) * multipliers), fps,
                     2 * Double(total) * fps / 1e9, cfg.clockMHz, bandwidth, latency))
    }
}
