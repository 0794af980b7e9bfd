// ./Vtop: plays the host and the memory system around the verilated AcceleratorTop
// (docs/control.md): loads a `dsc compile` folder, runs its control records, checks every layer
// and the device output bit for bit, and reports cycles, stalls and traffic per layer.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "AxiLiteHost.h"
#include "DataMover.h"
#include "HandshakeRule.h"
#include "HarnessError.h"
#include "Memory.h"
#include "Options.h"
#include "Ports.h"
#include "Report.h"
#include "SimSpec.h"
#include "Vtop.h"
#include "verilated.h"
#ifdef VTOP_TRACE
#include "verilated_fst_c.h"
#endif

namespace {

// AXI4-Lite register offsets (docs/control.md, "AXI4-Lite register map").
enum : uint32_t {
    regId = 0x00, regConfig = 0x04, regControl = 0x08, regStatus = 0x0C, regRecordBase = 0x14, regRecordCount = 0x18,
    regWeightBase = 0x6C, regWeightBeats = 0x70,
    regRecordsDone = 0x1C, regCyclesLo = 0x20, regCyclesHi = 0x24, regStallInput = 0x28, regStallOutput = 0x2C,
    regEngineBeats = 0x30, regPruneActive = 0x34, regCurrentLayer = 0x38, regErrorRecord = 0x3C,
    regLayersDone = 0x40, regLayerDoneIndex = 0x44, regLayerDoneCycles = 0x48, regLayerDoneStallInput = 0x4C,
    regLayerDoneStallOutput = 0x50, regLayerDoneEngineBeats = 0x54, regOnChipReadBeats = 0x58, regOnChipWriteBeats = 0x5C,
    regOnChipRawStalls = 0x60, regRamSBytes = 0x64, regRamMBytes = 0x68,
};
constexpr uint32_t expectedId = 0xD5C10001;
constexpr uint64_t registerTimeout = 10000;   // cycles an AXI-Lite access may take
constexpr uint64_t pollInterval = 256;        // cycles between STATUS polls (irq ends the wait sooner)

std::string hex(uint64_t v) {
    char text[24];
    std::snprintf(text, sizeof text, "0x%llx", (unsigned long long)v);
    return text;
}

class Harness {
public:
    Harness(const Options& options, const SimSpec& spec, Memory& memory)
        : options_(options), spec_(spec), memory_(memory),
          mover_(memory, DataMoverSettings{spec.streamBytes, options.bandwidth, options.latency, options.backpressure, options.seed, options.queueDepth}) {
        out_.data.resize(spec.streamBytes);
        out_.keep.resize(spec.streamBytes);
        top_ = std::make_unique<Vtop>(&context_);
        const size_t dataBits = 8 * sizeof(top_->s_axis_tdata), keepBits = 8 * sizeof(top_->m_axis_tkeep);
        if (dataBits != 8 * spec.streamBytes || keepBits < spec.streamBytes)
            throw HarnessError("Vtop was built for " + std::to_string(dataBits / 8) + "-byte stream beats, but " + spec.dir +
                               "/sim.txt says stream_bytes " + std::to_string(spec.streamBytes) + " (rebuild for the folder's configuration)");
        for (const LayerCheck& l : spec.layers) {
            layerBytes_.push_back(readFile(l.file, "layer file"));
            if (layerBytes_.back().size() != l.length)
                throw HarnessError(l.file + ": " + std::to_string(layerBytes_.back().size()) + " bytes, but sim.txt's layer " +
                                   std::to_string(l.index) + " says " + std::to_string(l.length));
        }
        if (!options.fst.empty()) {
#ifdef VTOP_TRACE
            context_.traceEverOn(true);
            fst_ = std::make_unique<VerilatedFstC>();
            top_->trace(fst_.get(), 99);
            fst_->open(options.fst.c_str());
#else
            throw HarnessError("--fst: this Vtop was built without tracing (rebuild with TRACE=1 scripts/build-vtop.sh)");
#endif
        }
    }

    ~Harness() {
#ifdef VTOP_TRACE
        if (fst_) fst_->close();
#endif
        top_->final();
    }

