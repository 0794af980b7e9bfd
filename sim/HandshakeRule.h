// The AXI rule the accelerator must keep on every channel it drives: once valid is raised it stays
// raised, with the same payload, until the handshake. Violations throw HarnessError.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>

#include "HarnessError.h"

template <class Payload>
class HandshakeRule {
public:
    explicit HandshakeRule(const char* channel) : channel_(channel) {}

    // Call once per cycle with the values sampled before the clock edge; `payload` is read only
    // while valid is high.
    void check(uint64_t cycle, bool valid, bool ready, const Payload& payload) {
        if (waiting_) {
            char text[160];
            if (!valid) {
                std::snprintf(text, sizeof text, "cycle %llu: %s valid dropped without a handshake", (unsigned long long)cycle, channel_);
                throw HarnessError(text);
            }
            if (!(payload == held_)) {
                std::snprintf(text, sizeof text, "cycle %llu: %s payload changed while valid waited for ready", (unsigned long long)cycle, channel_);
                throw HarnessError(text);
            }
        }
        waiting_ = valid && !ready;
        if (waiting_) held_ = payload;
    }

private:
    const char* channel_;
    bool waiting_ = false;
    Payload held_{};
};
