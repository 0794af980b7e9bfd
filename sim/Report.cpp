#include "Report.h"

#include <algorithm>
#include <cstdio>

namespace {

struct Row {
    std::string layer, op;
    uint64_t records = 0, macs = 0;
    RecordStats s;
};

void add(RecordStats& into, const RecordStats& r) {
    into.cycles += r.cycles;
    into.inputStall += r.inputStall;
    into.outputStall += r.outputStall;
    into.bytesRead += r.bytesRead;
    into.bytesWritten += r.bytesWritten;
}

const char* bound(const Row& r, double multipliers, double bandwidth) {
    double compute = double(r.macs) / multipliers;
    double transfer = double(r.s.bytesRead + r.s.bytesWritten) / bandwidth;
    if (2 * std::max(compute, transfer) < double(r.s.cycles)) return "control";
    return compute >= transfer ? "compute" : "bandwidth";
}

}  // namespace

void printReport(const SimSpec& spec, const RunSummary& run) {
    // Layer k owns the records after layer k-1's last record up to its own; records after the last
    // layer line (if any) form one unnamed row.
    std::vector<Row> rows;
    size_t next = 0;
    for (const LayerCheck& l : spec.layers) {
        Row row{std::to_string(l.index), l.op, 0, l.macs, {}};
        for (; next <= l.lastRecord && next < run.records.size(); ++next, ++row.records) add(row.s, run.records[next]);
        rows.push_back(row);
    }
    if (next < run.records.size()) {
        Row row{"-", "(unlisted)", 0, 0, {}};
        for (; next < run.records.size(); ++next, ++row.records) add(row.s, run.records[next]);
        rows.push_back(row);
    }
    const double mult = double(spec.multipliers);
    std::printf("%6s %-20s %7s %11s %13s %6s %10s %10s %11s %11s %-9s\n", "layer", "op", "records", "cycles", "MACs", "util%",
                "in-stall", "out-stall", "bytes-rd", "bytes-wr", "bound");
    Row total{"total", "", 0, 0, {}};
    for (const Row& r : rows) {
        double util = r.s.cycles ? 100.0 * double(r.macs) / (double(r.s.cycles) * mult) : 0;
        std::printf("%6s %-20s %7llu %11llu %13llu %6.1f %10llu %10llu %11llu %11llu %-9s\n", r.layer.c_str(), r.op.c_str(),
                    (unsigned long long)r.records, (unsigned long long)r.s.cycles, (unsigned long long)r.macs, util,
                    (unsigned long long)r.s.inputStall, (unsigned long long)r.s.outputStall, (unsigned long long)r.s.bytesRead,
                    (unsigned long long)r.s.bytesWritten, bound(r, mult, run.bandwidth));
        total.records += r.records;
        total.macs += r.macs;
        add(total.s, r.s);
    }
    add(total.s, run.tail);
    const double seconds = double(run.cycles) / (spec.clockMHz * 1e6);
    const double fps = seconds > 0 ? 1 / seconds : 0;
    // Two operations per MAC, as the paper and `dsc estimate` count GOPS.
    const double gops = seconds > 0 ? 2 * double(total.macs) / seconds / 1e9 : 0;
    const double util = run.cycles ? 100.0 * double(total.macs) / (double(run.cycles) * mult) : 0;
    std::printf("total: %llu cycles, %llu records, %llu MACs, utilisation %.1f%% of %llu multipliers, %.1f FPS and %.2f GOPS at %.0f MHz\n",
                (unsigned long long)run.cycles, (unsigned long long)total.records, (unsigned long long)total.macs, util,
                (unsigned long long)spec.multipliers, fps, gops, spec.clockMHz);
    std::printf("memory: %llu bytes read, %llu bytes written (%.2f B/cycle of %.4g), input stall %llu, output stall %llu cycles\n",
                (unsigned long long)total.s.bytesRead, (unsigned long long)total.s.bytesWritten,
                run.cycles ? double(total.s.bytesRead + total.s.bytesWritten) / double(run.cycles) : 0.0, run.bandwidth,
                (unsigned long long)total.s.inputStall, (unsigned long long)total.s.outputStall);
    const DeviceCounters& d = run.device;
    std::printf("device counters: CYCLES %llu, STALL_INPUT %u, STALL_OUTPUT %u, ENGINE_BEATS %u, PRUNE_ACTIVE %u, RECORDS_DONE %u, STATUS 0x%x, "
                "LAYERS_DONE %u, LAYER_DONE_INDEX %u, LAYER_DONE_CYCLES %u, LAYER_DONE_STALL_INPUT %u, LAYER_DONE_STALL_OUTPUT %u, "
                "LAYER_DONE_ENGINE_BEATS %u, ONCHIP_READ_BEATS %u, ONCHIP_WRITE_BEATS %u, ONCHIP_RAW_STALLS %u\n",
                (unsigned long long)d.cycles, d.stallInput, d.stallOutput, d.engineBeats, d.pruneActive, d.recordsDone, d.status,
                d.layersDone, d.layerDoneIndex, d.layerDoneCycles, d.layerDoneStallInput, d.layerDoneStallOutput,
                d.layerDoneEngineBeats, d.onChipReadBeats, d.onChipWriteBeats, d.onChipRawStalls);
    std::printf("simulation: %.2f s, %.0f cycles/s\n", run.wallSeconds, run.wallSeconds > 0 ? double(run.cycles) / run.wallSeconds : 0.0);
}