    RunSummary run() {
        reset();
        if (uint32_t id = readRegister(regId); id != expectedId)
            throw HarnessError("register ID reads " + hex(id) + ", not " + hex(expectedId) + ": is the top an AcceleratorTop?");
        // CONFIG's B field is 8 bits; B = 256 reads as 0.
        if (uint32_t config = readRegister(regConfig), b = (config >> 24) ? (config >> 24) : 256; b != spec_.streamBytes)
            throw HarnessError("register CONFIG says B = " + std::to_string(b) + ", but sim.txt says stream_bytes " +
                               std::to_string(spec_.streamBytes));
        // The program addresses RAM-M after RAM-S, so the on-chip window must be the one it was compiled for.
        if (spec_.onChipLength) {
            const uint64_t ramS = readRegister(regRamSBytes), ramM = readRegister(regRamMBytes);
            if (ramS + ramM != spec_.onChipLength)
                throw HarnessError("registers RAM_S_BYTES + RAM_M_BYTES say " + std::to_string(ramS) + " + " + std::to_string(ramM) +
                                   " on-chip bytes, but sim.txt's on_chip line says " + std::to_string(spec_.onChipLength) +
                                   " (rebuild for the folder's configuration)");
        }
        writeRegister(regRecordBase, uint32_t(spec_.recordBase));
        writeRegister(regRecordCount, uint32_t(spec_.recordCount));
        if (spec_.weightBeats > 0) {
            writeRegister(regWeightBase, uint32_t(spec_.weightBase));
            writeRegister(regWeightBeats, uint32_t(spec_.weightBeats));
        }
        summary_.records.assign(spec_.recordCount, RecordStats{});
        running_ = true;
        startCycle_ = cycle_;
        const auto t0 = std::chrono::steady_clock::now();
        writeRegister(regControl, 0x3);   // start, irq enable
        uint32_t status = 0;
        for (uint64_t nextPoll = cycle_ + pollInterval;;) {
            if (irq_ || cycle_ >= nextPoll) {
                uint64_t seen = cycle_;
                status = readRegister(regStatus);
                nextPoll = cycle_ + pollInterval;
                if (status & 0x6) {
                    summary_.cycles = (irq_ ? irqCycle_ : seen) - startCycle_;
                    break;
                }
            }
            step();
        }
        summary_.wallSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        running_ = false;
        if (status & 0x4)
            throw HarnessError("the accelerator stopped with STATUS.error at record " + std::to_string(readRegister(regErrorRecord)) +
                               " (layer " + std::to_string(readRegister(regCurrentLayer)) + ") after " + std::to_string(recordsDone_) +
                               " records");
        DeviceCounters& d = summary_.device;
        d.status = status;
        d.cycles = readRegister(regCyclesLo) | uint64_t(readRegister(regCyclesHi)) << 32;
        d.stallInput = readRegister(regStallInput);
        d.stallOutput = readRegister(regStallOutput);
        d.engineBeats = readRegister(regEngineBeats);
        d.pruneActive = readRegister(regPruneActive);
        d.recordsDone = readRegister(regRecordsDone);
        d.layersDone = readRegister(regLayersDone);
        d.layerDoneIndex = readRegister(regLayerDoneIndex);
        d.layerDoneCycles = readRegister(regLayerDoneCycles);
        d.layerDoneStallInput = readRegister(regLayerDoneStallInput);
        d.layerDoneStallOutput = readRegister(regLayerDoneStallOutput);
        d.layerDoneEngineBeats = readRegister(regLayerDoneEngineBeats);
        d.onChipReadBeats = readRegister(regOnChipReadBeats);
        d.onChipWriteBeats = readRegister(regOnChipWriteBeats);
        d.onChipRawStalls = readRegister(regOnChipRawStalls);
        if (recordsDone_ != spec_.recordCount || d.recordsDone != spec_.recordCount)
            throw HarnessError("STATUS.done after " + std::to_string(recordsDone_) + " trace_record_done pulses and RECORDS_DONE " +
                               std::to_string(d.recordsDone) + ", but RECORD_COUNT is " + std::to_string(spec_.recordCount));
        if (mover_.readsPending() || mover_.writesPending())
            throw HarnessError("STATUS.done with DataMover commands still unfinished");
        checkLayerSnapshot(d);
        if (spec_.hasOnChipBeats && (d.onChipReadBeats != spec_.onChipReadBeats || d.onChipWriteBeats != spec_.onChipWriteBeats))
            throw HarnessError("ONCHIP_READ_BEATS " + std::to_string(d.onChipReadBeats) + " and ONCHIP_WRITE_BEATS " +
                               std::to_string(d.onChipWriteBeats) + ", but the records move " + std::to_string(spec_.onChipReadBeats) +
                               " and " + std::to_string(spec_.onChipWriteBeats) + " beats on chip (sim.txt's on_chip_beats)");
        summary_.bandwidth = options_.bandwidth;
        return summary_;
    }

private:
    void reset() {
        top_->rst = 1;
        for (int i = 0; i < 4; ++i) {
            top_->clk = 0;
            top_->eval();
            top_->clk = 1;
            top_->eval();
        }
        top_->rst = 0;
    }

