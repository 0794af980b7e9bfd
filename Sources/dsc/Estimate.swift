import Accelerator
import ArgumentParser
import Foundation
import Mapper
import Reference

struct Estimate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Predict per-layer cycles, utilisation and traffic, and FPS/GOPS, from the cycle model.")

    @Argument(help: "The .tflite model.")
    var model: String

    @Option(help: "The accelerator's config.json.")
    var config: String

    @Option(help: "External memory bandwidth in bytes per cycle.")
    var bandwidth: Double = CycleModel.defaultBandwidth

    func run() throws {
        try failing {
            guard bandwidth > 0, bandwidth.isFinite else { throw MapperError("--bandwidth \(bandwidth): must be positive") }
            let network = try readModel(model)
            let cfg = try AcceleratorConfig.load(from: URL(fileURLWithPath: config))
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
}
