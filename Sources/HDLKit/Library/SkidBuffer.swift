/// A two-entry stream buffer that cuts every combinational path between its sides: `push_ready`,
/// `pop_valid` and `pop_payload` all come straight from registers, yet a stream that never stalls
/// passes one word per cycle. The second entry (the skid) catches the word that arrives in the cycle
/// the output stalls, which a registered `ready` could not refuse in time.
public struct SkidBuffer {
    public let payload: HWType
    public let module: Module
    /// Cycles from a word entering at `push` to it being offered at `pop`.
    public static let latency = 1

    /// Ports: `push` (stream in), `pop` (stream out), on `clk`/`rst`.
    public init(payload: HWType, file: StaticString = #fileID, line: UInt = #line) {
        self.payload = payload
        module = Module("SkidBuffer_\(payload.shortName)", file: file, line: line) { m in
            let push = m.input("push", .stream(payload))
            let pop = m.output("pop", .stream(payload))
            let outValid = m.reg("out_valid", .bool, reset: 0)
            let outPayload = m.reg("out_payload", payload)
            let skidValid = m.reg("skid_valid", .bool, reset: 0)
            let skidPayload = m.reg("skid_payload", payload)
            push.ready.assign(!skidValid)
            pop.valid.assign(outValid)
            pop.payload.assign(outPayload)
            // The output register may load when it is empty or being emptied this cycle.
            let outFree = m.wire("out_free", !outValid || pop.ready)
            m.when(outFree) {
                m.when(skidValid) {
                    outValid.assign(1)
                    outPayload.assign(skidPayload)
                    skidValid.assign(0)
                }.otherwise {
                    // push_ready is high whenever the skid is empty, so a valid push fires here.
                    outValid.assign(push.valid)
                    outPayload.assign(push.payload)
                }
            }.otherwise {
                m.when(push.fire) {
                    skidValid.assign(1)
                    skidPayload.assign(push.payload)
                }
            }
        }
    }
}
