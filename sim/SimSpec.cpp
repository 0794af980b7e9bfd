#include "SimSpec.h"

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "HarnessError.h"

namespace {

struct LineReader {
    std::string where;            // "DIR/sim.txt:12"
    std::vector<std::string> fields;

    [[noreturn]] void fail(const std::string& why) const { throw HarnessError(where + ": " + why); }

    void expectFields(size_t n, const char* shape) const {
        if (fields.size() != n) fail("'" + fields[0] + "' takes " + std::to_string(n - 1) + " fields: " + shape);
    }

    uint64_t number(size_t i, const char* name) const {
        const std::string& t = fields[i];
        char* end = nullptr;
        errno = 0;
        unsigned long long v = t.empty() || t[0] == '-' ? 0 : std::strtoull(t.c_str(), &end, 0);
        if (t.empty() || t[0] == '-' || errno != 0 || end == t.c_str() || *end != '\0')
            fail(std::string(name) + " '" + t + "' is not a non-negative integer");
        return v;
    }

    double real(size_t i, const char* name) const {
        const std::string& t = fields[i];
        char* end = nullptr;
        double v = std::strtod(t.c_str(), &end);
        if (end == t.c_str() || *end != '\0' || !(v > 0)) fail(std::string(name) + " '" + t + "' is not a positive number");
        return v;
    }
};

std::string join(const std::string& dir, const std::string& path) {
    return !path.empty() && path[0] == '/' ? path : dir + "/" + path;
}

}  // namespace

SimSpec readSimSpec(const std::string& dir) {
    SimSpec s;
    s.dir = dir;
    std::string path = dir + "/sim.txt";
    std::ifstream in(path);
    if (!in) throw HarnessError(path + ": cannot read (is " + dir + " a folder written by `dsc compile`?)");
    bool seen[7] = {};
    const char* required[7] = {"stream_bytes", "clock_mhz", "multipliers", "memory", "records", "input", "output"};
    std::string text;
    for (int lineNo = 1; std::getline(in, text); ++lineNo) {
        if (auto hash = text.find('#'); hash != std::string::npos) text.erase(hash);
        LineReader r{path + ":" + std::to_string(lineNo), {}};
        std::istringstream words(text);
        for (std::string w; words >> w;) r.fields.push_back(w);
        if (r.fields.empty()) continue;
        const std::string& key = r.fields[0];
        int slot = -1;
        for (int k = 0; k < 7; ++k)
            if (key == required[k]) slot = k;
        if (slot >= 0) {
            if (seen[slot]) r.fail("'" + key + "' appears twice");
            seen[slot] = true;
        }
        if (key == "stream_bytes") {
            r.expectFields(2, "BYTES");
            uint64_t b = r.number(1, "stream_bytes");
            if (b != 16 && b != 32 && b != 64 && b != 128 && b != 256) r.fail("stream_bytes " + r.fields[1] + " must be 16, 32, 64, 128 or 256");
            s.streamBytes = uint32_t(b);
        } else if (key == "clock_mhz") {
            r.expectFields(2, "MHZ");
            s.clockMHz = r.real(1, "clock_mhz");
        } else if (key == "multipliers") {
            r.expectFields(2, "COUNT");
            s.multipliers = r.number(1, "multipliers");
            if (s.multipliers == 0) r.fail("multipliers must be at least 1");
        } else if (key == "memory") {
            r.expectFields(2, "FILE");
            s.memoryFile = join(dir, r.fields[1]);
        } else if (key == "records") {
            r.expectFields(3, "ADDRESS COUNT");
            s.recordBase = r.number(1, "record address");
            s.recordCount = r.number(2, "record count");
            if (s.recordBase > 0xFFFFFFFFull || s.recordCount > 0xFFFFFFFFull) r.fail("records do not fit the 32-bit registers");
        } else if (key == "weights") {
            r.expectFields(3, "ADDRESS BEATS");
            s.weightBase = r.number(1, "weight stream address");
            s.weightBeats = r.number(2, "weight stream beats");
            if (s.weightBase > 0xFFFFFFFFull || s.weightBeats > 0xFFFFFFFFull) r.fail("the weight stream does not fit the 32-bit registers");
        } else if (key == "input") {
            r.expectFields(3, "FILE ADDRESS");
            s.inputFile = join(dir, r.fields[1]);
            s.inputAddress = r.number(2, "input address");
        } else if (key == "output") {
            r.expectFields(5, "FILE ADDRESS LENGTH EXPECTED");
            s.outputFile = join(dir, r.fields[1]);
            s.outputAddress = r.number(2, "output address");
            s.outputLength = r.number(3, "output length");
            s.expectedFile = join(dir, r.fields[4]);
        } else if (key == "on_chip") {
            r.expectFields(3, "ADDRESS LENGTH");
            s.onChipAddress = r.number(1, "on-chip address");
            s.onChipLength = r.number(2, "on-chip length");
        } else if (key == "on_chip_beats") {
            r.expectFields(3, "READS WRITES");
            s.hasOnChipBeats = true;
            s.onChipReadBeats = r.number(1, "on-chip read beats");
            s.onChipWriteBeats = r.number(2, "on-chip write beats");
        } else if (key == "layer") {
            r.expectFields(8, "INDEX OPNAME MACS LAST_RECORD ADDRESS LENGTH FILE");
            LayerCheck l;
            l.index = r.number(1, "layer index");
            l.op = r.fields[2];
            l.macs = r.number(3, "MACs");
            l.lastRecord = r.number(4, "last record");
            l.address = r.number(5, "layer address");
            l.length = r.number(6, "layer length");
            l.file = join(dir, r.fields[7]);
            if (!s.layers.empty() && l.lastRecord <= s.layers.back().lastRecord)
                r.fail("layer " + r.fields[1] + ": LAST_RECORD " + r.fields[4] + " is not after the previous layer's " +
                       std::to_string(s.layers.back().lastRecord) + " (layers must be in record order)");
            s.layers.push_back(l);
        } else {
            r.fail("unknown key '" + key + "'");
        }
    }
    for (int k = 0; k < 7; ++k)
        if (!seen[k]) throw HarnessError(path + ": no '" + required[k] + "' line");
    if (s.recordCount == 0) throw HarnessError(path + ": records: COUNT is 0, nothing to run");
    for (LayerCheck& l : s.layers)
        l.onChip = s.onChipLength > 0 && l.address >= s.onChipAddress && l.address + l.length <= s.onChipAddress + s.onChipLength;
    if (!s.layers.empty() && s.layers.back().lastRecord >= s.recordCount)
        throw HarnessError(path + ": layer " + std::to_string(s.layers.back().index) + " ends at record " +
                           std::to_string(s.layers.back().lastRecord) + " but there are only " + std::to_string(s.recordCount) + " records");
    return s;
}
