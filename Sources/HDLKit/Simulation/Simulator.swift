import Foundation

/// Runs a design cycle by cycle in Verilator or Icarus Verilog and returns what its outputs showed.
///
/// The protocol is the same for both simulators, so one test drives both:
/// all clocks tick together; `rst` (every reset port) is held high for two cycles with inputs at
/// zero; then, for each cycle of stimulus, the inputs are set, the outputs are sampled (after the
/// combinational logic settles, before the clock edge), and the clock rises. Inputs not given in a
/// cycle keep their previous value.
///
/// Builds are cached by the hash of the Verilog and harness text, so re-running a test whose
/// hardware has not changed costs no compilation.
public final class Simulator {
    public enum Backend: String, Sendable { case verilator, icarus }

    public struct Port: Sendable {
        public let name: String
        public let type: HWType
    }

    public let backend: Backend
    public let top: String
    public let inputs: [Port]
    public let outputs: [Port]
    let clocks: [String]
    let resets: [String]
    let directory: URL
    let executable: URL
    /// Wall-clock time the simulator process took in the latest `run` (without the Swift side's
    /// writing of stimulus and reading of outputs): for benchmarks.
    public private(set) var lastSimulationTime: Duration?

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Emits `design`, writes the harness and builds it (or reuses a cached build).
    /// What an output showing unknown bits (X or Z, which only Icarus shows: Verilator has two
    /// states) means to `run`.
    public enum UnknownBits: Sendable {
        /// A `Failure` naming the cycle and output: the safe default, since X is usually a bug.
        case fail
        /// Read as 0: for designs whose data registers are deliberately not reset (a FIFO's or skid
        /// buffer's payload before the first word), where the test looks at data only when it is valid.
        case readAsZero
    }

    public let unknownBits: UnknownBits

