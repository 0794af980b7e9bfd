// sim.txt, the contract between `dsc compile` and this harness (docs/control.md, last section).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

struct LayerCheck {
    uint64_t index = 0;           // TFLite operator index
    std::string op;
    uint64_t macs = 0;
    uint64_t lastRecord = 0;      // compare after this record's pass ends
    uint64_t address = 0, length = 0;
    std::string file;             // resolved against the folder
    bool onChip = false;          // in the on-chip window: the harness cannot see it
};

struct SimSpec {
    std::string dir;
    uint32_t streamBytes = 0;
    double clockMHz = 0;
    uint64_t multipliers = 0;
    std::string memoryFile;
    uint64_t recordBase = 0, recordCount = 0;
    // The weight stream (optional `weights` line): its first byte and its beats of streamBytes.
    uint64_t weightBase = 0, weightBeats = 0;
    std::string inputFile;
    uint64_t inputAddress = 0;
    std::string outputFile;       // where the harness writes the device output
    uint64_t outputAddress = 0, outputLength = 0;
    std::string expectedFile;
    std::vector<LayerCheck> layers;   // in record order (lastRecord strictly increasing)
    // The accelerator's on-chip RAM-S and RAM-M (optional `on_chip` line): commands there never
    // reach the memory model, and layers that live there are reported, not compared.
    uint64_t onChipAddress = 0, onChipLength = 0;
    // Beats the records read from and write to it (optional `on_chip_beats` line), which the
    // accelerator's ONCHIP_READ_BEATS and ONCHIP_WRITE_BEATS must equal after the run.
    bool hasOnChipBeats = false;
    uint64_t onChipReadBeats = 0, onChipWriteBeats = 0;
};

// Reads DIR/sim.txt; throws HarnessError naming the line that is wrong.
SimSpec readSimSpec(const std::string& dir);
