// The host's AXI4-Lite master: one register access at a time, as a CPU's uncached load or store.
// Write: AW and W raised together, each dropped after its own handshake, then B taken.
// Read: AR until its handshake, then R taken. A non-OKAY response throws HarnessError.
#pragma once
#include <cstdint>

struct AxiLiteMasterPins {       // what the host drives
    bool awvalid = false, wvalid = false, bready = false, arvalid = false, rready = false;
    uint32_t awaddr = 0, wdata = 0, wstrb = 0, araddr = 0;
};

struct AxiLiteSlavePins {        // what the accelerator drives (sampled before the clock edge)
    bool awready = false, wready = false, bvalid = false, arready = false, rvalid = false;
    uint32_t bresp = 0, rdata = 0, rresp = 0;
};

class AxiLiteHost {
public:
    void startWrite(uint32_t address, uint32_t data);
    void startRead(uint32_t address);
    bool busy() const { return phase_ != Phase::idle; }
    uint32_t readData() const { return data_; }
    const AxiLiteMasterPins& pins() const { return pins_; }
    // Applies this cycle's handshakes; the pins then hold next cycle's values.
    void clock(const AxiLiteSlavePins& slave);

private:
    enum class Phase { idle, write, read };
    Phase phase_ = Phase::idle;
    uint32_t address_ = 0, data_ = 0;
    AxiLiteMasterPins pins_;
};
