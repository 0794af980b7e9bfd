import Dispatch

/// Runs `body(i)` for i in 0..<n on all cores. The kernels write disjoint parts of one output
/// buffer through raw pointers, which Swift cannot prove safe, hence the unchecked box.
func parallelFor(_ n: Int, _ body: (Int) -> Void) {
    guard n > 1 else {
        if n == 1 { body(0) }
        return
    }
    withoutActuallyEscaping(body) { escapable in
        let box = UncheckedSendable(escapable)
        DispatchQueue.concurrentPerform(iterations: n) { box.value($0) }
    }
}

private struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
