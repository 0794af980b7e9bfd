// The figures of a run: per-layer table, totals, and the accelerator's own counters.
//
// Bound rule (also in sim/README.md). For a layer of C cycles:
//   compute  = MACs / multipliers              the fewest cycles the engine needs
//   transfer = (bytes read + written) / bandwidth   the fewest cycles the DataMover needs
// If max(compute, transfer) < C / 2 the layer is "control"-bound: more than half of its time is
// explained by neither (record fetch, command latency, fill beats, lanes the mapping leaves idle,
// pipeline drain). Otherwise it is "compute"- or "bandwidth"-bound, whichever term is larger.
// This mirrors `dsc estimate` (Mapper/CycleModel.swift), whose control bound is overhead > half.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "SimSpec.h"

// What the harness sees of one record's pass, from the previous record's end to its own.
struct RecordStats {
    uint64_t cycles = 0;
    uint64_t inputStall = 0;      // s_axis_tready && !s_axis_tvalid
    uint64_t outputStall = 0;     // m_axis_tvalid && !m_axis_tready
    uint64_t bytesRead = 0, bytesWritten = 0;
};

struct DeviceCounters {           // read over AXI-Lite after the run
    uint64_t cycles = 0;
    uint32_t stallInput = 0, stallOutput = 0, engineBeats = 0, pruneActive = 0, recordsDone = 0, status = 0;
    // The last finished layer (LAYERS_DONE ... LAYER_DONE_ENGINE_BEATS).
    uint32_t layersDone = 0, layerDoneIndex = 0, layerDoneCycles = 0, layerDoneStallInput = 0, layerDoneStallOutput = 0,
             layerDoneEngineBeats = 0;
    // RAM-S and RAM-M since start (0 on an accelerator without on-chip memory).
    uint32_t onChipReadBeats = 0, onChipWriteBeats = 0, onChipRawStalls = 0;
};

struct RunSummary {
    uint64_t cycles = 0;          // start write .. done seen
    double wallSeconds = 0;
    double bandwidth = 0;
    std::vector<RecordStats> records;
    RecordStats tail;             // after the last record's end until done was seen
    DeviceCounters device;
};

void printReport(const SimSpec& spec, const RunSummary& run);