    uint32_t readRegister(uint32_t address) {
        host_.startRead(address);
        finishAccess(address);
        return host_.readData();
    }

    void writeRegister(uint32_t address, uint32_t data) {
        host_.startWrite(address, data);
        finishAccess(address);
    }

    void finishAccess(uint32_t address) {
        for (uint64_t limit = cycle_ + registerTimeout; host_.busy(); step())
            if (cycle_ >= limit) throw HarnessError("AXI-Lite access to " + hex(address) + " got no response in " + std::to_string(registerTimeout) + " cycles");
    }

    void dump(uint64_t time) {
#ifdef VTOP_TRACE
        if (fst_ && cycle_ >= options_.from && cycle_ <= options_.to) fst_->dump(time);
#else
        (void)time;
#endif
    }

    // One clock cycle: drive, settle, sample the handshakes, rising edge, then let the models act.
    void step() {
        if (running_ && cycle_ - startCycle_ >= options_.maxCycles)
            throw HarnessError("timeout: no STATUS.done after " + std::to_string(options_.maxCycles) + " cycles (" +
                               std::to_string(recordsDone_) + " of " + std::to_string(spec_.recordCount) + " records done; --max-cycles)");
        Vtop& t = *top_;
        mover_.beginCycle(cycle_);
        t.m_rd_cmd_ready = mover_.readCommandReady();
        t.m_wr_cmd_ready = mover_.writeCommandReady();
        t.s_axis_tvalid = mover_.readBeatValid();
        setPortBytes(t.s_axis_tdata, mover_.readBeat());
        t.s_axis_tlast = mover_.readBeatLast();
        t.m_axis_tready = mover_.writeBeatReady();
        t.m_wt_cmd_ready = mover_.readCommandReady(DataMover::weights);
        t.s_axis_wt_tvalid = mover_.readBeatValid(DataMover::weights);
        setPortBytes(t.s_axis_wt_tdata, mover_.readBeat(DataMover::weights));
        t.s_axis_wt_tlast = mover_.readBeatLast(DataMover::weights);
        const AxiLiteMasterPins& m = host_.pins();
        t.s_axil_awvalid = m.awvalid;
        t.s_axil_awaddr = m.awaddr;
        t.s_axil_wvalid = m.wvalid;
        t.s_axil_wdata = m.wdata;
        t.s_axil_wstrb = m.wstrb;
        t.s_axil_bready = m.bready;
        t.s_axil_arvalid = m.arvalid;
        t.s_axil_araddr = m.araddr;
        t.s_axil_rready = m.rready;
        t.clk = 0;
        t.eval();
        dump(2 * cycle_);

        const bool rdCmd = t.m_rd_cmd_valid && t.m_rd_cmd_ready, wrCmd = t.m_wr_cmd_valid && t.m_wr_cmd_ready;
        const MoverCommand rd{t.m_rd_cmd_address, t.m_rd_cmd_chunk, t.m_rd_cmd_count1, t.m_rd_cmd_stride1, t.m_rd_cmd_count2, t.m_rd_cmd_stride2};
        const MoverCommand wr{t.m_wr_cmd_address, t.m_wr_cmd_chunk, t.m_wr_cmd_count1, t.m_wr_cmd_stride1, t.m_wr_cmd_count2, t.m_wr_cmd_stride2};
        const bool wtCmd = t.m_wt_cmd_valid && t.m_wt_cmd_ready;
        const MoverCommand wt{t.m_wt_cmd_address, t.m_wt_cmd_chunk, t.m_wt_cmd_count1, t.m_wt_cmd_stride1, t.m_wt_cmd_count2, t.m_wt_cmd_stride2};
        rdRule_.check(cycle_, t.m_rd_cmd_valid, t.m_rd_cmd_ready, rd);
        wtRule_.check(cycle_, t.m_wt_cmd_valid, t.m_wt_cmd_ready, wt);
        wrRule_.check(cycle_, t.m_wr_cmd_valid, t.m_wr_cmd_ready, wr);
        const bool beatIn = t.s_axis_tvalid && t.s_axis_tready;
        const bool weightIn = t.s_axis_wt_tvalid && t.s_axis_wt_tready;
        const bool beatOut = t.m_axis_tvalid && t.m_axis_tready;
        if (t.m_axis_tvalid) {
            portBytes(t.m_axis_tdata, out_.data);
            for (size_t b = 0; b < out_.keep.size(); ++b) out_.keep[b] = portBit(t.m_axis_tkeep, b);
            out_.last = t.m_axis_tlast;
        }
        outRule_.check(cycle_, t.m_axis_tvalid, t.m_axis_tready, out_);
        const AxiLiteSlavePins s{bool(t.s_axil_awready), bool(t.s_axil_wready), bool(t.s_axil_bvalid), bool(t.s_axil_arready),
                                 bool(t.s_axil_rvalid), t.s_axil_bresp, t.s_axil_rdata, t.s_axil_rresp};
        const bool recordDone = t.trace_record_done;
        const uint32_t traceLayer = t.trace_layer;
        if (t.irq && !irq_) irqCycle_ = cycle_;
        irq_ = t.irq;
        RecordStats& stats = recordsDone_ < summary_.records.size() ? summary_.records[recordsDone_] : summary_.tail;
        if (running_) {
            ++stats.cycles;
            // Waiting on memory: the accelerator would take a beat, a read is outstanding, none is offered.
            if (t.s_axis_tready && !t.s_axis_tvalid && mover_.readsPending(DataMover::data)) ++stats.inputStall;
            if (t.m_axis_tvalid && !t.m_axis_tready) ++stats.outputStall;
        }

        t.clk = 1;
        t.eval();
        dump(2 * cycle_ + 1);

        if (rdCmd) mover_.acceptReadCommand(rd);
        if (wtCmd) mover_.acceptReadCommand(wt, DataMover::weights);
        if (wrCmd) mover_.acceptWriteCommand(wr);
        if (beatIn) {
            uint64_t before = mover_.bytesRead();
            mover_.readBeatTaken();
            stats.bytesRead += mover_.bytesRead() - before;
        }
        if (weightIn) {
            uint64_t before = mover_.bytesRead();
            mover_.readBeatTaken(DataMover::weights);
            stats.bytesRead += mover_.bytesRead() - before;
        }
        if (beatOut) stats.bytesWritten += mover_.writeBeat(out_.data, out_.keep, out_.last);
        host_.clock(s);
        ++cycle_;
        if (recordDone) recordFinished(traceLayer);
    }

