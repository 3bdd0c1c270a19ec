#include "job_source.hpp"

#include <cinttypes>
#include <cstdio>
#include <random>

namespace corsair::bench {

JobSource::JobSource(std::uint64_t seed, std::size_t payload_bytes) : payload_bytes_(payload_bytes) {
    std::mt19937_64 random(seed);
    char text[17];
    std::snprintf(text, sizeof text, "%016" PRIx64, random());
    prefix_ = text;
    payloads_.resize(kDistinctPayloads * payload_bytes_);
    std::uniform_int_distribution<int> printable('!', '~');
    for (auto& byte : payloads_) byte = static_cast<char>(printable(random));
}

std::string JobSource::job_id(std::uint64_t n) const { return prefix_ + "-" + std::to_string(n); }

std::string_view JobSource::payload(std::uint64_t n) const {
    return std::string_view(payloads_).substr((n % kDistinctPayloads) * payload_bytes_, payload_bytes_);
}

}  // namespace corsair::bench
