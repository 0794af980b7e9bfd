#include "Memory.h"

#include <cstdio>
#include <fstream>
#include <iterator>

#include "HarnessError.h"

std::vector<uint8_t> readFile(const std::string& path, const char* what) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw HarnessError(std::string(what) + " " + path + ": cannot read");
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void writeFile(const std::string& path, const std::vector<uint8_t>& data) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(data.data()), std::streamsize(data.size()));
    if (!out) throw HarnessError(path + ": cannot write");
}

void Memory::load(const std::string& path) { bytes_ = readFile(path, "memory image"); }

void Memory::cover(uint64_t address, uint64_t length) {
    if (address + length > bytes_.size()) bytes_.resize(address + length, 0);
}

void Memory::place(uint64_t address, const std::vector<uint8_t>& data) {
    cover(address, data.size());
    std::copy(data.begin(), data.end(), bytes_.begin() + long(address));
}

uint8_t* Memory::span(uint64_t address, uint64_t length, const char* who) {
    if (address > bytes_.size() || length > bytes_.size() - address) {
        char text[160];
        std::snprintf(text, sizeof text, "%s: bytes 0x%llx ... 0x%llx are outside the memory image (0x%llx bytes)", who,
                      (unsigned long long)address, (unsigned long long)(address + length - 1), (unsigned long long)bytes_.size());
        throw HarnessError(text);
    }
    return bytes_.data() + address;
}

std::vector<uint8_t> Memory::slice(uint64_t address, uint64_t length, const char* who) {
    const uint8_t* p = span(address, length, who);
    return std::vector<uint8_t>(p, p + length);
}
