// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of every journal record.
// Pure functions, safe on any thread. Uses the SSE4.2 crc32 instruction when the CPU has it
// (checked once at run time) and portable slicing-by-8 tables otherwise; both give the same value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace corsair::broker {

// The CRC-32C of `size` bytes, continuing from `crc` (the value returned for the bytes before
// them; 0 to start). crc32c("123456789") == 0xE3069283.
std::uint32_t crc32c(const void* data, std::size_t size, std::uint32_t crc = 0) noexcept;

inline std::uint32_t crc32c(std::string_view bytes, std::uint32_t crc = 0) noexcept {
    return crc32c(bytes.data(), bytes.size(), crc);
}

// The table-driven version alone, whatever the CPU: lets tests check the two paths agree.
std::uint32_t crc32c_portable(const void* data, std::size_t size, std::uint32_t crc = 0) noexcept;

}  // namespace corsair::broker
