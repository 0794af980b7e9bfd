import Accelerator
import Reference

/// The mapping tool (seed section 6): lowers a network, slices it, allocates its tensors and
/// schedules it into the instruction stream, memory image and host DMA schedule of a `Program`.
public enum Mapper {
    public static func compile(_ network: Network, config: AcceleratorConfig, options: MapperOptions = MapperOptions()) throws -> Program {
        do { try config.validate() } catch { throw MapperError("configuration: \(error)") }
        guard (0 ... 127).contains(options.pruningThreshold) else { throw MapperError("pruning threshold \(options.pruningThreshold): must be 0 to 127") }
        let net = try Lowering.lower(network)
        // Row bands save the expanded map's trip to external memory but recompute the halo rows, so
        // where the stream and not the memory bounds the pair (B = 64: 50.8k cycles as two layers,
        // 52.1k as bands) they cost. Each pair keeps them only where the cycle model of the records
        // says the program is faster (a program whose plan cannot be built keeps them).
        var best = try schedule(network, net, config: config, options: options, withoutRowBands: [])
        let pairs = best.layerSpans.filter { $0.layers.count > 1 }.map { $0.layers[0] }
        switch options.rowBands {
        case .always: return best
        case .never: return pairs.isEmpty ? best : try schedule(network, net, config: config, options: options, withoutRowBands: Set(pairs))
        case .whereFaster: break
        }
        var without = Set<Int>()
        for expansion in pairs {
            guard let cycles = predictedCycles(best) else { break }
            let trial = try schedule(network, net, config: config, options: options, withoutRowBands: without.union([expansion]))
            if let c = predictedCycles(trial), c < cycles { best = trial; without.insert(expansion) }
        }
        return best
    }

    /// The cycle model's frame (`ControlCycleModel`, the default memory), nil where the program's
    /// control plan cannot be built.
    static func predictedCycles(_ program: Program) -> Int? {
        guard let plan = try? ControlPlan(program: program) else { return nil }
        return ControlCycleModel.timeline(plan.records, config: program.config, memory: .init()).reduce(0, +)
    }

