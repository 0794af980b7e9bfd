import Foundation
import XCTest

/// Where the shared models are (../shared/models beside the package, or $DSC_MODELS) and what they
/// hold: models with a model.tflite, and per model the case folders with an expected.bin. Absent
/// models are an XCTSkip naming the folder, never a failure.
enum SharedModels {
    static var root: URL {
        if let env = ProcessInfo.processInfo.environment["DSC_MODELS"], !env.isEmpty { return URL(fileURLWithPath: env) }
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared/models")
    }

    static func requireRoot() throws -> URL {
        let root = root
        guard FileManager.default.fileExists(atPath: root.path) else {
            throw XCTSkip("shared models not found at \(root.path) (set DSC_MODELS to the models folder)")
        }
        return root
    }

    static func models() throws -> [String] {
        let root = try requireRoot()
        return try FileManager.default.contentsOfDirectory(atPath: root.path)
            .filter { FileManager.default.fileExists(atPath: root.appendingPathComponent("\($0)/model.tflite").path) }.sorted()
    }

    static func cases(_ model: String) throws -> [URL] {
        let dir = root.appendingPathComponent(model)
        return try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
            .map { dir.appendingPathComponent($0) }
            .filter { FileManager.default.fileExists(atPath: $0.appendingPathComponent("expected.bin").path) }
    }
}
