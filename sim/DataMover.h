// A model of the AXI DataMover in front of the external memory (docs/control.md, "Ports"): it takes
// 2-D strided read and write commands and moves their bytes over the AXI4-Stream data ports: two read
// channels (the data stream `m_rd_cmd`/`s_axis` and the weight stream `m_wt_cmd`/`s_axis_wt`, each
// with its own command queue, in order within a channel) and one write channel.
//
// Timing model (chosen to match `dsc estimate`, whose transfer term is (bytes in + bytes out) / bandwidth):
// * Bandwidth is ONE budget shared by reads and writes, as on a board where both directions reach the
//   same DDR: `bandwidth` bytes of credit arrive per cycle (capped at one cycle's worth, so idle time is
//   not banked); a beat may move while the credit is positive and costs its `chunk` bytes (the credit may
//   go negative, which the following cycles repay). At most one beat per stream per cycle.
// * The data side (the data stream's reads and the writes) has priority over the weight stream, which
//   prefetches into the accelerator's weight buffer: the weight channel has a credit of its own, fed
//   with the bytes the data side left unspent in the cycle before (at most one cycle's worth), so a
//   weight beat never delays a data beat, and the weights take the whole bandwidth while the data
//   side is idle.
// * Latency: a read command's first beat is valid `latency` cycles (at least 1) after the command's
//   handshake; queued
//   commands age while the one before them streams, as a DataMover's outstanding requests do. Writes are
//   posted (the S2MM side buffers them), so write data is accepted as soon as its command is queued.
// * Queues: up to `queueDepth` commands per direction, the one streaming included; the command ports'
//   ready drops while the queue is full.
// * Back-pressure: with probability `backpressure`, independently per cycle, each command port's ready
//   drops, the read stream withholds its next beat and the write stream's tready drops. A presented read
//   beat stays valid until taken (AXI4-Stream rule).
// * Read beats carry pseudo-random bytes at and above `chunk` (don't-care by the contract), so an
//   accelerator that uses them is caught by the layer checks.
// Protocol errors by the accelerator (zero-sized commands, chunk above the beat, tkeep or tlast that
// disagree with the write command, data without a command) throw HarnessError.
#pragma once
#include <cstdint>
#include <deque>
#include <vector>

#include "Memory.h"

struct MoverCommand {
    uint64_t address = 0;
    uint32_t chunk = 0, count1 = 0, stride1 = 0, count2 = 0, stride2 = 0;
    bool operator==(const MoverCommand& o) const {
        return address == o.address && chunk == o.chunk && count1 == o.count1 && stride1 == o.stride1 && count2 == o.count2 &&
               stride2 == o.stride2;
    }
};

struct DataMoverSettings {
    uint32_t streamBytes = 16;
    double bandwidth = 64;
    uint32_t latency = 64;
    double backpressure = 0;
    uint64_t seed = 1;
    size_t queueDepth = 16;
};

class DataMover {
public:
    DataMover(Memory& memory, const DataMoverSettings& settings);

    // Decides this cycle's drive values; call once per cycle before driving the accelerator's inputs.
    void beginCycle(uint64_t cycle);

    // The read channels: the data stream and the weight stream.
    enum Channel { data = 0, weights = 1 };
    bool readCommandReady(Channel c = data) const { return readers_[c].commandReady; }
    bool writeCommandReady() const { return writeCommandReady_; }
    bool readBeatValid(Channel c = data) const { return readers_[c].presented; }
    const std::vector<uint8_t>& readBeat(Channel c = data) const { return readers_[c].beat; }   // streamBytes bytes
    bool readBeatLast(Channel c = data) const { return readers_[c].last; }
    bool writeBeatReady() const { return writeBeatReady_; }

    // Handshakes seen this cycle (valid && ready, sampled before the clock edge).
    void acceptReadCommand(const MoverCommand& c, Channel channel = data);
    void acceptWriteCommand(const MoverCommand& c);
    void readBeatTaken(Channel c = data);
    // `keep` holds streamBytes flags; returns the number of bytes written.
    uint32_t writeBeat(const std::vector<uint8_t>& data, const std::vector<bool>& keep, bool last);

    uint64_t bytesRead() const { return bytesRead_; }
    uint64_t bytesWritten() const { return bytesWritten_; }
    bool writesPending() const { return !writes_.empty(); }
    bool readsPending(Channel c) const { return !readers_[c].queue.empty(); }
    bool readsPending() const { return readsPending(data) || readsPending(weights); }

private:
    struct Queued {
        MoverCommand command;
        uint64_t readyAt;         // cycle of the first beat (reads)
        uint64_t next = 0;        // beats done
        uint64_t beats() const { return uint64_t(command.count1) * command.count2; }
        uint64_t addressOf(uint64_t n) const {
            return command.address + (n / command.count1) * command.stride2 + (n % command.count1) * uint64_t(command.stride1);
        }
    };
    void check(const MoverCommand& c, const char* port) const;
    bool stall();                 // one back-pressure draw
    uint64_t random();

    Memory& memory_;
    DataMoverSettings settings_;
    uint64_t rng_;
    uint64_t cycle_ = 0;
    double credit_ = 0, weightCredit_ = 0;
    struct Reader {
        std::deque<Queued> queue;
        bool commandReady = false, presented = false, last = false;
        std::vector<uint8_t> beat;
    };
    void present(Reader& r, bool credit);
    Reader readers_[2];
    std::deque<Queued> writes_;
    bool writeCommandReady_ = false, writeBeatReady_ = false;
    uint64_t bytesRead_ = 0, bytesWritten_ = 0;
};
