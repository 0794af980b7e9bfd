// Writes a tiny `dsc compile`-style folder of copy passes (docs/control.md) for testing the harness:
// four records in three "layers" over a 6 × 5 × 7 image, in the sim.txt format. The expected bytes are
// computed here from the copy-pass semantics, independently of the harness and of any RTL.
//
//   make_case DIR [--stream-bytes 16|32|256] [--corrupt-layer K] [--corrupt-expected] [--bad-magic]
//                 [--fault N] [--with-fill] [--repeat N]
// --fault N      record 1 asks the stand-in top (sim/test/AcceleratorTop.v) for protocol fault N (word 25)
// --with-fill    adds layer 9: a copy whose region overhangs the image by one position on every side
//                (fill beats; the stand-in top refuses it, the real control unit runs it)
// --repeat N     runs the program N times over (copies are idempotent), for speed measurements
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/stat.h>
#include <vector>

namespace {

struct Args {
    std::string dir;
    uint32_t streamBytes = 16;
    int corruptLayer = -1, fault = 0, repeat = 1;
    bool corruptExpected = false, badMagic = false, withFill = false;
};

[[noreturn]] void fail(const std::string& why) {
    std::fprintf(stderr, "make_case: %s\n", why.c_str());
    std::exit(1);
}

uint32_t fnv1a(const uint8_t* p, size_t n) {
    uint32_t h = 0x811C9DC5u;
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x01000193u;
    return h;
}

struct Copy {   // one copy pass: region rows × cols from (row0, col0) of a rows × cols image
    int layer, rows, cols, row0, col0, imageRows, imageCols;
    uint32_t inAddress, inPixel, inRow, inChunk;
    int fill;
    uint32_t outChunk, outAddress, outPixel, outRow;
    int fault = 0;
    bool badMagic = false;
};

std::vector<uint8_t> encode(const Copy& c, uint32_t sequence) {
    uint32_t w[32] = {};
    w[0] = 2u | uint32_t(c.badMagic ? 0 : 0xC5) << 24;   // op 2: copy pass
    w[1] = uint32_t(c.layer);
    w[2] = uint32_t(c.rows) | uint32_t(c.cols) << 16;
    w[3] = (uint32_t(c.row0) & 0xFFFF) | (uint32_t(c.col0) & 0xFFFF) << 16;
    w[4] = uint32_t(c.imageRows) | uint32_t(c.imageCols) << 16;
    w[5] = c.inAddress; w[6] = c.inPixel; w[7] = c.inRow;
    w[8] = (c.inChunk & 0xFF) | (uint32_t(c.fill) & 0xFF) << 8 | (c.outChunk & 0xFF) << 16;
    w[24] = (c.inChunk >> 8 & 1) << 25 | (c.outChunk >> 8 & 1) << 26;   // a chunk of 256 (B = 256)
    w[12] = c.outAddress; w[13] = c.outPixel; w[14] = c.outRow;
    w[15] = uint32_t(c.rows) | uint32_t(c.cols) << 16;   // copies: output shape = region shape
    w[25] = uint32_t(c.fault);                            // stand-in only: protocol fault to inject
    w[30] = sequence;
    std::vector<uint8_t> bytes(128);
    for (int i = 0; i < 31; ++i)
        for (int k = 0; k < 4; ++k) bytes[4 * i + k] = uint8_t(w[i] >> (8 * k));
    w[31] = fnv1a(bytes.data(), 124);
    for (int k = 0; k < 4; ++k) bytes[124 + k] = uint8_t(w[31] >> (8 * k));
    return bytes;
}

// The copy-pass semantics: fill positions are all fillValue, bytes at or above inChunk read as fillValue.
void execute(const Copy& c, std::vector<uint8_t>& mem) {
    for (int r = 0; r < c.rows; ++r)
        for (int col = 0; col < c.cols; ++col) {
            int ir = c.row0 + r, ic = c.col0 + col;
            bool inside = ir >= 0 && ir < c.imageRows && ic >= 0 && ic < c.imageCols;
            uint64_t src = c.inAddress + uint64_t(ir) * c.inRow + uint64_t(ic) * c.inPixel;
            uint64_t dst = c.outAddress + uint64_t(r) * c.outRow + uint64_t(col) * c.outPixel;
            for (uint32_t b = 0; b < c.outChunk; ++b) mem[dst + b] = inside && b < c.inChunk ? mem[src + b] : uint8_t(c.fill);
        }
}

void writeFile(const std::string& path, const std::vector<uint8_t>& data) {
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f || std::fwrite(data.data(), 1, data.size(), f) != data.size() || std::fclose(f) != 0) fail(path + ": cannot write");
}

int number(const char* flag, const char* text) {
    char* end = nullptr;
    long v = std::strtol(text, &end, 0);
    if (end == text || *end != '\0' || v < 0 || v > 1000000) fail(std::string(flag) + " " + text + ": not a small non-negative integer");
    return int(v);
}

