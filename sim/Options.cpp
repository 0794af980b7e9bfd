#include "Options.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "HarnessError.h"

const char* const usageText =
    "usage: Vtop [DIR] [--bandwidth N] [--latency N] [--queue-depth N] [--backpressure P] [--seed N] [--max-cycles N]\n"
    "            [--fst FILE [--from C] [--to C]] [--verbose]\n"
    "  DIR             folder written by `dsc compile` (sim.txt, memory.bin, ...); default build/default\n"
    "  --bandwidth N   DataMover bytes per cycle, reads and writes together (default 64)\n"
    "  --latency N     cycles from a read command to its first beat (default 64)\n"
    "  --queue-depth N commands the DataMover queues per direction, 1 to 64 (default 16, the AXI DataMover's\n"
    "                  deepest command FIFO; the control unit keeps up to 9 reads in flight to hide the latency)\n"
    "  --backpressure P  probability per cycle that each memory-side channel stalls (default 0)\n"
    "  --seed N        seed of the back-pressure and of the don't-care bytes (default 1)\n"
    "  --max-cycles N  give up (exit 1) after N cycles (default 200000000)\n"
    "  --fst FILE      write waves between cycles --from and --to (TRACE=1 builds only)\n"
    "  --verbose, -v   one line per finished record: index, trace_layer, cycle, cycles since the previous one\n";

static uint64_t parseCount(const std::string& flag, const char* text) {
    char* end = nullptr;
    errno = 0;
    if (text[0] == '-') throw HarnessError(flag + " " + text + ": must be a non-negative integer");
    unsigned long long v = std::strtoull(text, &end, 0);
    if (errno != 0 || end == text || *end != '\0') throw HarnessError(flag + " " + text + ": must be a non-negative integer");
    return v;
}

static double parseReal(const std::string& flag, const char* text) {
    char* end = nullptr;
    errno = 0;
    double v = std::strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !std::isfinite(v)) throw HarnessError(flag + " " + text + ": must be a number");
    return v;
}

Options parseOptions(int argc, char** argv) {
    Options o;
    bool haveDir = false, haveFrom = false, haveTo = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "-h" || a == "--help") { o.help = true; continue; }
        if (a == "-v" || a == "--verbose") { o.verbose = true; continue; }
        if (a.rfind("-", 0) != 0) {
            if (haveDir) throw HarnessError("unexpected argument '" + a + "' (the folder is already " + o.dir + ")");
            o.dir = a;
            haveDir = true;
            continue;
        }
        static const char* const known[] = {"--bandwidth", "--latency", "--queue-depth", "--backpressure", "--seed", "--max-cycles", "--fst", "--from", "--to"};
        bool isKnown = false;
        for (const char* k : known) isKnown = isKnown || a == k;
        if (!isKnown) throw HarnessError("unknown option " + a + " (see --help)");
        if (i + 1 >= argc) throw HarnessError(a + ": needs a value (see --help)");
        const char* v = argv[++i];
        if (a == "--bandwidth") {
            o.bandwidth = parseReal(a, v);
            if (!(o.bandwidth > 0)) throw HarnessError(a + " " + v + ": must be positive");
        } else if (a == "--latency") {
            uint64_t n = parseCount(a, v);
            if (n > 1000000) throw HarnessError(a + " " + v + ": must be at most 1000000");
            o.latency = uint32_t(n);
        } else if (a == "--queue-depth") {
            uint64_t n = parseCount(a, v);
            if (n < 1 || n > 64) throw HarnessError(a + " " + v + ": must be 1 to 64");
            o.queueDepth = size_t(n);
        } else if (a == "--backpressure") {
            o.backpressure = parseReal(a, v);
            if (o.backpressure < 0 || o.backpressure >= 1) throw HarnessError(a + " " + v + ": must be in [0, 1)");
        } else if (a == "--seed") {
            o.seed = parseCount(a, v);
        } else if (a == "--max-cycles") {
            o.maxCycles = parseCount(a, v);
            if (o.maxCycles == 0) throw HarnessError(a + " " + v + ": must be at least 1");
        } else if (a == "--fst") {
            o.fst = v;
        } else if (a == "--from") {
            o.from = parseCount(a, v);
            haveFrom = true;
        } else {
            o.to = parseCount(a, v);
            haveTo = true;
        }
    }
    if ((haveFrom || haveTo) && o.fst.empty()) throw HarnessError("--from/--to need --fst FILE");
    if (o.to < o.from) throw HarnessError("--to " + std::to_string(o.to) + ": must not be before --from " + std::to_string(o.from));
    return o;
}
