import Reference

/// Builds int8 networks tensor by tensor with random weights and plausible scales.
struct NetBuilder {
    var net = Network()
    var rng: SeededRandom

    init(seed: UInt64) { rng = SeededRandom(seed: seed) }

    mutating func int8s(_ n: Int) -> [Int8] { (0 ..< n).map { _ in Int8(truncatingIfNeeded: Int(rng.next() % 255) - 127) } }

    mutating func activation(_ shape: [Int], scale: Float) -> Int {
        let zp = Int32(Int(rng.next() % 40) - 20)
        return net.addTensor(Tensor(name: "t\(net.tensors.count)", shape: shape, quantization: Quantization(scale: scale, zeroPoint: zp)))
    }

    func scale(_ t: Int) -> Float { net.tensors[t].quantization!.scale }
    func shape(_ t: Int) -> [Int] { net.tensors[t].shape }

    mutating func input(_ shape: [Int]) -> Int {
        let t = activation(shape, scale: 0.05)
        net.inputs = [t]
        return t
    }

    mutating func output(_ t: Int) { net.outputs = [t] }

    mutating func conv(_ x: Int, outputs o: Int, kernel k: (Int, Int), stride: Int, padding: Padding, activation a: FusedActivation, strideW: Int? = nil) -> Int {
        let c = shape(x)[3]
        let wScales = (0 ..< o).map { _ in rng.uniform(0.002, 0.01) }
        let w = net.addTensor(Tensor(name: "w", shape: [o, k.0, k.1, c], quantization: Quantization(scales: wScales, zeroPoints: [Int32](repeating: 0, count: o)),
                                     data: .int8(int8s(o * k.0 * k.1 * c))))
        let b = net.addTensor(Tensor(name: "b", shape: [o], type: .int32, data: .int32((0 ..< o).map { _ in Int32(Int(rng.next() % 4000) - 2000) })))
        let opts = ConvOptions(strideH: stride, strideW: strideW ?? stride, padding: padding, activation: a)
        let s = shape(x)
        let oh = WindowGeometry.outputSize(input: s[1], kernel: k.0, stride: stride, padding: padding)
        let ow = WindowGeometry.outputSize(input: s[2], kernel: k.1, stride: strideW ?? stride, padding: padding)
        let y = activation([1, oh, ow, o], scale: scale(x) * 0.006 * Float(k.0 * k.1 * c).squareRoot() * 30)
        net.addLayer(.conv2D(opts), inputs: [x, w, b], outputs: [y])
        return y
    }

    mutating func depthwise(_ x: Int, kernel k: (Int, Int), stride: Int, multiplier m: Int, padding: Padding) -> Int {
        let o = shape(x)[3] * m
        let wScales = (0 ..< o).map { _ in rng.uniform(0.002, 0.01) }
        let w = net.addTensor(Tensor(name: "dw", shape: [1, k.0, k.1, o], quantization: Quantization(scales: wScales, zeroPoints: [Int32](repeating: 0, count: o), quantizedDimension: 3),
                                     data: .int8(int8s(o * k.0 * k.1))))
        let b = net.addTensor(Tensor(name: "db", shape: [o], type: .int32, data: .int32((0 ..< o).map { _ in Int32(Int(rng.next() % 2000) - 1000) })))
        let s = shape(x)
        let oh = WindowGeometry.outputSize(input: s[1], kernel: k.0, stride: stride, padding: padding)
        let ow = WindowGeometry.outputSize(input: s[2], kernel: k.1, stride: stride, padding: padding)
        let y = activation([1, oh, ow, o], scale: scale(x) * 0.006 * Float(k.0 * k.1).squareRoot() * 30)
        net.addLayer(.depthwiseConv2D(ConvOptions(stride: stride, padding: padding, activation: .relu6)), inputs: [x, w, b], outputs: [y])
        return y
    }

