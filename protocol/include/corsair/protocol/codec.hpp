// encode() turns a message into frames; decode() validates frames and returns a Message or a
// typed DecodeError. decode() never throws: every msgpack failure becomes an error code.
//
// Frames (docs/protocol.md §3):
//   0  signature  4 bytes: 'C' 'S' 'R' version
//   1  command    1 byte, a Command code
//   2  header     one msgpack map with string keys: the message's fields (message_fields.hpp)
//   3+ as the command's FrameRule in kCommands says: none; one payload (for STATS_REPLY and
//      DEAD_REPLY a msgpack body); or one payload per entry of a batch's list, or with the
//      header's `packed` every payload of the batch in one frame (§3.1):
//        N sizes, 4 bytes each, little-endian, in entry order; then the N payloads back to back
#pragma once

#include <algorithm>
#include <array>
#include <cstring>
#include <msgpack.hpp>
#include <new>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>
#include <zmq.hpp>

#include "corsair/protocol/command.hpp"
#include "corsair/protocol/error_code.hpp"
#include "corsair/protocol/limits.hpp"
#include "corsair/protocol/message_fields.hpp"
#include "corsair/protocol/messages.hpp"
#include "corsair/protocol/msgpack_map.hpp"
#include "corsair/protocol/result.hpp"