    // The last finished layer's registers (docs/control.md, "AXI4-Lite register map") against the trace: a
    // layer is a run of consecutive records with the same trace_layer. The device's layer runs from the
    // cycle after the previous layer's last pass ended to its own last pass's end; the harness's records
    // run from the cycle after the previous trace_record_done pulse to their own pulse, one cycle later,
    // so a layer that is not the run's first has the same number of cycles in both. The first layer's
    // device count starts with the run's first busy cycle, so with one layer it is CYCLES.
    void checkLayerSnapshot(const DeviceCounters& d) const {
        uint64_t lastCycles = 0;
        for (uint64_t r = lastLayerFirstRecord_; r < summary_.records.size(); ++r) lastCycles += summary_.records[r].cycles;
        const uint64_t want = layerRuns_ > 1 ? lastCycles : d.cycles;
        const char* what = layerRuns_ > 1 ? "the harness's count from the previous layer's last trace_record_done pulse"
                                           : "CYCLES (the run has one layer)";
        if (d.layersDone != layerRuns_)
            throw HarnessError("LAYERS_DONE is " + std::to_string(d.layersDone) + ", but trace_layer showed " +
                               std::to_string(layerRuns_) + " layers (runs of equal consecutive values)");
        if (layerRuns_ == 0) return;
        if ((d.layerDoneIndex & 0xFFFF) != lastTraceLayer_)
            throw HarnessError("LAYER_DONE_INDEX is " + std::to_string(d.layerDoneIndex) + ", but the last trace_layer was " +
                               std::to_string(lastTraceLayer_));
        if (d.layerDoneCycles != uint32_t(want))
            throw HarnessError("LAYER_DONE_CYCLES is " + std::to_string(d.layerDoneCycles) + " for layer " +
                               std::to_string(lastTraceLayer_) + ", but " + what + " is " + std::to_string(want));
    }

