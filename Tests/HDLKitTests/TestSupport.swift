import Foundation
import HDLKit
import XCTest

/// A small deterministic generator, so a failing cycle can be reproduced exactly.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func chance(_ p: Double) -> Bool { Double(next() >> 11) / Double(1 << 53) < p }

    /// A value of `type`, with the extremes (min, max, 0, -1) often, since that is where bugs live.
    mutating func value(_ type: HWType) -> Int {
        let edges = [type.minValue, type.maxValue, 0, type.isSigned ? -1 : 1, type.minValue + 1]
        if chance(0.25) { return edges[Int(next() % UInt64(edges.count))] }
        return Int.random(in: type.minValue...type.maxValue, using: &self)
    }
}

/// `value` reduced to `type`'s width and read with its signedness (what the hardware shows).
func wrapped(_ value: Int, _ type: HWType) -> Int {
    let mask = (1 << type.width) - 1
    let low = value & mask
    if type.isSigned && (low >> (type.width - 1)) & 1 == 1 { return low - (1 << type.width) }
    return low
}

/// Compares simulated outputs with a model cycle by cycle; `nil` in the model means "don't care".
func assertCycles(_ got: [[String: Int]], _ want: [[String: Int?]], stimulus: [[String: Int]], _ what: String,
                  file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(got.count, want.count, "\(what): cycle count", file: file, line: line)
    var failures = 0
    for (t, (g, w)) in zip(got, want).enumerated() {
        for (name, expected) in w.sorted(by: { $0.key < $1.key }) {
            guard let expected else { continue }
            if g[name] != expected {
                failures += 1
                if failures <= 5 {
                    XCTFail("\(what): cycle \(t): \(name) = \(g[name].map(String.init) ?? "missing"), model says \(expected); inputs \(stimulus[t].sorted { $0.key < $1.key })",
                            file: file, line: line)
                }
            }
        }
    }
    if failures > 5 { XCTFail("\(what): \(failures) mismatches in all", file: file, line: line) }
}

/// Runs a command and returns its status and combined output.
@discardableResult
func runTool(_ tool: String, _ args: [String], in dir: URL? = nil) throws -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = [tool] + args
    if let dir { p.currentDirectoryURL = dir }
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// A fresh scratch directory, removed by the caller.
func scratchDirectory(_ tag: String) throws -> URL {
    let u = FileManager.default.temporaryDirectory.appendingPathComponent("hdlkit-test-\(tag)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
    return u
}
