// protocol::decode over every command. The input is a multipart message (fuzz_input.hpp's
// length-prefixed frames), so every command, frame count and frame size is reachable. decode()
// must return a typed error or a message; a message must encode to frames that decode again, to
// the same message: encoding those a second time gives the very same bytes.
#include <cstdint>
#include <string>
#include <vector>

#include "corsair/protocol/protocol.hpp"
#include "fuzz_input.hpp"

namespace {

namespace p = corsair::protocol;
using corsair::fuzz::check;

std::vector<std::string> bytes_of(const p::Frames& frames) {
    std::vector<std::string> out;
    out.reserve(frames.size());
    for (const auto& frame : frames) out.emplace_back(static_cast<const char*>(frame.data()), frame.size());
    return out;
}

p::Frames frames_of(const std::vector<std::string>& parts) {
    p::Frames frames;
    for (const auto& part : parts) frames.emplace_back(part.data(), part.size());
    return frames;
}

// A small payload limit, so that payload_too_large is reachable with small inputs.
constexpr p::DecodeLimits kLimits{4096};

void check_round_trip(p::Message&& first) {
    const p::Command command = p::command_of(first);
    const std::string name(p::to_string(command));
    p::Frames encoded;
    p::encode_into(std::move(first), encoded);
    const auto encoded_bytes = bytes_of(encoded);
    auto again = frames_of(encoded_bytes);
    auto second = p::decode(again, 0, kLimits);
    if (!second) {
        corsair::fuzz::fail(name + " decoded, but its encoding does not: " +
                            std::string(p::to_string(second.error().code)) + " " + second.error().detail);
    }
    check(p::command_of(second.value()) == command, name + " came back as another command");
    p::Frames reencoded;
    p::encode_into(std::move(second).value(), reencoded);
    check(bytes_of(reencoded) == encoded_bytes, name + " re-encodes to other bytes after a round trip");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto parts = corsair::fuzz::split_frames(std::string_view(reinterpret_cast<const char*>(data), size));
    if (parts.size() > 64) return -1;  // beyond any batch the seeds hold; keeps runs fast
    p::Frames frames;
    for (const auto part : parts) frames.emplace_back(part.data(), part.size());
    auto decoded = p::decode(frames, 0, kLimits);
    if (!decoded) {
        check(!p::to_string(decoded.error().code).empty(), "a decode error without a code name");
        return 0;
    }
    check_round_trip(std::move(decoded).value());
    return 0;
}
