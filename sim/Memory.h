// The external memory (DDR on a board): a flat byte array, loaded from memory.bin. Every access is
// bounds-checked, so a wrong address from the accelerator is an error naming it, never a crash.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

class Memory {
public:
    void load(const std::string& path);
    // Grows the memory (zero-filled) so that [address, address + length) exists.
    void cover(uint64_t address, uint64_t length);
    void place(uint64_t address, const std::vector<uint8_t>& data);
    uint8_t* span(uint64_t address, uint64_t length, const char* who);
    std::vector<uint8_t> slice(uint64_t address, uint64_t length, const char* who);
    uint64_t size() const { return bytes_.size(); }

private:
    std::vector<uint8_t> bytes_;
};

std::vector<uint8_t> readFile(const std::string& path, const char* what);
void writeFile(const std::string& path, const std::vector<uint8_t>& data);