    public init(_ design: Design, backend: Backend = .verilator, verilatorFlags: [String] = [], unknownBits: UnknownBits = .fail) throws {
        let files = try design.verilog()
        let m = design.top
        self.backend = backend
        self.unknownBits = unknownBits
        self.top = m.name
        self.inputs = m.ports.filter { $0.kind == .input }.map { Port(name: $0.name, type: $0.type) }
        self.outputs = m.ports.filter { $0.kind == .output }.map { Port(name: $0.name, type: $0.type) }
        self.clocks = m.domains
        let resetDomains = ModuleEmitter.resetDomains(m)
        self.resets = m.domains.filter { resetDomains.contains($0) }.map(Module.resetName)

        let harness = backend == .verilator ? Self.verilatorHarness(top: m.name, inputs: inputs, outputs: outputs, clocks: clocks, resets: resets)
                                            : Self.icarusHarness(top: m.name, inputs: inputs, outputs: outputs, clocks: clocks, resets: resets)
        var hash = FNV1a()
        hash.add(backend.rawValue)
        verilatorFlags.forEach { hash.add($0) }
        for f in files { hash.add(f.fileName); hash.add(f.text) }
        hash.add(harness)
        let cacheRoot = ProcessInfo.processInfo.environment["HDLKIT_SIM_CACHE"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("hdlkit-sim")
        directory = cacheRoot.appendingPathComponent("\(m.name)-\(hash.hex)")
        executable = directory.appendingPathComponent(backend == .verilator ? "sim" : "sim.vvp")
        if FileManager.default.isExecutableFile(atPath: executable.path) || FileManager.default.fileExists(atPath: executable.path) {
            return
        }

        // Build in a private folder and rename it into place, so concurrent tests never see half a build.
        let staging = cacheRoot.appendingPathComponent("staging-\(UUID().uuidString)")
        let rtl = staging.appendingPathComponent("rtl")
        try FileManager.default.createDirectory(at: rtl, withIntermediateDirectories: true)
        var paths: [String] = []
        for f in files {
            let u = rtl.appendingPathComponent(f.fileName)
            try f.text.write(to: u, atomically: true, encoding: .utf8)
            paths.append(u.path)
        }
        switch backend {
        case .verilator:
            let h = staging.appendingPathComponent("harness.cpp")
            try harness.write(to: h, atomically: true, encoding: .utf8)
            try Self.runTool("verilator", ["--cc", "--exe", "--build", "-j", "2", "-Wall", "--top-module", m.name, "--prefix", "Vsim",
                                           "--Mdir", staging.appendingPathComponent("obj").path, "-o", staging.appendingPathComponent("sim").path,
                                           "-CFLAGS", "-O1", "--x-assign", "unique", "--x-initial", "unique"]
                                          + verilatorFlags + paths + [h.path], in: staging)
        case .icarus:
            let tb = staging.appendingPathComponent("hdlkit_tb.v")
            try harness.write(to: tb, atomically: true, encoding: .utf8)
            try Self.runTool("iverilog", ["-g2005", "-s", "hdlkit_tb", "-o", staging.appendingPathComponent("sim.vvp").path] + paths + [tb.path], in: staging)
        }
        try? FileManager.default.removeItem(at: directory)
        do { try FileManager.default.moveItem(at: staging, to: directory) }
        catch { if !FileManager.default.fileExists(atPath: executable.path) { throw error } }
    }

    /// Runs the stimulus (one dictionary of input values per cycle) and returns the outputs seen in
    /// each of those cycles.
    public func run(_ stimulus: [[String: BitVector]]) throws -> [[String: BitVector]] {
        try checkInputNames(stimulus)
        var current = inputs.map { BitVector(0, width: $0.type.width) }
        var lines: [String] = []
        lines.reserveCapacity(stimulus.count)
        for c in stimulus {
            for (j, p) in inputs.enumerated() { if let v = c[p.name] { current[j] = BitVector(words: v.words, width: p.type.width) } }
            lines.append(current.map(\.hex).joined(separator: " "))
        }
        var result = [[String: BitVector]](repeating: [:], count: stimulus.count)
        let widths = outputs.map(\.type.width)
        try execute(lines) { cycle, port, token in
            guard let v = BitVector(hexDigits: token, width: widths[port]) ?? zeroingUnknown(token, widths[port]) else { return false }
            result[cycle][outputs[port].name] = v
            return true
        }
        return result
    }

    /// The same with plain integers: inputs are wrapped to their port width, outputs read with the
    /// port's signedness. (Ports wider than 64 bits need the `BitVector` form.)
    public func run(_ stimulus: [[String: Int]]) throws -> [[String: Int]] {
        if (inputs + outputs).contains(where: { $0.type.width > 64 }) {
            let types = Dictionary(uniqueKeysWithValues: inputs.map { ($0.name, $0.type) })
            let wide = try run(stimulus.map { c in
                Dictionary(uniqueKeysWithValues: c.map { k, v in (k, BitVector(v, width: types[k]?.width ?? 64)) })
            })
            let outTypes = Dictionary(uniqueKeysWithValues: outputs.map { ($0.name, $0.type) })
            return wide.map { row in
                Dictionary(uniqueKeysWithValues: row.map { k, v in (k, outTypes[k]!.isSigned ? v.signed : Int(truncatingIfNeeded: v.unsigned)) })
            }
        }
        // Everything fits a machine word: no BitVector on the way in or out.
        try checkInputNames(stimulus)
        let masks = inputs.map { $0.type.width == 64 ? UInt64.max : (UInt64(1) << UInt64($0.type.width)) - 1 }
        var current = [UInt64](repeating: 0, count: inputs.count)
        var lines: [String] = []
        lines.reserveCapacity(stimulus.count)
        for c in stimulus {
            for (j, p) in inputs.enumerated() { if let v = c[p.name] { current[j] = UInt64(bitPattern: Int64(v)) & masks[j] } }
            lines.append(current.map { String($0, radix: 16) }.joined(separator: " "))
        }
        let names = outputs.map(\.name), widths = outputs.map(\.type.width), signed = outputs.map(\.type.isSigned)
        var result = [[String: Int]](repeating: [:], count: stimulus.count)
        try execute(lines) { cycle, port, token in
            var v: UInt64 = 0
            for c in token {
                switch c {
                case 48...57: v = v << 4 | UInt64(c - 48)
                case 97...102: v = v << 4 | UInt64(c - 87)
                case 65...70: v = v << 4 | UInt64(c - 55)
                case 120, 88, 122, 90:   // x X z Z
                    guard unknownBits == .readAsZero else { return false }
                    v = v << 4
                default: return false
                }
            }
            let w = widths[port]
            if w < 64 { v &= (UInt64(1) << UInt64(w)) - 1 }
            var x = Int(Int64(bitPattern: v))
            if signed[port] && w < 64 && (v >> UInt64(w - 1)) & 1 == 1 { x -= 1 << w }
            if result[cycle].isEmpty { result[cycle].reserveCapacity(names.count) }
            result[cycle][names[port]] = x
            return true
        }
        return result
    }

    /// `token` with unknown digits read as 0, when the simulator was asked to.
    private func zeroingUnknown(_ token: UnsafeBufferPointer<UInt8>, _ width: Int) -> BitVector? {
        guard unknownBits == .readAsZero else { return nil }
        let digits = token.map { [120, 88, 122, 90].contains($0) ? UInt8(48) : $0 }
        return digits.withUnsafeBufferPointer { BitVector(hexDigits: $0, width: width) }
    }

    private func checkInputNames<V>(_ stimulus: [[String: V]]) throws {
        let known = Set(inputs.map(\.name))
        for (i, c) in stimulus.enumerated() {
            for k in c.keys where !known.contains(k) { throw Failure(description: "cycle \(i): \(top) has no input '\(k)'") }
        }
    }

    /// Writes one stimulus line per cycle, runs the simulator, and hands every output token (hex
    /// digits, in port order) to `take`, which returns false for a value it cannot read (X or Z).
    private func execute(_ lines: [String], _ take: (_ cycle: Int, _ port: Int, UnsafeBufferPointer<UInt8>) throws -> Bool) throws {
        let run = FileManager.default.temporaryDirectory.appendingPathComponent("hdlkit-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: run) }
        let stim = run.appendingPathComponent("stim.txt"), out = run.appendingPathComponent("out.txt")
        var text = "\(lines.count)\n"
        text.reserveCapacity(lines.reduce(16) { $0 + $1.utf8.count + 1 })
        for l in lines { text += l; text += "\n" }
        try text.write(to: stim, atomically: false, encoding: .utf8)
        let started = ContinuousClock.now
        switch backend {
        case .verilator: try Self.runTool(executable.path, [stim.path, out.path], in: run)
        case .icarus: try Self.runTool("vvp", ["-n", executable.path, "+stim=\(stim.path)", "+out=\(out.path)"], in: run)
        }
        lastSimulationTime = ContinuousClock.now - started
        let bytes = try Data(contentsOf: out)
        var cycles = 0
        try bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let all = raw.bindMemory(to: UInt8.self)
            var lineStart = 0
            while lineStart < all.count {
                var lineEnd = lineStart
                while lineEnd < all.count && all[lineEnd] != 10 { lineEnd += 1 }
                let line = { String(decoding: UnsafeBufferPointer(rebasing: all[lineStart..<lineEnd]), as: UTF8.self) }
                guard cycles < lines.count else { throw Failure(description: "simulator returned more cycles than the \(lines.count) asked for") }
                var p = lineStart, port = 0
                while p < lineEnd {
                    var q = p
                    while q < lineEnd && all[q] != 32 { q += 1 }
                    guard port < outputs.count else { throw Failure(description: "simulator output line \(cycles) is malformed: \(line())") }
                    let token = UnsafeBufferPointer(rebasing: all[p..<q])
                    guard try take(cycles, port, token) else {
                        let t = String(decoding: token, as: UTF8.self)
                        throw Failure(description: "cycle \(cycles): output '\(outputs[port].name)' is \(t) (unknown or undriven bits)")
                    }
                    port += 1
                    p = q + 1
                }
                guard port == outputs.count else { throw Failure(description: "simulator output line \(cycles) is malformed: \(line())") }
                cycles += 1
                lineStart = lineEnd + 1
            }
        }
        guard cycles == lines.count else { throw Failure(description: "simulator returned \(cycles) cycles for \(lines.count)") }
    }

    @discardableResult
    static func runTool(_ tool: String, _ args: [String], in dir: URL) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [tool] + args
        p.currentDirectoryURL = dir
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        do { try p.run() } catch { throw Failure(description: "cannot run \(tool): \(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let out = String(decoding: data, as: UTF8.self)
        guard p.terminationStatus == 0 else {
            throw Failure(description: "\(tool) failed (status \(p.terminationStatus)):\n\(out.suffix(4000))")
        }
        return out
    }
}

/// A stable 64-bit hash for cache keys (Swift's own `Hasher` is seeded per process).
struct FNV1a {
    private var h: UInt64 = 0xcbf2_9ce4_8422_2325
    mutating func add(_ s: String) {
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        h = (h ^ 0xff) &* 0x100_0000_01b3
    }
    var hex: String { String(h, radix: 16) }
}
