import HDLKit

/// A test bench that reacts to the design: a Moore machine whose inputs for a cycle follow from
/// its state, and which then observes what the design's outputs showed in that cycle.
protocol ControlTestBench {
    func inputs() -> [String: Int]
    mutating func observe(_ outputs: [String: Int], _ inputs: [String: Int])
    var finished: Bool { get }
}

/// Runs `bench` against the design in closed loop although `Simulator` takes its stimulus up front:
/// each run replays the agreed prefix and extends it with what the bench would do if the outputs
/// were those of the previous run; the prefix grows up to the first cycle where the bench, fed
/// the real outputs, decides otherwise. Since inputs depend only on earlier outputs, every run
/// agrees on at least one more cycle, and on long stretches when the design behaves as guessed.
func controlCosimulate<Bench: ControlTestBench>(_ sim: Simulator, _ bench: Bench, maxCycles: Int, window: Int = 512) throws
    -> (bench: Bench, cycles: Int, runs: Int)
{
    var agreed: [[String: Int]] = []
    var state = bench
    var guess: [[String: Int]] = []
    var runs = 0
    while !state.finished {
        guard agreed.count < maxCycles else {
            throw ControlCosimulationTimeout(cycles: maxCycles)
        }
        var trial = agreed
        var ahead = state
        for t in agreed.count..<min(agreed.count + window, maxCycles) {
            let i = ahead.inputs()
            trial.append(i)
            ahead.observe(t < guess.count ? guess[t] : [:], i)
        }
        let out = try sim.run(trial)
        runs += 1
        for t in agreed.count..<trial.count {
            let i = state.inputs()
            if i != trial[t] { break }
            state.observe(out[t], i)
            agreed.append(i)
            if state.finished { break }
        }
        guess = out
    }
    return (state, agreed.count, runs)
}

struct ControlCosimulationTimeout: Error, CustomStringConvertible {
    let cycles: Int
    var description: String { "test bench not finished after \(cycles) cycles" }
}