    /// FULLY_CONNECTED over `batches` rows of the input's elements (one row by default).
    mutating func fullyConnected(_ x: Int, outputs o: Int, perChannel: Bool, weightZeroPoint: Int32 = 0, weightRange: Int = 127, batches: Int = 1) -> Int {
        let d = net.tensors[x].elementCount / batches
        let q = perChannel ? Quantization(scales: (0 ..< o).map { _ in rng.uniform(0.002, 0.01) }, zeroPoints: [Int32](repeating: 0, count: o))
                           : Quantization(scale: 0.005, zeroPoint: weightZeroPoint)
        let ws = (0 ..< o * d).map { _ in Int8(Int(rng.next() % UInt64(2 * weightRange + 1)) - weightRange) }
        let w = net.addTensor(Tensor(name: "fw", shape: [o, d], quantization: q, data: .int8(ws)))
        let b = net.addTensor(Tensor(name: "fb", shape: [o], type: .int32, data: .int32((0 ..< o).map { _ in Int32(Int(rng.next() % 4000) - 2000) })))
        let y = activation([batches, o], scale: scale(x) * 0.006 * Float(d).squareRoot() * 30)
        net.addLayer(.fullyConnected(activation: .none, keepNumDims: false), inputs: [x, w, b], outputs: [y])
        return y
    }

    mutating func add(_ a: Int, _ b: Int) -> Int {
        let y = activation(shape(a), scale: 1.5 * max(scale(a), scale(b)))
        net.addLayer(.add(activation: .none), inputs: [a, b], outputs: [y])
        return y
    }

    mutating func averagePool(_ x: Int, _ o: PoolOptions) -> Int {
        let s = shape(x)
        let shape = [1, WindowGeometry.outputSize(input: s[1], kernel: o.filterH, stride: o.strideH, padding: o.padding),
                     WindowGeometry.outputSize(input: s[2], kernel: o.filterW, stride: o.strideW, padding: o.padding), s[3]]
        let y = net.addTensor(Tensor(name: "pool", shape: shape, quantization: net.tensors[x].quantization))
        net.addLayer(.averagePool2D(o), inputs: [x], outputs: [y])
        return y
    }

    mutating func mean(_ x: Int) -> Int {
        let axes = net.addTensor(Tensor(name: "axes", shape: [2], type: .int32, data: .int32([1, 2])))
        let y = activation([1, shape(x)[3]], scale: scale(x) * 0.7)
        net.addLayer(.mean(keepDims: false), inputs: [x, axes], outputs: [y])
        return y
    }

    mutating func pad(_ x: Int, top: Int, bottom: Int, left: Int, right: Int) -> Int {
        let p = net.addTensor(Tensor(name: "pads", shape: [4, 2], type: .int32, data: .int32([0, 0, Int32(top), Int32(bottom), Int32(left), Int32(right), 0, 0])))
        let s = shape(x)
        let y = net.addTensor(Tensor(name: "padded", shape: [s[0], s[1] + top + bottom, s[2] + left + right, s[3]], quantization: net.tensors[x].quantization))
        net.addLayer(.pad, inputs: [x, p], outputs: [y])
        return y
    }

    mutating func transpose(_ x: Int, _ perm: [Int]) -> Int {
        let p = net.addTensor(Tensor(name: "perm", shape: [perm.count], type: .int32, data: .int32(perm.map { Int32($0) })))
        let y = net.addTensor(Tensor(name: "transposed", shape: perm.map { shape(x)[$0] }, quantization: net.tensors[x].quantization))
        net.addLayer(.transpose, inputs: [x, p], outputs: [y])
        return y
    }

    mutating func reshape(_ x: Int, _ shape: [Int]) -> Int {
        let y = net.addTensor(Tensor(name: "reshaped", shape: shape, quantization: net.tensors[x].quantization))
        net.addLayer(.reshape, inputs: [x], outputs: [y])
        return y
    }

    mutating func softmax(_ x: Int) -> Int {
        let y = net.addTensor(Tensor(name: "softmax", shape: shape(x), quantization: Quantization(scale: 1.0 / 256, zeroPoint: -128)))
        net.addLayer(.softmax(beta: 1), inputs: [x], outputs: [y])
        return y
    }
}