    // Records finish in order, so the n-th trace_record_done pulse ends record n - 1.
    void recordFinished(uint32_t traceLayer) {
        const uint64_t record = recordsDone_++;
        if (!running_ || record >= spec_.recordCount)
            throw HarnessError("trace_record_done pulse " + std::to_string(record + 1) + " at cycle " + std::to_string(cycle_) +
                               ", but only " + std::to_string(spec_.recordCount) + " records were started");
        if (layerRuns_ == 0 || traceLayer != lastTraceLayer_) {
            ++layerRuns_;
            lastLayerFirstRecord_ = record;
            lastTraceLayer_ = traceLayer;
        }
        if (options_.verbose)
            std::printf("record %llu (layer %u) done at cycle %llu after %llu cycles\n", (unsigned long long)record, traceLayer,
                        (unsigned long long)cycle_, (unsigned long long)summary_.records[record].cycles);
        for (size_t k = 0; k < spec_.layers.size(); ++k) {
            const LayerCheck& l = spec_.layers[k];
            if (l.lastRecord != record) continue;
            // Informative only: the data decide pass or fail, but a disagreement points at the record
            // stream or the control unit.
            if (traceLayer != (l.index & 0xFFFF))
                std::printf("warning: record %llu ends layer %llu (%s) in sim.txt, but trace_layer says %u\n", (unsigned long long)record,
                            (unsigned long long)l.index, l.op.c_str(), traceLayer);
            if (l.onChip) {
                // Checked by `dsc compile` against the Reference in ControlModel; here only what
                // depends on it (later layers, the device output) shows whether the RTL agreed.
                std::printf("layer %llu (%s) ends on chip after record %llu, cycle %llu (not visible to the harness)\n",
                            (unsigned long long)l.index, l.op.c_str(), (unsigned long long)record, (unsigned long long)cycle_);
                continue;
            }
            const uint8_t* got = memory_.span(l.address, l.length, "layer check");
            const std::vector<uint8_t>& want = layerBytes_[k];
            for (uint64_t i = 0; i < l.length; ++i)
                if (got[i] != want[i])
                    throw HarnessError("layer " + std::to_string(l.index) + " (" + l.op + ") after record " + std::to_string(record) +
                                       " (cycle " + std::to_string(cycle_) + "): first mismatch at element " + std::to_string(i) +
                                       " (address " + hex(l.address + i) + "): expected " + std::to_string(int8_t(want[i])) +
                                       ", got " + std::to_string(int8_t(got[i])));
            std::printf("layer %llu (%s) matches after record %llu, cycle %llu\n", (unsigned long long)l.index, l.op.c_str(),
                        (unsigned long long)record, (unsigned long long)cycle_);
        }
    }

