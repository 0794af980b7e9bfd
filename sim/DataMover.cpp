#include "DataMover.h"

#include <algorithm>
#include <cstdio>
#include <string>

#include "HarnessError.h"

DataMover::DataMover(Memory& memory, const DataMoverSettings& settings)
    : memory_(memory), settings_(settings), rng_(settings.seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull),
      readers_{} {
    for (Reader& r : readers_) r.beat.assign(settings.streamBytes, 0);
}

uint64_t DataMover::random() {   // SplitMix64: the same stream on every platform for a given --seed
    uint64_t z = (rng_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

bool DataMover::stall() {
    if (settings_.backpressure <= 0) return false;
    return double(random() >> 11) * 0x1.0p-53 < settings_.backpressure;
}

void DataMover::beginCycle(uint64_t cycle) {
    cycle_ = cycle;
    // The weight stream gets what the data side left of the last cycle's bytes (the credit it did
    // not spend, which the cap would drop), so it never delays a data beat or a write.
    weightCredit_ = std::min(weightCredit_ + std::max(0.0, credit_), settings_.bandwidth);
    credit_ = std::min(credit_ + settings_.bandwidth, settings_.bandwidth);
    bool credit = credit_ > 0;
    readers_[data].commandReady = readers_[data].queue.size() < settings_.queueDepth && !stall();
    writeCommandReady_ = writes_.size() < settings_.queueDepth && !stall();
    writeBeatReady_ = !writes_.empty() && credit && !stall();
    present(readers_[data], credit);
    readers_[weights].commandReady = readers_[weights].queue.size() < settings_.queueDepth && !stall();
    present(readers_[weights], weightCredit_ > 0);
}

void DataMover::present(Reader& r, bool credit) {
    if (r.presented || r.queue.empty() || cycle_ < r.queue.front().readyAt || !credit || stall()) return;
    Queued& q = r.queue.front();
    const uint32_t chunk = q.command.chunk;
    const uint8_t* src = memory_.span(q.addressOf(q.next), chunk, "read command");
    for (uint32_t b = 0; b < settings_.streamBytes; b += 8) {
        uint64_t x = random();
        for (uint32_t k = 0; k < 8 && b + k < settings_.streamBytes; ++k) r.beat[b + k] = uint8_t(x >> (8 * k));
    }
    std::copy(src, src + chunk, r.beat.begin());
    r.last = q.next + 1 == q.beats();
    r.presented = true;
}

void DataMover::check(const MoverCommand& c, const char* port) const {
    char text[200];
    auto fail = [&](const char* why) {
        std::snprintf(text, sizeof text, "cycle %llu: %s command (address 0x%llx, chunk %u, count1 %u, count2 %u): %s",
                      (unsigned long long)cycle_, port, (unsigned long long)c.address, c.chunk, c.count1, c.count2, why);
        throw HarnessError(text);
    };
    if (c.chunk == 0 || c.chunk > settings_.streamBytes) fail("chunk must be 1 ... stream_bytes");
    if (c.count1 == 0 || c.count2 == 0) fail("a count is 0");
    // The whole footprint must lie in memory: its last beat is the highest address.
    uint64_t last = c.address + uint64_t(c.count2 - 1) * c.stride2 + uint64_t(c.count1 - 1) * c.stride1 + c.chunk;
    if (last > memory_.size()) fail("reaches beyond the memory image");
}

void DataMover::acceptReadCommand(const MoverCommand& c, Channel channel) {
    check(c, channel == data ? "m_rd_cmd" : "m_wt_cmd");
    readers_[channel].queue.push_back(Queued{c, cycle_ + std::max<uint64_t>(1, settings_.latency), 0});
}

void DataMover::acceptWriteCommand(const MoverCommand& c) {
    check(c, "m_wr_cmd");
    writes_.push_back(Queued{c, cycle_ + 1, 0});
}

void DataMover::readBeatTaken(Channel channel) {
    Reader& r = readers_[channel];
    if (!r.presented) throw HarnessError(channel == data ? "internal: s_axis handshake without a beat" : "internal: s_axis_wt handshake without a beat");
    Queued& q = r.queue.front();
    (channel == weights ? weightCredit_ : credit_) -= q.command.chunk;
    bytesRead_ += q.command.chunk;
    r.presented = false;
    if (++q.next == q.beats()) r.queue.pop_front();
}

uint32_t DataMover::writeBeat(const std::vector<uint8_t>& data, const std::vector<bool>& keep, bool last) {
    char text[200];
    if (writes_.empty()) {
        std::snprintf(text, sizeof text, "cycle %llu: m_axis beat accepted without a write command", (unsigned long long)cycle_);
        throw HarnessError(text);
    }
    Queued& q = writes_.front();
    const uint32_t chunk = q.command.chunk;
    for (uint32_t b = 0; b < settings_.streamBytes; ++b)
        if (keep[b] != (b < chunk)) {
            std::snprintf(text, sizeof text, "cycle %llu: m_axis beat %llu of the write command at 0x%llx: tkeep byte %u is %d, but the command's chunk is %u",
                          (unsigned long long)cycle_, (unsigned long long)q.next, (unsigned long long)q.command.address, b, int(keep[b]), chunk);
            throw HarnessError(text);
        }
    bool isLast = q.next + 1 == q.beats();
    if (last != isLast) {
        std::snprintf(text, sizeof text, "cycle %llu: m_axis beat %llu of %llu of the write command at 0x%llx has tlast=%d",
                      (unsigned long long)cycle_, (unsigned long long)q.next + 1, (unsigned long long)q.beats(),
                      (unsigned long long)q.command.address, int(last));
        throw HarnessError(text);
    }
    uint8_t* dst = memory_.span(q.addressOf(q.next), chunk, "write command");
    std::copy(data.begin(), data.begin() + chunk, dst);
    credit_ -= chunk;
    bytesWritten_ += chunk;
    if (++q.next == q.beats()) writes_.pop_front();
    return chunk;
}
