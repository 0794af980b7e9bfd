/// Work and size of one layer: multiply-accumulates of one inference (batch included) and the
/// number of stored parameters (weights and biases).
public struct LayerStatistics: Sendable, Equatable {
    public var macs: Int
    public var weights: Int
    public var biases: Int
    public var parameters: Int { weights + biases }

    public init(macs: Int, weights: Int, biases: Int) {
        self.macs = macs
        self.weights = weights
        self.biases = biases
    }
}

extension Network {
    /// MACs and parameters of each layer, in layer order. Layers that do no multiply-accumulate
    /// (ADD, pooling, data movement) count 0 MACs, and a malformed layer counts 0 rather than failing.
    public func statistics() -> [LayerStatistics] {
        layers.map(statistics(of:))
    }

    public func statistics(of layer: Layer) -> LayerStatistics {
        func shape(_ k: Int, in list: [Int]) -> [Int]? {
            guard list.count > k, tensors.indices.contains(list[k]) else { return nil }
            return tensors[list[k]].shape
        }
        func count(_ k: Int) -> Int {
            guard let s = shape(k, in: layer.inputs) else { return 0 }
            return s.reduce(1, *)
        }
        guard let w = shape(1, in: layer.inputs), let y = shape(0, in: layer.outputs) else {
            return LayerStatistics(macs: 0, weights: 0, biases: 0)
        }
        let outputs = y.reduce(1, *)
        switch layer.op {
        case .conv2D:
            guard w.count == 4 else { break }
            return LayerStatistics(macs: outputs * w[1] * w[2] * w[3], weights: count(1), biases: count(2))
        case .depthwiseConv2D:
            guard w.count == 4 else { break }
            return LayerStatistics(macs: outputs * w[1] * w[2], weights: count(1), biases: count(2))
        case .fullyConnected:
            guard w.count == 2 else { break }
            return LayerStatistics(macs: outputs * w[1], weights: count(1), biases: count(2))
        default:
            break
        }
        return LayerStatistics(macs: 0, weights: 0, biases: 0)
    }

    public var totalMACs: Int { statistics().reduce(0) { $0 + $1.macs } }
    public var totalParameters: Int { statistics().reduce(0) { $0 + $1.parameters } }
}