    const Options& options_;
    const SimSpec& spec_;
    Memory& memory_;
    VerilatedContext context_;
    std::unique_ptr<Vtop> top_;
#ifdef VTOP_TRACE
    std::unique_ptr<VerilatedFstC> fst_;
#endif
    DataMover mover_;
    AxiLiteHost host_;
    struct OutputBeat {
        std::vector<uint8_t> data;
        std::vector<bool> keep;
        bool last = false;
        bool operator==(const OutputBeat& o) const { return data == o.data && keep == o.keep && last == o.last; }
    };
    OutputBeat out_;
    HandshakeRule<MoverCommand> rdRule_{"m_rd_cmd"}, wtRule_{"m_wt_cmd"}, wrRule_{"m_wr_cmd"};
    HandshakeRule<OutputBeat> outRule_{"m_axis"};
    std::vector<std::vector<uint8_t>> layerBytes_;
    RunSummary summary_;
    uint64_t cycle_ = 0, startCycle_ = 0, irqCycle_ = 0, recordsDone_ = 0;
    uint64_t layerRuns_ = 0, lastLayerFirstRecord_ = 0;   // layers seen on trace_layer, the last one's first record
    uint32_t lastTraceLayer_ = 0;
    bool running_ = false, irq_ = false;
};

// A control record's bytes (docs/control.md).
constexpr uint64_t recordBytes = 128;

void checkInImage(uint64_t imageBytes, const std::string& file, const char* what, uint64_t address, uint64_t length) {
    if (length == 0 || address + length <= imageBytes) return;
    throw HarnessError("memory image " + file + " is " + std::to_string(imageBytes) + " bytes, but sim.txt puts " + what + " at bytes " +
                       std::to_string(address) + " ... " + std::to_string(address + length - 1) + " (is it cut short?)");
}

// Loads the folder into memory and returns whether the device output matched.
bool runFolder(const Options& options) {
    const SimSpec spec = readSimSpec(options.dir);
    Memory memory;
    memory.load(spec.memoryFile);
    // The program and the weights come from the image itself: where they lie past its end the image
    // is cut short, and the run would fetch zeros and stop on a bad record far from the cause.
    checkInImage(memory.size(), spec.memoryFile, "the records", spec.recordBase, spec.recordCount * recordBytes);
    checkInImage(memory.size(), spec.memoryFile, "the weight stream", spec.weightBase, spec.weightBeats * spec.streamBytes);
    memory.place(spec.inputAddress, readFile(spec.inputFile, "input"));
    const std::vector<uint8_t> expected = readFile(spec.expectedFile, "expected output");
    if (expected.size() != spec.outputLength)
        throw HarnessError(spec.expectedFile + ": " + std::to_string(expected.size()) + " bytes, but sim.txt's output says " +
                           std::to_string(spec.outputLength));
    memory.cover(spec.outputAddress, spec.outputLength);
    for (const LayerCheck& l : spec.layers) memory.cover(l.address, l.length);

    Harness harness(options, spec, memory);
    const RunSummary summary = harness.run();
    const std::vector<uint8_t> got = memory.slice(spec.outputAddress, spec.outputLength, "output");
    writeFile(spec.outputFile, got);
    printReport(spec, summary);
    for (size_t i = 0; i < got.size(); ++i)
        if (got[i] != expected[i]) {
            std::fprintf(stderr, "Vtop: FAIL: %s differs from %s at element %zu: expected %d, got %d\n", spec.outputFile.c_str(),
                         spec.expectedFile.c_str(), i, int(int8_t(expected[i])), int(int8_t(got[i])));
            return false;
        }
    std::printf("PASS: %s matches %s (%zu bytes, bandwidth %.4g B/cycle, latency %u, backpressure %.3g, seed %llu)\n",
                spec.outputFile.c_str(), spec.expectedFile.c_str(), got.size(), options.bandwidth, options.latency,
                options.backpressure, (unsigned long long)options.seed);
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        const Options options = parseOptions(argc, argv);
        if (options.help) {
            std::fputs(usageText, stdout);
            return 0;
        }
        return runFolder(options) ? 0 : 1;
    } catch (const HarnessError& e) {
        std::fflush(stdout);
        std::fprintf(stderr, "Vtop: error: %s\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        std::fflush(stdout);
        std::fprintf(stderr, "Vtop: error: %s\n", e.what());
        return 1;
    }
}
