// The command line of ./Vtop.
#pragma once
#include <cstdint>
#include <string>

struct Options {
    std::string dir = "build/default";
    double bandwidth = 64;        // bytes per cycle, shared by reads and writes (see DataMover.h)
    uint32_t latency = 64;        // cycles from a read command's acceptance to its first beat
    size_t queueDepth = 16;       // commands queued per direction (DataMover.h)
    double backpressure = 0;      // probability per cycle and channel that the memory side stalls
    uint64_t seed = 1;
    uint64_t maxCycles = 200000000;
    std::string fst;              // waveform file; needs a TRACE=1 build
    uint64_t from = 0, to = UINT64_MAX;
    bool verbose = false;         // one line per finished record
    bool help = false;
};

// Throws HarnessError naming the offending argument.
Options parseOptions(int argc, char** argv);
extern const char* const usageText;
