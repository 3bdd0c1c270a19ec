#include "crc32c.hpp"

#include <array>
#include <bit>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>
#define CORSAIR_CRC32C_HAS_SSE42 1
#endif

namespace corsair::broker {

namespace {

constexpr std::uint32_t kPolynomial = 0x82F63B78u;  // Castagnoli, bit-reversed

using Tables = std::array<std::array<std::uint32_t, 256>, 8>;

// tables[k][b] is the CRC of byte b followed by k zero bytes, so eight bytes fold in one step.
constexpr Tables make_tables() {
    Tables tables{};
    for (std::uint32_t b = 0; b < 256; ++b) {
        std::uint32_t crc = b;
        for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1u) ? kPolynomial : 0u);
        tables[0][b] = crc;
    }
    for (std::size_t k = 1; k < 8; ++k) {
        for (std::uint32_t b = 0; b < 256; ++b) {
            const std::uint32_t previous = tables[k - 1][b];
            tables[k][b] = (previous >> 8) ^ tables[0][previous & 0xFFu];
        }
    }
    return tables;
}

constexpr Tables kTables = make_tables();

std::uint32_t load_le32(const unsigned char* p) noexcept {
    std::uint32_t value;
    std::memcpy(&value, p, sizeof value);
    if constexpr (std::endian::native == std::endian::big) {
        value = (value >> 24) | ((value >> 8) & 0xFF00u) | ((value << 8) & 0xFF0000u) | (value << 24);
    }
    return value;
}

#ifdef CORSAIR_CRC32C_HAS_SSE42
__attribute__((target("sse4.2"))) std::uint32_t crc32c_sse42(const void* data, std::size_t size,
                                                             std::uint32_t crc) noexcept {
    const auto* p = static_cast<const unsigned char*>(data);
    std::uint64_t state = ~crc;
    for (; size >= 8; p += 8, size -= 8) {
        std::uint64_t word;
        std::memcpy(&word, p, sizeof word);
        state = _mm_crc32_u64(state, word);
    }
    auto state32 = static_cast<std::uint32_t>(state);
    for (; size > 0; ++p, --size) state32 = _mm_crc32_u8(state32, *p);
    return ~state32;
}
#endif

using Crc32cFunction = std::uint32_t (*)(const void*, std::size_t, std::uint32_t) noexcept;

Crc32cFunction choose_implementation() noexcept {
#ifdef CORSAIR_CRC32C_HAS_SSE42
    if (__builtin_cpu_supports("sse4.2")) return &crc32c_sse42;
#endif
    return &crc32c_portable;
}

}  // namespace

std::uint32_t crc32c_portable(const void* data, std::size_t size, std::uint32_t crc) noexcept {
    const auto* p = static_cast<const unsigned char*>(data);
    crc = ~crc;
    for (; size >= 8; p += 8, size -= 8) {
        const std::uint32_t low = crc ^ load_le32(p);
        const std::uint32_t high = load_le32(p + 4);
        crc = kTables[7][low & 0xFFu] ^ kTables[6][(low >> 8) & 0xFFu] ^ kTables[5][(low >> 16) & 0xFFu] ^
              kTables[4][low >> 24] ^ kTables[3][high & 0xFFu] ^ kTables[2][(high >> 8) & 0xFFu] ^
              kTables[1][(high >> 16) & 0xFFu] ^ kTables[0][high >> 24];
    }
    for (; size > 0; ++p, --size) crc = (crc >> 8) ^ kTables[0][(crc ^ *p) & 0xFFu];
    return ~crc;
}

std::uint32_t crc32c(const void* data, std::size_t size, std::uint32_t crc) noexcept {
    static const Crc32cFunction implementation = choose_implementation();
    return implementation(data, size, crc);
}

}  // namespace corsair::broker
