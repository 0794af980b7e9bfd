// Byte and bit access to Verilator port values of any width: ports up to 64 bits are integers,
// wider ones VlWide<N> (N 32-bit words, least significant first). The stream ports are 8·B bits wide
// and tkeep is B bits, so which representation a port has depends on the configuration.
#pragma once
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "verilated.h"

template <class T, std::enable_if_t<std::is_integral<T>::value, int> = 0>
inline uint32_t portWord(const T& v, size_t i) {
    return i < (sizeof(T) + 3) / 4 ? uint32_t(uint64_t(v) >> (32 * i)) : 0;
}
template <std::size_t N>
inline uint32_t portWord(const VlWide<N>& v, size_t i) {
    return i < N ? v.m_storage[i] : 0;
}

template <class T>
inline bool portBit(const T& v, size_t i) {
    return (portWord(v, i / 32) >> (i % 32)) & 1;
}

template <class T>
inline void portBytes(const T& v, std::vector<uint8_t>& out) {
    for (size_t b = 0; b < out.size(); ++b) out[b] = uint8_t(portWord(v, b / 4) >> (8 * (b % 4)));
}

template <class T, std::enable_if_t<std::is_integral<T>::value, int> = 0>
inline void setPortBytes(T& v, const std::vector<uint8_t>& in) {
    uint64_t x = 0;
    for (size_t b = 0; b < sizeof(T) && b < in.size(); ++b) x |= uint64_t(in[b]) << (8 * b);
    v = T(x);
}
template <std::size_t N>
inline void setPortBytes(VlWide<N>& v, const std::vector<uint8_t>& in) {
    for (size_t w = 0; w < N; ++w) {
        uint32_t x = 0;
        for (size_t k = 0; k < 4 && 4 * w + k < in.size(); ++k) x |= uint32_t(in[4 * w + k]) << (8 * k);
        v.m_storage[w] = x;
    }
}
