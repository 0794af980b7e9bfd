import Foundation
import XCTest

/// Locates the real models and goldens: $DSC_MODELS, else ../shared/models beside the package.
enum SharedModels {
    static var root: URL {
        if let env = ProcessInfo.processInfo.environment["DSC_MODELS"], !env.isEmpty {
            return URL(fileURLWithPath: env)
        }
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared/models")
    }

    /// The models folder, or an XCTSkip saying where it was looked for.
    static func require() throws -> URL {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDir), isDir.boolValue else {
            throw XCTSkip("../shared/models not found: looked in \(root.path) (set DSC_MODELS to the models folder)")
        }
        return root
    }

    static func model(_ name: String) throws -> URL {
        let url = try require().appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: url.appendingPathComponent("model.tflite").path) else {
            throw XCTSkip("model \(name) not found in \(root.path)")
        }
        return url
    }

    /// Model folders (those holding a model.tflite), sorted.
    static func modelNames() throws -> [String] {
        let root = try require()
        return try FileManager.default.contentsOfDirectory(atPath: root.path)
            .filter { FileManager.default.fileExists(atPath: root.appendingPathComponent($0).appendingPathComponent("model.tflite").path) }
            .sorted()
    }

    /// Case folders of a model (those holding a case.json), sorted.
    static func caseNames(_ model: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: model.path)
            .filter { FileManager.default.fileExists(atPath: model.appendingPathComponent($0).appendingPathComponent("case.json").path) }
            .sorted()
    }

    static func bytes(_ url: URL) throws -> [Int8] {
        try [UInt8](Data(contentsOf: url)).map { Int8(bitPattern: $0) }
    }
}
