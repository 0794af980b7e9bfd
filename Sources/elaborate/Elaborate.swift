import Accelerator
import ArgumentParser
import Foundation
import HDLKit

/// `elaborate`: the one place the command line becomes an `AcceleratorConfig`.
@main
struct Elaborate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Writes the accelerator as Verilog-2005 for the chosen parallelism knobs.")

    /// A usage error (a missing value, an unknown option) is bad input like any other: one line on
    /// stderr and exit status 1, not ArgumentParser's help text and status 64.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if error is ExitCode || exitCode(for: error) == .success { exit(withError: error) }
            let line = message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            FileHandle.standardError.write(Data("elaborate: error: \(line)\n".utf8))
            Foundation.exit(1)
        }
    }

    @Option(help: "Kernel taps in parallel (PK).") var pk = AcceleratorConfig.paper.pk
    @Option(help: "Pixels in parallel for pointwise convolution (PV).") var pv = AcceleratorConfig.paper.pv
    @Option(help: "Input channels in parallel (PC).") var pc = AcceleratorConfig.paper.pc
    @Option(help: "Filters in parallel (PF).") var pf = AcceleratorConfig.paper.pf
    @Option(help: "Depthwise windows in parallel (PD).") var pd = AcceleratorConfig.paper.pd
    @Option(name: .customLong("data-width"), help: "Activation width in bits.") var dataWidth = AcceleratorConfig.paper.dataWidth
    @Option(name: .customLong("weight-width"), help: "Weight width in bits.") var weightWidth = AcceleratorConfig.paper.weightWidth
    @Option(name: .customLong("acc-width"), help: "Accumulator width in bits.") var accWidth = AcceleratorConfig.paper.accumulatorWidth
    @Option(name: .customLong("max-row"), help: "Widest feature-map row the line buffers hold.") var maxRow = AcceleratorConfig.paper.maxRowWidth
    @Option(name: .customLong("input-buffer-depth"), help: "Input buffer words (PC activations each).") var inputBufferDepth = AcceleratorConfig.paper.inputBufferDepth
    @Option(name: .customLong("weight-buffer-depth"), help: "Weight buffer words (PK×PC×PF weights each).") var weightBufferDepth = AcceleratorConfig.paper.weightBufferDepth
    @Option(name: .customLong("output-buffer-depth"), help: "Output buffer words (PF accumulators each).") var outputBufferDepth = AcceleratorConfig.paper.outputBufferDepth
    @Option(name: .customLong("clock-mhz"), help: "Target clock in MHz.") var clockMHz = AcceleratorConfig.paper.clockMHz
    @Flag(name: .customLong("dsp-packing"), help: "Pack two int8 products into each DSP48E1.") var dspPacking = false
    @Option(name: .customLong("ram-s-kib"), help: "RAM-S of the bottleneck flow in KiB (block inputs kept for the shortcut; 0 with --ram-m-kib 0: no on-chip memory).") var ramSKiB = AcceleratorConfig.paper.ramSBytes / 1024
    @Option(name: .customLong("ram-m-kib"), help: "RAM-M of the bottleneck flow in KiB (expansion and depthwise results).") var ramMKiB = AcceleratorConfig.paper.ramMBytes / 1024
    @Option(name: .customLong("stream-bytes"), help: "Bytes per AXI4-Stream data beat (16, 32, 64, 128, 256; at least max(PC, PF)).") var streamBytes = AcceleratorConfig.paper.streamBytes
    @Option(help: "Output folder for the Verilog and config.json.") var out = "rtl"

    func config() -> AcceleratorConfig {
        var c = AcceleratorConfig()
        c.pk = pk; c.pv = pv; c.pc = pc; c.pf = pf; c.pd = pd
        c.dataWidth = dataWidth; c.weightWidth = weightWidth; c.accumulatorWidth = accWidth
        c.inputBufferDepth = inputBufferDepth; c.weightBufferDepth = weightBufferDepth; c.outputBufferDepth = outputBufferDepth
        c.maxRowWidth = maxRow; c.clockMHz = clockMHz; c.dspPacking = dspPacking
        c.streamBytes = streamBytes
        c.ramSBytes = ramSKiB * 1024; c.ramMBytes = ramMKiB * 1024
        return c
    }

    func run() throws {
        do {
            // Checked in KiB before the byte count exists: an absurd count can neither overflow nor
            // be reported as some other number.
            for (name, kib) in [("ram-s-kib", ramSKiB), ("ram-m-kib", ramMKiB)] where !(0...AcceleratorConfig.maxOnChipKiB).contains(kib) {
                throw AcceleratorConfig.Invalid(description: "--\(name) \(kib): must be 0 to \(AcceleratorConfig.maxOnChipKiB) KiB")
            }
            let c = config()
            try c.validate()
            let dir = URL(fileURLWithPath: out)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let units = try Datapath.units(c)
            var files = 0
            for unit in units { files += try Design(top: unit).write(to: dir).count }
            try (units.map(\.name).joined(separator: "\n") + "\n")
                .write(to: dir.appendingPathComponent("TOPS"), atomically: true, encoding: .utf8)
            try c.json().write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
            print("elaborate: \(try Datapath.summary(c)) -> \(out)/ (\(units.count) units, \(files) Verilog files)")
        } catch {
            FileHandle.standardError.write(Data("elaborate: error: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
