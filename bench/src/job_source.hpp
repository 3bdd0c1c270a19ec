// Job ids and payloads drawn from the seed, so that runs repeat and Corsair and the ceiling carry
// messages of exactly the same sizes. Owned by the thread that submits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace corsair::bench {

class JobSource {
public:
    JobSource(std::uint64_t seed, std::size_t payload_bytes);

    // "<16 hex digits>-<n>": the shape of the producer library's own ids (Producer::new_job_id).
    std::string job_id(std::uint64_t n) const;
    // payload_bytes() bytes of seeded noise; the same n gives the same bytes.
    std::string_view payload(std::uint64_t n) const;
    std::size_t payload_bytes() const noexcept { return payload_bytes_; }

private:
    static constexpr std::size_t kDistinctPayloads = 1024;
    std::string prefix_;
    std::size_t payload_bytes_;
    std::string payloads_;  // kDistinctPayloads payloads back to back
};

}  // namespace corsair::bench