namespace corsair::protocol {

using Frames = std::vector<zmq::message_t>;

struct DecodeLimits {
    std::size_t max_payload_bytes = kDefaultMaxPayloadBytes;
};

namespace detail {

template <class T>
inline constexpr FrameRule kFrameRuleOf = kCommands[row_of(T::kCommand)].frames;

// A FrameRule::payload message either holds its payload (a `payload` member) or has a msgpack
// body written from its fields (write_body/read_body in message_fields.hpp).
template <class T, class = void>
struct HasPayloadMember : std::false_type {};
template <class T>
struct HasPayloadMember<T, std::void_t<decltype(std::declval<T&>().payload)>> : std::true_type {};

// One string per thread, reused: a header is copied into its frame anyway, and a fresh buffer
// per message would be one malloc and free per message on the broker's hot path.
inline std::string& header_buffer() {
    thread_local std::string buffer = [] {
        std::string reserved;
        reserved.reserve(256);
        return reserved;
    }();
    buffer.clear();
    return buffer;
}

// A little-endian u32: the sizes of a packed frame, and the direct transport's lengths.
inline void set_u32(char* out, std::uint32_t value) noexcept {
    out[0] = static_cast<char>(value);
    out[1] = static_cast<char>(value >> 8);
    out[2] = static_cast<char>(value >> 16);
    out[3] = static_cast<char>(value >> 24);
}
inline std::uint32_t get_u32(const char* in) noexcept {
    const auto* bytes = reinterpret_cast<const unsigned char*>(in);
    return std::uint32_t{bytes[0]} | (std::uint32_t{bytes[1]} << 8) | (std::uint32_t{bytes[2]} << 16) |
           (std::uint32_t{bytes[3]} << 24);
}

// The packed frame of a batch's entries (§3.1), and its size; the entries keep their payloads.
template <class Entry>
std::size_t packed_frame_bytes(const std::vector<Entry>& entries) noexcept {
    std::size_t total = 4 * entries.size();
    for (const auto& entry : entries) total += entry.payload.size();
    return total;
}
template <class Entry>
zmq::message_t packed_frame(const std::vector<Entry>& entries, std::size_t total) {
    zmq::message_t packed(total);
    auto* out = static_cast<char*>(packed.data());
    for (const auto& entry : entries) {
        set_u32(out, static_cast<std::uint32_t>(entry.payload.size()));
        out += 4;
    }
    for (const auto& entry : entries) {
        if (entry.payload.size() != 0) std::memcpy(out, entry.payload.data(), entry.payload.size());
        out += entry.payload.size();
    }
    return packed;
}

template <class T>
zmq::message_t body_frame(const T& message) {
    std::string buffer;
    buffer.reserve(256);
    MapWriter writer(buffer);
    writer.begin_map();
    write_body(writer, message);
    writer.end();
    return zmq::message_t(buffer.data(), buffer.size());
}

}  // namespace detail

inline zmq::message_t signature_frame() {
    const char bytes[4] = {kSignature[0], kSignature[1], kSignature[2], static_cast<char>(kVersion)};
    return zmq::message_t(bytes, sizeof bytes);
}

// Appends the frames of `message` to `frames`, moving its payloads (no copy of their bytes).
template <class T>
void encode_into(T&& message, Frames& frames) {
    using Plain = std::decay_t<T>;
    static_assert(!std::is_same_v<Plain, Message>, "use encode_into(Message)");
    constexpr FrameRule rule = detail::kFrameRuleOf<Plain>;
    frames.push_back(signature_frame());
    const auto code = static_cast<std::uint8_t>(Plain::kCommand);
    frames.emplace_back(&code, 1);
    std::size_t packed_bytes = 0;
    if constexpr (rule == FrameRule::batch) {
        // Packed only when it fits: a larger batch travels a frame per payload, without copies.
        if (message.is_packed) {
            packed_bytes = detail::packed_frame_bytes(detail::batch_entries(message));
            message.is_packed = packed_bytes <= kMaxPackedFrameBytes;
        }
    }
    std::string& buffer = detail::header_buffer();
    MapWriter writer(buffer);
    writer.begin_map();
    detail::write(writer, message);
    writer.end();
    frames.emplace_back(buffer.data(), buffer.size());
    if constexpr (rule == FrameRule::batch) {
        auto& entries = detail::batch_entries(message);
        if (message.is_packed) {
            frames.push_back(detail::packed_frame(entries, packed_bytes));
        } else {
            for (auto& entry : entries) frames.push_back(std::move(entry.payload));
        }
    } else if constexpr (rule == FrameRule::payload && detail::HasPayloadMember<Plain>::value) {
        frames.push_back(std::move(message.payload));
    } else if constexpr (rule == FrameRule::payload) {
        frames.push_back(detail::body_frame(message));
    }
}

inline void encode_into(Message&& message, Frames& frames) {
    std::visit([&](auto&& m) { encode_into(std::move(m), frames); }, std::move(message));
}

template <class T>
Frames encode(T&& message) {
    Frames frames;
    frames.reserve(4);
    encode_into(std::forward<T>(message), frames);
    return frames;
}

namespace detail {

using DecodeResult = Result<Message, DecodeError>;

// Unpacks a body frame (STATS_REPLY, DEAD_REPLY, LIST_REPLY): one msgpack map, header bounds except that
// arrays may hold up to kMaxStatsEntries, and never more entries than the frame has bytes.
// Throws msgpack's errors, which decode() turns into bad_header.
inline msgpack::object_handle unpack_body(const zmq::message_t& body) {
    const std::size_t most = std::min(body.size(), kMaxStatsEntries);
    const msgpack::unpack_limit bounds(/*array=*/most, /*map=*/1024, /*str=*/kMaxHeaderBytes, /*bin=*/kMaxHeaderBytes,
                                       /*ext=*/kMaxHeaderBytes, /*depth=*/8);
    std::size_t offset = 0;
    msgpack::object_handle handle =
        msgpack::unpack(static_cast<const char*>(body.data()), body.size(), offset, nullptr, nullptr, bounds);
    if (offset != body.size()) throw msgpack::unpack_error("trailing bytes in body");
    if (handle.get().type != msgpack::type::MAP) throw msgpack::unpack_error("body not a map");
    return handle;
}

inline DecodeError batch_error(ErrorCode code, Command command, std::string_view problem) {
    return DecodeError{code, std::string(to_string(command)) + ": " + std::string(problem)};
}

// Splits a packed frame (§3.1) into the payloads of `entries`, copying each out: the sizes must
// cover the frame exactly, and each payload is bounded as a frame of its own would be.
template <class T, class Entry>
std::optional<DecodeError> unpack_payloads(const zmq::message_t& packed, std::vector<Entry>& entries,
                                           DecodeLimits limits) {
    const auto* in = static_cast<const char*>(packed.data());
    const std::size_t sizes_bytes = 4 * entries.size();
    if (packed.size() < sizes_bytes) {
        return batch_error(ErrorCode::bad_frame_count, T::kCommand, "the packed frame is shorter than its sizes");
    }
    std::size_t total = sizes_bytes;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const std::size_t size = get_u32(in + 4 * i);
        if (size > limits.max_payload_bytes) {
            return batch_error(ErrorCode::payload_too_large, T::kCommand, "a packed payload is over the limit");
        }
        total += size;
    }
    if (total != packed.size()) {
        return batch_error(ErrorCode::bad_frame_count, T::kCommand,
                           "the packed sizes add up to " + std::to_string(total) + " bytes, the frame has " +
                               std::to_string(packed.size()));
    }
    std::size_t offset = sizes_bytes;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const std::size_t size = get_u32(in + 4 * i);
        entries[i].payload = zmq::message_t(in + offset, size);
        offset += size;
    }
    return std::nullopt;
}