Args parse(int argc, char** argv) {
    Args a;
    for (int i = 1; i < argc; ++i) {
        std::string s = argv[i];
        auto value = [&]() -> const char* {
            if (i + 1 >= argc) fail(s + ": needs a value");
            return argv[++i];
        };
        if (s == "--stream-bytes") a.streamBytes = uint32_t(number("--stream-bytes", value()));
        else if (s == "--corrupt-layer") a.corruptLayer = number("--corrupt-layer", value());
        else if (s == "--fault") a.fault = number("--fault", value());
        else if (s == "--repeat") a.repeat = number("--repeat", value());
        else if (s == "--corrupt-expected") a.corruptExpected = true;
        else if (s == "--bad-magic") a.badMagic = true;
        else if (s == "--with-fill") a.withFill = true;
        else if (s.rfind("--", 0) == 0 || !a.dir.empty()) fail("unexpected argument " + s);
        else a.dir = s;
    }
    if (a.dir.empty()) fail("usage: make_case DIR [options]");
    if (a.streamBytes != 16 && a.streamBytes != 32 && a.streamBytes != 256) fail("--stream-bytes must be 16, 32 or 256");
    if (a.repeat < 1) fail("--repeat must be at least 1");
    return a;
}

}  // namespace

int main(int argc, char** argv) {
    const Args a = parse(argc, argv);
    const uint32_t B = a.streamBytes;
    const uint32_t base = 0x8000, inp = 0x1000, mid = 0x2000, pad = 0x3000, out = 0x4000, framed = 0x4800;
    uint64_t rng = 7;   // SplitMix64
    auto random = [&rng]() {
        uint64_t z = (rng += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    };
    std::vector<uint8_t> image(6 * 40);   // 6 × 5 pixels at an 8-byte pitch, 7 bytes used
    for (uint8_t& x : image) x = uint8_t(random());
    std::vector<uint8_t> mem(0x5000, 0);
    std::copy(image.begin(), image.end(), mem.begin() + inp);

    std::vector<Copy> program;
    // Layer 3: rows 0-2 and 3-5 of the input into a compact 6 × 5 × 7 tensor (row0 = 3 in the second).
    for (int r0 : {0, 3}) {
        Copy c{3, 3, 5, r0, 0, 6, 5, inp, 8, 40, 7, 0, 7, mid + uint32_t(r0) * 35, 7, 35};
        if (r0 == 3) c.fault = a.fault;
        program.push_back(c);
    }
    // Layer 5: widen to 9 bytes per position; bytes 7 and 8 read as fillValue -3.
    Copy widen{5, 6, 5, 0, 0, 6, 5, mid, 7, 35, 7, -3, 9, pad, 9, 45};
    widen.badMagic = a.badMagic;
    program.push_back(widen);
    // Layer 7: whole stream beats (chunk B) of the widened tensor, 240 bytes (one beat of 256 at B = 256).
    const int n = std::max(1, int(240 / B));
    program.push_back(Copy{7, 1, n, 0, 0, 1, n, pad, B, 0, B, 0, B, out, B, 0});
    struct Layer { int index; const char* op; int macs; uint64_t lastRecord; uint32_t address, length; };
    std::vector<Layer> layers = {{3, "COPY", 1000, 1, mid, 210}, {5, "COPY_PAD", 2000, 2, pad, 270}, {7, "COPY_WIDE", 3000, 3, out, 240}};
    if (a.withFill) {
        // Layer 9: the compact tensor framed by fill: region 8 × 7 from (-1, -1), 8 bytes out.
        program.push_back(Copy{9, 8, 7, -1, -1, 6, 5, mid, 7, 35, 7, -128, 8, framed, 8, 56});
        layers.push_back({9, "COPY_FRAME", 0, 4, framed, 448});
    }
    mem.resize(0x6000, 0);
    for (const Copy& c : program) execute(c, mem);

    const size_t records = program.size() * size_t(a.repeat);
    std::vector<uint8_t> memoryImage(std::max<size_t>(0x4000, base + 128 * records), 0);
    for (size_t i = 0; i < records; ++i) {
        std::vector<uint8_t> r = encode(program[i % program.size()], uint32_t(i));
        std::copy(r.begin(), r.end(), memoryImage.begin() + long(base + 128 * i));
    }
    mkdir(a.dir.c_str(), 0755);
    mkdir((a.dir + "/layers").c_str(), 0755);
    writeFile(a.dir + "/memory.bin", memoryImage);
    writeFile(a.dir + "/input.bin", image);
    std::string text = "# written by sim/test/make_case.cpp\nstream_bytes " + std::to_string(B) +
                       "\nclock_mhz 150\nmultipliers 144  # 9 x 4 x 4\nmemory memory.bin\n";
    char line[200];
    std::snprintf(line, sizeof line, "records 0x%x %zu\ninput input.bin 0x%x\noutput device_output.bin %u 240 expected_device.bin\n", base,
                  records, inp, out);
    text += line;
    for (const Layer& l : layers) {
        std::vector<uint8_t> data(mem.begin() + l.address, mem.begin() + l.address + l.length);
        if (a.corruptLayer == l.index) data[17] ^= 0x40;
        writeFile(a.dir + "/layers/" + std::to_string(l.index) + ".bin", data);
        // The layer lines name the last repetition's records.
        std::snprintf(line, sizeof line, "layer %d %s %d %llu %u %u layers/%d.bin\n", l.index, l.op, l.macs,
                      (unsigned long long)(l.lastRecord + program.size() * size_t(a.repeat - 1)), l.address, l.length, l.index);
        text += line;
    }
    std::vector<uint8_t> expected(mem.begin() + out, mem.begin() + out + 240);
    if (a.corruptExpected) expected[100] ^= 0x01;
    writeFile(a.dir + "/expected_device.bin", expected);
    writeFile(a.dir + "/sim.txt", std::vector<uint8_t>(text.begin(), text.end()));
    return 0;
}
