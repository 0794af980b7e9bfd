/// Built-in networks with seeded random weights, so tests and the mapper need no model files.
public enum Builders {
    /// Channels rounded to a multiple of 8, never below 90% of the requested count (Keras's `_make_divisible`).
    static func divisible(_ v: Float, by d: Int = 8) -> Int {
        let n = max(d, (Int(v + Float(d) / 2) / d) * d)
        return Float(n) < 0.9 * v ? n + d : n
    }

    /// MobileNetV1 (Howard et al. 2017): a 3x3 stride-2 conv, 13 depthwise-separable blocks, global
    /// average pooling and a classifier; ReLU6 after every conv as in Keras.
    public static func mobileNetV1(widthMultiplier alpha: Float = 1, resolution: Int = 224, classes: Int = 1000, seed: UInt64 = 1) -> FloatModel {
        var f = LayerFactory(seed: seed, inputShape: [1, resolution, resolution, 3])
        var x = f.conv(0, Int(32 * alpha), kernel: (3, 3), stride: 2, activation: .relu6, name: "conv1")
        let blocks: [(Int, Int)] = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
                                    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)]
        for (i, (channels, stride)) in blocks.enumerated() {
            x = f.depthwise(x, stride: stride, activation: .relu6, name: "block\(i + 1)/depthwise")
            x = f.conv(x, Int(Float(channels) * alpha), kernel: (1, 1), activation: .relu6, name: "block\(i + 1)/pointwise")
        }
        x = f.model.globalMean(x, name: "global_pool")
        _ = f.classifier(x, classes: classes)
        return f.model
    }

    /// MobileNetV2 (Sandler et al. 2018): inverted residual blocks (expand 1x1, depthwise 3x3,
    /// linear project 1x1) with residual ADDs where shapes allow, ReLU6, global mean and a classifier.
    public static func mobileNetV2(widthMultiplier alpha: Float = 1, resolution: Int = 224, classes: Int = 1000, seed: UInt64 = 1) -> FloatModel {
        var f = LayerFactory(seed: seed, inputShape: [1, resolution, resolution, 3])
        var x = f.conv(0, divisible(32 * alpha), kernel: (3, 3), stride: 2, activation: .relu6, name: "conv1")
        let settings: [(t: Int, c: Int, n: Int, s: Int)] = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                                                            (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
        var block = 0
        for (t, c, n, s) in settings {
            let outC = divisible(Float(Int(Float(c) * alpha)))  // Keras truncates before rounding
            for i in 0 ..< n {
                let inC = f.model.nodes[x].shape[3]
                let stride = i == 0 ? s : 1
                var y = x
                if t != 1 { y = f.conv(y, inC * t, kernel: (1, 1), activation: .relu6, name: "block\(block)/expand") }
                y = f.depthwise(y, stride: stride, activation: .relu6, name: "block\(block)/depthwise")
                y = f.conv(y, outC, kernel: (1, 1), activation: .none, name: "block\(block)/project")
                if stride == 1 && inC == outC { y = f.model.add(x, y, name: "block\(block)/add") }
                x = y
                block += 1
            }
        }
        let last = alpha > 1 ? divisible(1280 * alpha) : 1280
        x = f.conv(x, last, kernel: (1, 1), activation: .relu6, name: "conv_last")
        x = f.model.globalMean(x, name: "global_pool")
        _ = f.classifier(x, classes: classes)
        return f.model
    }

    /// DS-CNN as in MLPerf Tiny keyword spotting: 49x10 MFCC input, a 10x4 stride-2 conv, four
    /// depthwise-separable blocks, average pooling over what is left and a 12-way classifier.
    public static func dsCNN(channels: Int = 64, blocks: Int = 4, classes: Int = 12, seed: UInt64 = 1) -> FloatModel {
        var f = LayerFactory(seed: seed, inputShape: [1, 49, 10, 1])
        var x = f.conv(0, channels, kernel: (10, 4), stride: 2, activation: .relu, name: "conv1")
        for i in 0 ..< blocks {
            x = f.depthwise(x, activation: .relu, name: "block\(i + 1)/depthwise")
            x = f.conv(x, channels, kernel: (1, 1), activation: .relu, name: "block\(i + 1)/pointwise")
        }
        let s = f.model.nodes[x].shape
        x = f.model.averagePool2D(x, PoolOptions(filterH: s[1], filterW: s[2]), name: "pool")
        _ = f.classifier(x, classes: classes)
        return f.model
    }

    /// ResNet-8 as in MLPerf Tiny image classification: 32x32x3 input, a 3x3 conv, three residual
    /// stacks (16, 32, 64 channels; the last two stride 2 with a 1x1 stride-2 shortcut), ReLU fused
    /// into the ADDs, average pooling and a 10-way classifier.
    public static func resNet8(classes: Int = 10, seed: UInt64 = 1) -> FloatModel {
        var f = LayerFactory(seed: seed, inputShape: [1, 32, 32, 3])
        var x = f.conv(0, 16, kernel: (3, 3), activation: .relu, name: "conv1")
        for (i, (channels, stride)) in [(16, 1), (32, 2), (64, 2)].enumerated() {
            var y = f.conv(x, channels, kernel: (3, 3), stride: stride, activation: .relu, name: "stack\(i + 1)/conv1")
            y = f.conv(y, channels, kernel: (3, 3), activation: .none, name: "stack\(i + 1)/conv2")
            let shortcut = stride == 1 ? x : f.conv(x, channels, kernel: (1, 1), stride: stride, activation: .none, name: "stack\(i + 1)/shortcut")
            x = f.model.add(shortcut, y, activation: .relu, name: "stack\(i + 1)/add")
        }
        let s = f.model.nodes[x].shape
        x = f.model.averagePool2D(x, PoolOptions(filterH: s[1], filterW: s[2]), name: "pool")
        _ = f.classifier(x, classes: classes)
        return f.model
    }
}