// Reads a message of type T from its header map and the frames after it, which start at
// frames[first_extra]. Payloads are moved out of `frames` only when the whole message is valid.
template <class T>
DecodeResult decode_as(const msgpack::object& header, Frames& frames, std::size_t first_extra, DecodeLimits limits) {
    constexpr FrameRule rule = kFrameRuleOf<T>;
    ReadStatus status;
    T message;
    read(MapReader(header, status), message);
    if constexpr (rule == FrameRule::payload && !HasPayloadMember<T>::value) {
        // The body is read after the header's fields.
        if (!status.failed()) {
            const msgpack::object_handle body = unpack_body(frames[first_extra]);
            read_body(MapReader(body.get(), status), message);
        }
    }
    if (status.failed()) return unexpected(status.error());
    if constexpr (rule == FrameRule::batch) {
        // Last: the header says how many payload frames there must be, or that there is one packed.
        auto& entries = batch_entries(message);
        const std::size_t count = frames.size() - first_extra;
        if (message.is_packed) {
            if (count != 1) {
                return unexpected(batch_error(ErrorCode::bad_frame_count, T::kCommand, "packed in one frame"));
            }
            if (auto error = unpack_payloads<T>(frames[first_extra], entries, limits)) {
                return unexpected(std::move(*error));
            }
            return Message(std::move(message));
        }
        if (count != entries.size()) {
            return unexpected(DecodeError{ErrorCode::bad_frame_count, std::string(to_string(T::kCommand))});
        }
        // decode() let one frame through up to the packed bound.
        if (count == 1 && frames[first_extra].size() > limits.max_payload_bytes) {
            return unexpected(DecodeError{ErrorCode::payload_too_large, "payload"});
        }
        for (std::size_t i = 0; i < entries.size(); ++i) entries[i].payload = std::move(frames[first_extra + i]);
    } else if constexpr (rule == FrameRule::payload && HasPayloadMember<T>::value) {
        message.payload = std::move(frames[first_extra]);
    }
    return Message(std::move(message));
}

using Decoder = DecodeResult (*)(const msgpack::object&, Frames&, std::size_t, DecodeLimits);

// decode_as for each Message alternative, which is also each row of kCommands.
template <std::size_t... Row>
constexpr std::array<Decoder, sizeof...(Row)> decoders(std::index_sequence<Row...>) {
    return {&decode_as<std::variant_alternative_t<Row, Message>>...};
}
inline constexpr auto kDecoders = decoders(std::make_index_sequence<kCommandCount>());

}  // namespace detail

