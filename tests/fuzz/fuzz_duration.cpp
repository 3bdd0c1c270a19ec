// The duration grammar (protocol/duration.hpp). Any text: parse_duration() gives nullopt or a
// duration in [0, kMaxDurationMicroseconds], whose format_duration() parses back to it and is
// already in its shortest form. Any count of microseconds in range: format, then parse, gives
// it back. The input is the text itself; its first 8 bytes are also read as a count.
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "corsair/protocol/duration.hpp"
#include "fuzz_input.hpp"

namespace {

namespace p = corsair::protocol;
using corsair::fuzz::check;

void check_formatted(std::chrono::microseconds duration) {
    const std::string text = p::format_duration(duration);
    const auto back = p::parse_duration(text);
    check(back.has_value(), "format_duration gave '" + text + "', which does not parse");
    check(*back == duration, "'" + text + "' parses to " + std::to_string(back->count()) + "us, not " +
                                 std::to_string(duration.count()) + "us");
    check(p::format_duration(*back) == text, "'" + text + "' is not in its shortest form");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    if (const auto parsed = p::parse_duration(text)) {
        check(parsed->count() >= 0 && parsed->count() <= p::kMaxDurationMicroseconds,
              "'" + std::string(text) + "' parsed out of range: " + std::to_string(parsed->count()) + "us");
        check_formatted(*parsed);
    }
    if (size >= 8) {
        std::uint64_t raw = 0;
        std::memcpy(&raw, data, sizeof raw);
        const auto count = static_cast<std::int64_t>(raw % (static_cast<std::uint64_t>(p::kMaxDurationMicroseconds) + 1));
        check_formatted(std::chrono::microseconds{count});
    }
    return 0;
}
