// The direct transport's reading side (protocol/stream.hpp) on arbitrary bytes, as the broker's
// DirectServer reads a connection: the first 8 bytes as a greeting, the rest as a stream of
// messages cut as they arrive, in pieces of sizes the input's first byte picks. Whatever the
// bytes and however they are split, the reader must give the same messages and the same end
// (incomplete or malformed, never a crash or a hang); each message framed again must be exactly
// the bytes it was cut from; and decode() must take each message without crashing.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "corsair/protocol/protocol.hpp"
#include "corsair/protocol/stream.hpp"
#include "fuzz_input.hpp"

namespace {

namespace p = corsair::protocol;
namespace stream = corsair::protocol::stream;
using corsair::fuzz::check;

// A small frame limit, so that the over-the-limit refusal is reachable with small inputs.
constexpr std::size_t kMaxFrameBytes = 4096;

struct Cut {
    std::vector<std::vector<std::string>> messages;
    stream::MessageReader::Next end = stream::MessageReader::Next::incomplete;
    std::string problem;
};

std::vector<std::string> bytes_of(const p::Frames& frames) {
    std::vector<std::string> out;
    for (const auto& frame : frames) out.emplace_back(static_cast<const char*>(frame.data()), frame.size());
    return out;
}

// Feeds `bytes` to a reader `step` bytes at a time, cutting every whole message out as it comes.
Cut cut(std::string_view bytes, std::size_t step) {
    Cut result;
    stream::MessageReader reader(kMaxFrameBytes);
    p::Frames frames;
    for (std::size_t at = 0; at < bytes.size() || at == 0; at += step) {
        const std::size_t count = std::min(step, bytes.size() - at);
        if (count > 0) {
            std::memcpy(reader.space(count), bytes.data() + at, count);
            reader.commit(count);
        }
        for (;;) {
            result.end = reader.next(frames, result.problem);
            if (result.end != stream::MessageReader::Next::message) break;
            result.messages.push_back(bytes_of(frames));
        }
        if (result.end == stream::MessageReader::Next::malformed || bytes.empty()) break;
    }
    return result;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 64 * 1024) return -1;
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    std::string problem;
    const auto role = stream::parse_greeting(input.substr(0, stream::kGreetingBytes), problem);
    check(role.has_value() || !problem.empty(), "a refused greeting without a reason");
    if (input.size() <= stream::kGreetingBytes) return 0;
    const std::string_view rest = input.substr(stream::kGreetingBytes);
    const std::size_t step = 1 + static_cast<std::uint8_t>(input[0]) % 64;

    const Cut whole = cut(rest, rest.size());
    const Cut pieces = cut(rest, step);
    check(whole.messages == pieces.messages, "the messages depend on how the bytes arrive");
    check(whole.end == pieces.end, "the end of the stream depends on how the bytes arrive");
    check(whole.end != stream::MessageReader::Next::malformed || !whole.problem.empty(),
          "a malformed stream without a reason");

    // Framed again, the messages are exactly the bytes they were cut from.
    std::string framed;
    for (const auto& message : whole.messages) {
        check(!message.empty() && message.size() <= stream::kMaxStreamFrames, "a message with a frame count out of range");
        p::Frames frames;
        for (const auto& frame : message) {
            check(frame.size() <= kMaxFrameBytes, "a frame over the limit was taken");
            frames.emplace_back(frame.data(), frame.size());
        }
        stream::append_message(framed, frames);
        auto decoded = p::decode(frames, 0, p::DecodeLimits{kMaxFrameBytes});
        if (!decoded) check(!p::to_string(decoded.error().code).empty(), "a decode error without a code name");
    }
    check(rest.substr(0, framed.size()) == framed, "a message framed again differs from the bytes it came from");
    return 0;
}
