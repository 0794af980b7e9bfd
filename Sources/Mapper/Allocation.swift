/// Allocating (seed section 6): every stored tensor gets a memory (external, RAM-S, RAM-M) and an
/// address. Bottleneck tensors go on chip as in section 3.4: a tensor read again by a fused
/// shortcut ADD lives in RAM-S; a result read only by the next layer (an expansion or depthwise
/// result inside a block, the stem's output, a block output without a shortcut) lives in RAM-M.
/// Everything else, the network input and output and what the host reads, is external. Within a
/// memory, tensors whose lifetimes overlap never share bytes (first fit by address), so no layer
/// overwrites what it still reads; what no live tensor holds is a layer's room for scratch images
/// (`freeOnChip`).
struct Allocation {
    struct Place: Equatable {
        var route: Instruction.Route
        var address: UInt32
        var length: Int
    }

    private(set) var places: [Int: Place] = [:]
    /// Bytes after a tensor no tensor live with it uses: the most a lowering reads past the end of
    /// its input (a 3×3 window of PC ≤ 64 channels; a folded pass's last beat of t·PC ≤ B bytes).
    static let readSlack = 9 * 64
    /// One past the highest byte used in each memory.
    private(set) var highWater: [Instruction.Route: Int] = [.external: 0, .ramS: 0, .ramM: 0]
    /// Per memory, the bytes each tensor holds (its read slack included) and the lowered layers
    /// from its producer to its last reader.
    private var blocks: [Instruction.Route: [(lo: Int, hi: Int, first: Int, last: Int)]] = [:]
    private let capacity: [Instruction.Route: Int]

    func place(_ tensor: Int) throws -> Place {
        guard let p = places[tensor] else { throw MapperError("internal: tensor \(tensor) was never allocated") }
        return p
    }

    /// `rowBands`, keyed by the expansion's lowered index: its result needs only one band's
    /// buffer, and its input lives until the depthwise's last band.
    init(_ net: LoweredNetwork, sizes: [Int], externalBase: Int, options: MapperOptions, rowBands: [Int: RowBands] = [:]) throws {
        let count = net.layers.count
        var sizes = sizes
        var def = [Int: Int](), lastUse = [Int: Int]()
        def[net.networkInput] = -1
        func use(_ t: Int, _ p: Int) { lastUse[t] = max(lastUse[t] ?? p, p) }
        var residualSources = Set<Int>()
        for (k, bands) in rowBands {
            guard case let .convolution(_, p, _, _, _) = net.layers[k].work else { continue }
            sizes[net.layers[k].output] = bands.bufferBytes(p)
            use(net.layers[k].input, k + 1)
        }
        for (p, l) in net.layers.enumerated() {
            use(l.input, p)
            if let f = l.fusedAdd { use(f.residual, p); residualSources.insert(f.residual) }
            def[l.output] = p
        }
        var external = Set([net.networkInput, net.storage[net.networkOutput]])
        for h in net.hostSteps { use(h.input, count); external.insert(h.input) }
        for t in external { lastUse[t] = count + 1 }

        // A tensor the next layer alone reads, as its input: an expansion or depthwise result inside a
        // bottleneck, but also a stem convolution's result or a block output without a shortcut.
        func bottleneckInterior(_ t: Int, _ p: Int) -> Bool {
            let readers = net.layers.enumerated().filter { $0.element.input == t || $0.element.fusedAdd?.residual == t }
            return p >= 0 && readers.count == 1 && readers[0].offset == p + 1 && readers[0].element.input == t
        }

        capacity = [.ramS: options.ramSBytes, .ramM: options.ramMBytes]
        let order = def.keys.sorted { (def[$0]!, $0) < (def[$1]!, $1) }
        for t in order {
            let first = def[t]!, last = lastUse[t] ?? first
            let size = MemoryImage.align(max(sizes[t], 1), options.alignment)
            var candidates: [Instruction.Route] = []
            if !external.contains(t) {
                if residualSources.contains(t), sizes[t] <= options.ramSBytes { candidates.append(.ramS) }
                else if bottleneckInterior(t, first), sizes[t] <= options.ramMBytes { candidates.append(.ramM) }
            }
            candidates.append(.external)
            for route in candidates {
                let base = route == .external ? externalBase : 0
                let capacity = route == .ramS ? options.ramSBytes : route == .ramM ? options.ramMBytes : Int(UInt32.max)
                // A read never overlaps a write of its own pass (on chip, OnChipMemory waits for the
                // earlier writes a read overlaps), but FC lowerings read whole windows past their
                // input's end and folded passes whole beats: keep those bytes inside the memory and
                // free of whatever is live at the same time.
                let size = size + Allocation.readSlack
                let live = (blocks[route] ?? []).filter { !($0.last < first || $0.first > last) }.sorted { $0.lo < $1.lo }
                var at = base
                for b in live where b.hi > at {
                    if b.lo >= at + size { break }
                    at = MemoryImage.align(b.hi, options.alignment)
                }
                guard at + sizes[t] <= capacity else { continue }
                blocks[route, default: []].append((at, at + size, first, last))
                places[t] = Place(route: route, address: UInt32(at), length: sizes[t])
                highWater[route] = max(highWater[route] ?? 0, at + size)
                break
            }
            guard places[t] != nil else { throw MapperError("tensor \(t) (\(sizes[t]) bytes) does not fit the 32-bit external address space") }
        }
    }

    /// The largest range of RAM-M or RAM-S that no tensor live during the lowered layers `layers`
    /// holds, nor its read slack: room for a scratch image those layers' lowerings write whole
    /// before they read it (nil without on-chip memory or room).
    func freeOnChip(during layers: ClosedRange<Int>) -> Program.OnChipSpace? {
        var best: Program.OnChipSpace?
        for route in [Instruction.Route.ramM, .ramS] {
            let end = capacity[route] ?? 0
            let live = (blocks[route] ?? []).filter { !($0.last < layers.lowerBound || $0.first > layers.upperBound) }.sorted { $0.lo < $1.lo }
            var at = 0
            for b in live + [(lo: end, hi: end, first: 0, last: 0)] {
                if min(b.lo, end) - at > best?.length ?? 0 { best = .init(route: route, address: UInt32(at), length: min(b.lo, end) - at) }
                at = max(at, b.hi)
            }
        }
        return best
    }
}