// Validates frames[first..] (first skips routing frames on a ROUTER) and decodes one message.
// Payload frames, if any, are moved out of `frames`. Never throws.
inline Result<Message, DecodeError> decode(Frames& frames, std::size_t first = 0, DecodeLimits limits = {}) noexcept {
    try {
        if (frames.size() < first + 3) return unexpected(DecodeError{ErrorCode::bad_frame_count, "too few frames"});
        const auto& signature = frames[first];
        if (signature.size() != 4 || std::memcmp(signature.data(), kSignature, 3) != 0) {
            return unexpected(DecodeError{ErrorCode::bad_signature, "frame 0"});
        }
        if (static_cast<const std::uint8_t*>(signature.data())[3] != kVersion) {
            return unexpected(DecodeError{ErrorCode::unsupported_version, "frame 0"});
        }
        const auto& command_frame = frames[first + 1];
        if (command_frame.size() != 1) return unexpected(DecodeError{ErrorCode::unknown_command, "frame 1"});
        const CommandInfo* info = find_command(*static_cast<const std::uint8_t*>(command_frame.data()));
        if (info == nullptr) return unexpected(DecodeError{ErrorCode::unknown_command, "frame 1"});
        const std::size_t count = frames.size() - first;
        // A batch has at least one entry; its exact frame count is checked against the header.
        const bool is_right_count = info->frames == FrameRule::batch     ? count >= 4
                                    : info->frames == FrameRule::payload ? count == 4
                                                                         : count == 3;
        if (!is_right_count) return unexpected(DecodeError{ErrorCode::bad_frame_count, std::string(info->name)});
        const auto& header = frames[first + 2];
        if (header.size() > kMaxHeaderBytes) return unexpected(DecodeError{ErrorCode::bad_header, "header too large"});
        // A payload frame is bounded by the payload limit, a body frame too (STATS_REPLY, DEAD_REPLY,
        // LIST_REPLY). A batch's one frame may be packed, and is bounded by the larger limit here
        // and by the payload limit in decode_as() if the header says it is not.
        const std::size_t most_bytes = info->frames == FrameRule::batch && count == 4
                                           ? std::max(limits.max_payload_bytes, kMaxPackedFrameBytes)
                                           : limits.max_payload_bytes;
        for (std::size_t i = first + 3; i < frames.size(); ++i) {
            if (frames[i].size() > most_bytes) {
                return unexpected(DecodeError{ErrorCode::payload_too_large, "payload"});
            }
        }
        // Bounds on container sizes stop a 10-byte header from claiming a 4-billion-entry array.
        const msgpack::unpack_limit bounds(/*array=*/1024, /*map=*/1024, /*str=*/kMaxHeaderBytes,
                                           /*bin=*/kMaxHeaderBytes,
                                           /*ext=*/kMaxHeaderBytes, /*depth=*/8);
        // One zone per thread, cleared and reused: msgpack::unpack without a zone allocates a new
        // one with an 8 KiB chunk for every message. Readers copy everything they keep out of the
        // zone, so nothing refers to it once this returns.
        thread_local msgpack::zone zone;
        zone.clear();
        std::size_t offset = 0;
        const msgpack::object header_object = msgpack::unpack(zone, static_cast<const char*>(header.data()),
                                                              header.size(), offset, nullptr, nullptr, bounds);
        if (offset != header.size()) return unexpected(DecodeError{ErrorCode::bad_header, "trailing bytes"});
        if (header_object.type != msgpack::type::MAP)
            return unexpected(DecodeError{ErrorCode::bad_header, "not a map"});
        return detail::kDecoders[static_cast<std::size_t>(info - kCommands)](header_object, frames, first + 3, limits);
    } catch (const msgpack::unpack_error& e) {
        return unexpected(DecodeError{ErrorCode::bad_header, e.what()});
    } catch (const msgpack::type_error&) {
        return unexpected(DecodeError{ErrorCode::bad_header, "msgpack type error"});
    } catch (const std::bad_alloc&) {
        return unexpected(DecodeError{ErrorCode::bad_header, "header too large to decode"});
    } catch (const std::exception& e) {
        return unexpected(DecodeError{ErrorCode::bad_header, e.what()});
    }
}

}  // namespace corsair::protocol