    /// The program, with row bands for every pair `RowBands.choose` picks but those whose expansion
    /// is a TFLite layer in `withoutRowBands`.
    static func schedule(_ network: Network, _ net: LoweredNetwork, config: AcceleratorConfig, options: MapperOptions,
                         withoutRowBands: Set<Int>) throws -> Program {
        var image = MemoryImage(alignment: options.alignment)

        // Constants first: they are preloaded once and never move.
        var constants = [(weights: UInt32, parameters: UInt32)]()
        for l in net.layers {
            switch l.work {
            case let .convolution(kind, p, weights, bias, _):
                let n = Slicing.counts(kind, p, config)
                let w = try image.append(Slicing.packConvolution(kind, p, weights: weights, config: config))
                let padded = kind == .depthwise ? n.channelSlices * config.pc : n.filterSlices * config.pf
                let q = try image.append(Slicing.packParameters(bias: bias, multipliers: p.multipliers, shifts: p.shifts, channels: p.outputChannels, padded: padded))
                constants.append((w, q))
            case let .fullyConnected(p, weights, bias):
                let w = try image.append(Slicing.packFullyConnected(p, weights: weights, config: config))
                let q = try image.append(Slicing.packParameters(bias: bias, multipliers: p.multipliers, shifts: p.shifts, channels: p.outputDepth,
                                                                padded: Slicing.ceilDiv(p.outputDepth, config.pf) * config.pf))
                constants.append((w, q))
            default:
                constants.append((0, 0))
            }
        }
        let constantBytes = image.bytes.count
        let sizes = network.tensors.map { $0.elementCount }
        let externalBase = MemoryImage.align(constantBytes, options.alignment)
        let rowBands = try RowBands.choose(net, sizes: sizes, externalBase: externalBase, options: options)
            .filter { !withoutRowBands.contains(net.layers[$0.key].layer) }
        let alloc = try Allocation(net, sizes: sizes, externalBase: externalBase, options: options, rowBands: rowBands)
        image.reserve(upTo: alloc.highWater[.external] ?? 0)

        var instructions = [Instruction]()
        var producedTensors = [Int]()
        // The lowered layers the instructions being made compute, and the on-chip room they leave.
        var lowered = 0 ... 0
        var onChipScratch = [Program.OnChipSpace?]()
        var layerSpans = [Program.LayerSpan]()
        /// Layer k's instruction before its shape: routes, addresses, constants and the fused ADD.
        func placed(_ k: Int) throws -> Instruction {
            let l = net.layers[k]
            let input = try alloc.place(l.input), output = try alloc.place(l.output)
            var i = Instruction()
            i.layer = l.layer
            i.inputRoute = input.route; i.inputAddress = input.address
            i.outputRoute = output.route; i.outputAddress = output.address
            i.weightAddress = constants[k].weights; i.parameterAddress = constants[k].parameters
            if let f = l.fusedAdd {
                let r = try alloc.place(f.residual)
                i.residualRoute = r.route; i.residualAddress = r.address
                i.add = Instruction.AddFields(f.parameters)
                i.fusedAdd = true
                i.resultIsSecondAddend = f.resultIsSecondAddend
            }
            return i
        }
        /// A convolution's shape, slices and quantization on `i`, one instruction per column tile.
        func convolution(_ i: Instruction, _ kind: Instruction.Kind, _ p: ConvParameters, multiplier: Int) -> [Instruction] {
            var i = i
            let n = Slicing.counts(kind, p, config)
            i.kind = kind
            i.inputHeight = p.inputHeight; i.inputWidth = p.inputWidth; i.inputChannels = p.inputChannels
            i.outputHeight = p.outputHeight; i.outputWidth = p.outputWidth; i.outputChannels = p.outputChannels
            i.kernelHeight = p.kernelHeight; i.kernelWidth = p.kernelWidth; i.strideH = p.strideH; i.strideW = p.strideW
            i.padTop = p.padTop; i.padLeft = p.padLeft
            i.padBottom = max(0, (p.outputHeight - 1) * p.strideH + p.kernelHeight - p.inputHeight - p.padTop)
            i.padRight = max(0, (p.outputWidth - 1) * p.strideW + p.kernelWidth - p.inputWidth - p.padLeft)
            i.depthMultiplier = multiplier
            i.pruningThreshold = options.pruningThreshold
            i.piecesH = n.piecesH; i.piecesW = n.piecesW
            i.channelSlices = n.channelSlices; i.filterSlices = n.filterSlices
            i.inputZeroPoint = p.inputZeroPoint; i.outputZeroPoint = p.outputZeroPoint
            i.activationMin = p.activationMin; i.activationMax = p.activationMax
            return Slicing.columnTiles(kind, p, config: config).map { t in
                var ti = i
                ti.tileOutColumn = t.outColumn; ti.tileOutColumns = t.outColumns
                ti.tileInColumn = t.inColumn; ti.tileInColumns = t.inColumns
                return ti
            }
        }
        func append(_ made: [Instruction], producing tensor: Int) {
            instructions += made
            producedTensors += [Int](repeating: tensor, count: made.count)
            onChipScratch += [Program.OnChipSpace?](repeating: alloc.freeOnChip(during: lowered), count: made.count)
        }
        /// The instructions from `first` on leave `tensor` whole; `whole` are the layers'
        /// instructions as they would be without row bands, whose MACs the layers have.
        func span(_ layers: [Int], from first: Int, leaving tensor: Int, whole: [Instruction]? = nil) throws {
            let p = try alloc.place(tensor)
            let macs = (whole ?? Array(instructions[first...])).reduce(0) { $0 + CycleModel.terms($1, config: config).macs }
            layerSpans.append(.init(layers: layers, firstInstruction: first, lastInstruction: instructions.count - 1, tensor: tensor,
                                    route: p.route, address: p.address, length: p.length, macs: macs))
        }
        for (k, l) in net.layers.enumerated() {
            // The depthwise of a row-band pair: its bands went out with the expansion's.
            if rowBands[k - 1] != nil { continue }
            let first = instructions.count
            lowered = k ... (rowBands[k] != nil ? k + 1 : k)
            var i = try placed(k)
            let here = "layer \(l.layer) (\(network.layers[l.layer].op.name))"
            switch l.work {
            case let .convolution(kind, p, _, _, multiplier):
                if let bands = rowBands[k], case let .convolution(dKind, q, _, _, dMultiplier) = net.layers[k + 1].work {
                    let d = net.layers[k + 1]
                    let dRow = UInt32(q.outputWidth * q.outputChannels), eRow = UInt32(p.inputWidth * p.inputChannels)
                    let dBase = try placed(k + 1)
                    for band in bands.bands {
                        var e = i, pb = p
                        e.inputAddress += UInt32(band.inputRows.lowerBound) * eRow
                        pb.inputHeight = band.inputRows.count; pb.outputHeight = band.inputRows.count
                        append(convolution(e, kind, pb, multiplier: multiplier), producing: l.output)
                        var dw = dBase, qb = q
                        dw.outputAddress += UInt32(band.outputRows.lowerBound) * dRow
                        qb.inputHeight = band.inputRows.count; qb.outputHeight = band.outputRows.count; qb.padTop = band.padTop
                        append(convolution(dw, dKind, qb, multiplier: dMultiplier), producing: d.output)
                    }
                    let whole = convolution(i, kind, p, multiplier: multiplier) + convolution(dBase, dKind, q, multiplier: dMultiplier)
                    try span([l.layer, d.layer], from: first, leaving: d.output, whole: whole)
                    continue
                }
                append(convolution(i, kind, p, multiplier: multiplier), producing: l.output)
                try span([l.layer], from: first, leaving: l.output)
                continue
            case let .fullyConnected(p, _, _):
                i.kind = .fullyConnected
                i.pruningThreshold = options.pruningThreshold
                i.batches = p.batches
                i.inputChannels = p.inputDepth; i.outputChannels = p.outputDepth
                i.channelSlices = Slicing.ceilDiv(p.inputDepth, Slicing.fullyConnectedChunk(config))
                i.filterSlices = Slicing.ceilDiv(p.outputDepth, config.pf)
                i.inputZeroPoint = p.inputZeroPoint; i.outputZeroPoint = p.outputZeroPoint; i.weightZeroPoint = p.weightZeroPoint
                i.activationMin = p.activationMin; i.activationMax = p.activationMax
            case let .averagePool(p):
                guard p.filterHeight <= 255, p.filterWidth <= 255, p.strideH <= 255, p.strideW <= 255 else {
                    throw MapperError("\(here): pool window \(p.filterHeight)x\(p.filterWidth) stride \(p.strideH)x\(p.strideW) exceeds 255")
                }
                i.kind = .averagePool
                i.inputHeight = p.inputHeight; i.inputWidth = p.inputWidth; i.inputChannels = p.channels
                i.outputHeight = p.outputHeight; i.outputWidth = p.outputWidth; i.outputChannels = p.channels
                i.kernelHeight = p.filterHeight; i.kernelWidth = p.filterWidth; i.strideH = p.strideH; i.strideW = p.strideW
                i.padTop = p.padTop; i.padLeft = p.padLeft
                i.channelSlices = Slicing.ceilDiv(p.channels, config.pc)
                i.tileOutColumns = p.outputWidth; i.tileInColumns = p.inputWidth
                i.activationMin = p.activationMin; i.activationMax = p.activationMax
            case let .mean(h, w, c, izp, ozp, m, s):
                i.kind = .mean
                i.inputHeight = h; i.inputWidth = w; i.inputChannels = c; i.outputChannels = c
                i.channelSlices = Slicing.ceilDiv(c, config.pc)
                i.inputZeroPoint = izp; i.outputZeroPoint = ozp; i.meanMultiplier = m; i.meanShift = s
                i.tileInColumns = w
            case let .add(_, elements):
                i.kind = .add
                i.inputChannels = elements; i.outputChannels = elements
            case let .transpose(shape, perm):
                i.kind = .transpose
                i.layoutShape = shape; i.permutation = perm
                i.inputChannels = shape.reduce(1, *); i.outputChannels = i.inputChannels
            case let .pad(shape, top, bottom, left, right, value):
                i.kind = .pad
                i.layoutShape = shape
                i.inputHeight = shape[1]; i.inputWidth = shape[2]; i.inputChannels = shape[3]
                i.outputHeight = shape[1] + top + bottom; i.outputWidth = shape[2] + left + right; i.outputChannels = shape[3]
                i.padTop = top; i.padBottom = bottom; i.padLeft = left; i.padRight = right
                i.outputZeroPoint = Int32(value)
                i.tileOutColumns = i.outputWidth; i.tileInColumns = shape[2]
            }
            append([i], producing: l.output)
            try span([l.layer], from: first, leaving: l.output)
        }
        for n in instructions.indices { instructions[n].sequence = n }
        // Every record must encode; a field out of range is a network the hardware cannot hold.
        for i in instructions {
            do { _ = try i.encoded() } catch { throw MapperError("layer \(i.layer) (\(network.layers[i.layer].op.name)): \(error)") }
        }

        let inputPlace = try alloc.place(net.networkInput)
        let t = network.tensors
        func transfer(_ dir: DMATransfer.Direction, _ tensor: Int, _ p: Allocation.Place) -> DMATransfer {
            DMATransfer(direction: dir, address: p.address, length: p.length, what: "tensor \(tensor) (\(t[tensor].name))", tensor: tensor)
        }
        var reads = [DMATransfer]()
        var hostSteps = [HostStep]()
        for h in net.hostSteps {
            let p = try alloc.place(h.input)
            reads.append(transfer(.toHost, h.input, p))
            hostSteps.append(HostStep(layer: h.layer, operation: "SOFTMAX", beta: h.beta, inputScale: h.inputScale, depth: h.depth,
                                      inputTensor: h.input, inputAddress: p.address, inputLength: p.length, outputTensor: h.output))
        }
        let outputStorage = net.storage[net.networkOutput]
        let fromHost = hostSteps.contains { $0.outputTensor == net.networkOutput }
        if !fromHost {
            let p = try alloc.place(outputStorage)
            guard p.route == .external else { throw MapperError("internal: network output not in external memory") }
            if !reads.contains(where: { $0.tensor == outputStorage }) { reads.append(transfer(.toHost, outputStorage, p)) }
        }
        let dma = DMASchedule(
            preload: [DMATransfer(direction: .toDevice, address: 0, length: constantBytes, what: "weights and quantization parameters", tensor: -1)],
            entries: [.init(beforeInstruction: 0, transfers: [transfer(.toDevice, net.networkInput, inputPlace)], hostSteps: []),
                      .init(beforeInstruction: instructions.count, transfers: reads, hostSteps: hostSteps)],
            outputTensor: fromHost ? net.networkOutput : outputStorage, outputLength: t[net.networkOutput].elementCount, outputFromHost: fromHost)
        return Program(config: config, options: options, instructions: instructions, memory: image.bytes, constantBytes: constantBytes,
                       dma: dma, inputAddress: inputPlace.address, inputLength: inputPlace.length,
                       producedTensors: producedTensors, layerSpans: layerSpans, onChipScratch: onChipScratch)
    }
}
