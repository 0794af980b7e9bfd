import HDLKit
import XCTest

/// Mistakes in a generator are elaboration errors, thrown by `Design.verilog()`, that name the
/// Swift line where the offending hardware was written and the module it is in.
final class ElaborationErrorTests: XCTestCase {
    private func assertFails(_ top: Module, at line: Int, in module: String? = nil, _ message: String,
                             file: StaticString = #filePath, testLine: UInt = #line) {
        do {
            _ = try Design(top: top).verilog()
            XCTFail("\(top.name) elaborated, but should fail with: \(message)", file: file, line: testLine)
        } catch let failure as ElaborationFailure {
            let text = failure.description
            let at = "HDLKitTests/ElaborationErrorTests.swift:\(line): error: in module \(module ?? top.name)"
            XCTAssertTrue(text.contains(at), "expected '\(at)' in:\n\(text)", file: file, line: testLine)
            XCTAssertTrue(text.contains(message), "expected '\(message)' in:\n\(text)", file: file, line: testLine)
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: testLine)
        }
    }

    func testALostCarryIsAnErrorNotATruncation() {
        var line = 0
        let m = Module("LostCarry") { m in
            let a = m.input("a", .uint(8)), b = m.input("b", .uint(8))
            let y = m.output("y", .uint(8))
            line = #line; y.assign(a + b)
        }
        assertFails(m, at: line, "width mismatch: cannot assign uint(9) to 'y' of uint(8)")
    }

    func testAWideProductIntoANarrowRegisterIsAnError() {
        var line = 0
        let m = Module("WideProduct") { m in
            let a = m.input("a", .sint(8)), b = m.input("b", .sint(8))
            let r = m.reg("r", .sint(15))
            line = #line; r.assign(a * b)
            m.output("y", r)
        }
        assertFails(m, at: line, "cannot assign sint(16) to 'r' of sint(15)")
    }

    func testASignedValueCannotSilentlyDriveAnUnsignedSignal() {
        var line = 0
        let m = Module("SignedIntoUnsigned") { m in
            let a = m.input("a", .sint(4))
            line = #line; m.output("y", .uint(8)).assign(a)
        }
        assertFails(m, at: line, "a signed value cannot drive an unsigned signal")
    }

    func testMixingSignedAndUnsignedInOneOperatorIsAnError() {
        var line = 0
        let m = Module("MixedSigns") { m in
            let a = m.input("a", .sint(4)), b = m.input("b", .uint(4))
            let y = m.output("y", .sint(8))
            line = #line; y.assign(a + b)
        }
        assertFails(m, at: line, "operator + mixes sint(4) and uint(4)")
    }

    func testAnOutputNeverAssignedIsNamedAtItsDeclaration() {
        var line = 0
        let m = Module("Unassigned") { m in
            m.discard(m.input("a", .uint(2)))
            line = #line; m.output("y", .uint(2))
        }
        assertFails(m, at: line, "'y' is never assigned")
    }

    func testAnOutputAssignedOnlyInsideAWhenWouldBeALatch() {
        var line = 0
        let m = Module("Latch") { m in
            let c = m.input("c", .bool), a = m.input("a", .uint(3))
            let y = m.output("y", .uint(3))
            m.when(c) {
                line = #line; y.assign(a)
            }
        }
        assertFails(m, at: line, "'y' is not assigned on every path (it would be a latch)")
    }

    func testASwitchWithoutDefaultLeavesAPathUnassigned() {
        var line = 0
        let m = Module("NoDefault") { m in
            let sel = m.input("sel", .uint(2))
            let y = m.output("y", .uint(3))
            m.switch(sel) { s in
                s.is(0) { line = #line; y.assign(1) }
                s.is(1) { y.assign(2) }
            }
        }
        assertFails(m, at: line, "'y' is not assigned on every path")
    }

    func testACombinationalLoopIsAnError() {
        var line = 0
        let m = Module("Loop") { m in
            let a = m.input("a", .uint(4))
            let p = m.wire("p", .uint(4)), q = m.wire("q", .uint(4))
            line = #line; p.assign(q ^ a)
            q.assign(p)
            m.output("y", q)
        }
        assertFails(m, at: line, "combinational loop: p -> q -> p")
    }

    func testALoopThroughAChildInstanceIsAnError() {
        let passthrough = Module("Passthrough") { m in m.output("y", m.input("a", .uint(4))) }
        var line = 0
        let m = Module("LoopThroughChild") { m in
            let u = m.instance(passthrough, "u0")
            line = #line; u.a.assign(u.y)
            m.output("y", u.y)
        }
        assertFails(m, at: line, "combinational loop")
    }

    func testDuplicateSignalNamesAreErrorsAtTheSecondDeclaration() {
        var line = 0
        let m = Module("Duplicate") { m in
            let a = m.input("a", .uint(4))
            m.wire("t", a)
            line = #line; m.output("t", a)
        }
        assertFails(m, at: line, "duplicate name 't'")
    }

    func testMemoriesAndInstancesShareTheSignalNamespace() {
        var memoryLine = 0, instanceLine = 0
        let child = Module("Child") { m in m.output("y", m.input("a", .uint(1))) }
        let m = Module("NameClash") { m in
            let a = m.input("a", .uint(4))
            let mem = m.memory("store", depth: 16, .uint(4))
            mem.write(a, a)
            m.output("q", mem.read(a))
            memoryLine = #line; m.wire("store", a)
            instanceLine = #line; let u = m.instance(child, "q")
            u.a.assign(a[0])
        }
        assertFails(m, at: memoryLine, "duplicate name 'store' (already names memory")
        assertFails(m, at: instanceLine, "duplicate name 'q'")
    }

    func testASignalMayNotTakeTheNameOfAClockOrResetPort() {
        var line = 0
        let m = Module("ClockName") { m in
            let a = m.input("a", .uint(4))
            line = #line; let w = m.wire("rst", a)
            m.output("y", m.reg("r", next: w, reset: 0))
        }
        assertFails(m, at: line, "'rst' is a clock or reset port")
    }

    func testAnErrorInAChildNamesTheChildAndItsInstancePath() {
        var line = 0
        let leaf = Module("Leaf") { m in
            m.discard(m.input("a", .uint(1)))
            line = #line; m.output("y", .uint(1))
        }
        let mid = Module("Mid") { m in
            let u = m.instance(leaf, "leaf0")
            u.a.assign(m.input("a", .uint(1)))
            m.output("y", u.y)
        }
        let top = Module("Top") { m in
            let u = m.instance(mid, "mid3")
            u.a.assign(m.input("a", .uint(1)))
            m.output("y", u.y)
        }
        assertFails(top, at: line, in: "Leaf (instance Top.mid3.leaf0)", "'y' is never assigned")
    }

    func testTwoDifferentModulesWithOneNameAreAnError() {
        let first = Module("Same") { m in m.output("y", m.input("a", .uint(2))) }
        var line = 0
        line = #line; let second = Module("Same") { m in m.output("y", ~m.input("a", .uint(2))) }
        let top = Module("TwoSames") { m in
            let a = m.input("a", .uint(2))
            let u = m.instance(first, "u0"), v = m.instance(second, "u1")
            u.a.assign(a)
            v.a.assign(a)
            m.output("y", u.y ^ v.y)
        }
        assertFails(top, at: line, in: "Same", "two different modules are named Same")
    }

    /// A library generator with equal parameters, called from two units, is one module: the two
    /// differ only in where they were built, so the design keeps one definition and no error.
    func testOneGeneratorCalledFromTwoPlacesIsOneModule() throws {
        let first = FIFO(depth: 4, payload: .uint(9)).module
        let second = FIFO(depth: 4, payload: .uint(9)).module
        XCTAssertNotEqual("\(first.location)", "\(second.location)")
        let top = Module("TwoFifos") { m in
            for (n, f) in [first, second].enumerated() {
                let u = m.instance(f, "fifo\(n)")
                u.push_valid.assign(m.input("push_valid_\(n)", .bool))
                u.push_payload.assign(m.input("push_payload_\(n)", .uint(9)))
                u.pop_ready.assign(m.input("pop_ready_\(n)", .bool))
                m.output("pop_valid_\(n)", u.pop_valid)
                m.output("pop_payload_\(n)", u.pop_payload)
                m.output("push_ready_\(n)", u.push_ready)
                for port in ["count", "full", "empty"] { m.discard(u.port(port)) }
            }
        }
        XCTAssertEqual(try Design(top: top).modules().filter { $0.name == first.name }.count, 1)
    }

    func testAMemoryAddressOfTheWrongWidthIsAnError() {
        var line = 0
        let m = Module("BadAddress") { m in
            let a = m.input("a", .uint(5))
            let mem = m.memory("ram", depth: 16, .uint(4))
            line = #line; mem.write(a, a.truncate(to: 4))
            m.output("q", mem.read(a.truncate(to: 4)))
        }
        assertFails(m, at: line, "address of memory 'ram' (16 words) must be uint(4), not uint(5)")
    }

    func testIllegalLibraryParametersAreErrorsAtTheCallersLine() {
        var line = 0
        line = #line; let fifo = FIFO(depth: 0, payload: .uint(8))
        assertFails(fifo.module, at: line, "FIFO depth must be at least 1, not 0")
        line = #line; let skid = SkidBuffer(payload: .uint(0))
        assertFails(skid.module, at: line, "skid buffer payload width must be at least 1, not 0")
        var counterLine = 0
        let m = Module("BadCounter") { m in
            counterLine = #line; let c = m.counter("c", modulus: 0)
            m.output("v", c.value)
            m.output("t", c.tick)
        }
        assertFails(m, at: counterLine, "counter 'c' needs a modulus of at least 1, not 0")
    }

    func testAMemoryNeverReadIsAnError() {
        var line = 0
        let m = Module("WriteOnly") { m in
            let a = m.input("a", .uint(3))
            line = #line; let mem = m.memory("ram", depth: 8, .uint(3))
            mem.write(a, a)
        }
        assertFails(m, at: line, "memory 'ram' is never read")
    }

    func testMappingADomainTheChildDoesNotHaveIsAnError() {
        let child = Module("Comb") { m in m.output("y", m.input("a", .uint(2))) }
        var line = 0
        let m = Module("BadDomainMap") { m in
            line = #line; let u = m.instance(child, "u0", domains: ["clk": "clk_b"])
            u.a.assign(m.input("a", .uint(2)))
            m.output("y", u.y)
        }
        assertFails(m, at: line, "module Comb has no clock domain 'clk' to connect to 'clk_b'")
    }

    func testEveryProblemIsReportedInOneRun() {
        let m = Module("ManyProblems") { m in
            let a = m.input("a", .uint(8))
            m.output("y", .uint(4)).assign(a)
            m.output("z", .uint(4))
            m.wire("a", a)
        }
        XCTAssertThrowsError(try Design(top: m).verilog()) { error in
            XCTAssertEqual((error as? ElaborationFailure)?.errors.count, 3, "\(error)")
        }
    }
}
