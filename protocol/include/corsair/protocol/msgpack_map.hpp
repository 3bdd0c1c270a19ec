// Reading and writing msgpack maps with string keys: the wire's headers and bodies (codec.hpp)
// and the broker journal's record bodies both go through these two classes. Pure values over
// caller-owned bytes, usable on any thread.
#pragma once

#include <array>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <msgpack.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "corsair/protocol/error_code.hpp"

namespace corsair::protocol {

// Appends msgpack maps and arrays to a std::string, computing each container's entry count: the
// header is written when the container ends, so it always matches what was written. A container
// reserves the header size its `expected` count needs; only a container ending with a count of
// another size class (16 or 65536 entries and up) moves its bytes, once. Allocates nothing beyond
// the string's own growth. Maps hold string keys; every value goes through the writer.
class MapWriter {
public:
    explicit MapWriter(std::string& out) noexcept : sink_{&out}, packer_(sink_) {}
    MapWriter(const MapWriter&) = delete;
    MapWriter& operator=(const MapWriter&) = delete;

    // Opens a map or array as the next value; close it with end().
    void begin_map(std::size_t expected = 0) { open(true, expected); }
    void begin_array(std::size_t expected = 0) { open(false, expected); }
    void end();

    // The key of the next map entry; counts the entry.
    void key(std::string_view name) {
        assert(depth_ > 0 && open_[depth_ - 1].is_map);
        ++open_[depth_ - 1].count;
        pack_str(name);
    }

    // One value: a string (str), bool, or integer in the shortest encoding.
    template <class T>
    void value(const T& v) {
        count_value();
        if constexpr (std::is_integral_v<T>) {  // bool included
            packer_.pack(v);
        } else {
            static_assert(std::is_convertible_v<const T&, std::string_view>, "a string, bool or integer");
            pack_str(std::string_view(v));
        }
    }
    // Raw bytes as msgpack bin.
    void bytes(std::string_view data) {
        count_value();
        packer_.pack_bin(static_cast<std::uint32_t>(data.size()));
        packer_.pack_bin_body(data.data(), static_cast<std::uint32_t>(data.size()));
    }

    template <class T>
    void field(std::string_view name, const T& v) {
        key(name);
        value(v);
    }
    void bytes_field(std::string_view name, std::string_view data) {
        key(name);
        bytes(data);
    }
    // Written only when set.
    template <class T>
    void optional_field(std::string_view name, const std::optional<T>& v) {
        if (v) field(name, *v);
    }

private:
    // msgpack::packer's stream: appends to the caller's string.
    struct Sink {
        std::string* out;
        void write(const char* data, std::size_t size) { out->append(data, size); }
    };
    // Set in full by open(); left uninitialised until then, as this is built once per message.
    struct Open {
        std::size_t at;        // where the header goes
        std::size_t reserved;  // header bytes reserved at `at`
        std::uint32_t count;   // entries (maps) or items (arrays) written so far
        bool is_map;
    };
    static constexpr std::size_t kMaxDepth = 8;  // the decoder's nesting bound (docs/protocol.md §3)

    static std::size_t header_bytes(std::size_t count) noexcept { return count < 16 ? 1 : count < 65536 ? 3 : 5; }

    void count_value() noexcept {
        if (depth_ > 0 && !open_[depth_ - 1].is_map) ++open_[depth_ - 1].count;
    }
    void open(bool is_map, std::size_t expected) {
        assert(depth_ < kMaxDepth);
        count_value();
        Open& container = open_[depth_++];
        container.at = sink_.out->size();
        container.reserved = header_bytes(expected);
        container.count = 0;
        container.is_map = is_map;
        sink_.out->append(container.reserved, '\0');
    }
    void pack_str(std::string_view text) {
        packer_.pack_str(static_cast<std::uint32_t>(text.size()));
        packer_.pack_str_body(text.data(), static_cast<std::uint32_t>(text.size()));
    }

    Sink sink_;
    msgpack::packer<Sink> packer_;
    std::array<Open, kMaxDepth> open_;
    std::size_t depth_ = 0;
};

inline void MapWriter::end() {
    assert(depth_ > 0);
    const Open container = open_[--depth_];
    std::string& out = *sink_.out;
    const std::size_t needed = header_bytes(container.count);
    if (needed > container.reserved) {
        out.insert(container.at + container.reserved, needed - container.reserved, '\0');
    } else if (needed < container.reserved) {
        out.erase(container.at + needed, container.reserved - needed);
    }
    // The same header msgpack's pack_map and pack_array write: fix, 16- or 32-bit count.
    char* header = &out[container.at];
    const std::uint32_t n = container.count;
    if (needed == 1) {
        header[0] = static_cast<char>((container.is_map ? 0x80 : 0x90) | n);
        return;
    }
    header[0] = static_cast<char>(container.is_map ? (needed == 3 ? 0xde : 0xdf) : (needed == 3 ? 0xdc : 0xdd));
    for (std::size_t i = 1; i < needed; ++i) header[i] = static_cast<char>(n >> (8 * (needed - 1 - i)));
}

// Whether a map field may be absent, and for strings whether it may be empty.
enum class Presence : std::uint8_t {
    optional,   // absent: the fallback (strings: empty)
    required,   // absent: missing_field
    non_empty,  // strings: absent is missing_field, empty is bad_field_value
};

// The first problem met while reading a map and the maps inside it. Once set it stays: later
// reads return defaults, so a reader reads its fields straight through and checks once at the end.
class ReadStatus {
public:
    bool failed() const noexcept { return failed_; }
    // The wire's form: the code and the field at fault.
    const DecodeError& error() const noexcept { return error_; }
    // The journal's form: "<problem> key=<field>", e.g. "missing key=attempt".
    std::string describe() const { return std::string(problem_) + " key=" + error_.detail; }

    void fail(ErrorCode code, std::string_view field, const char* problem) {
        if (failed_) return;
        failed_ = true;
        error_ = DecodeError{code, std::string(field)};
        problem_ = problem;
    }

private:
    bool failed_ = false;
    DecodeError error_{ErrorCode::internal, {}};
    const char* problem_ = "";
};

// Typed, bounded access to one msgpack map with string keys (docs/protocol.md §3: keys are str,
// compared byte for byte, non-str keys skipped, the first of a repeated key counts, unknown keys
// ignored). Reads never throw: a problem is recorded in the shared ReadStatus and the read
// returns a default. Views the map; the map must outlive the reader.
class MapReader {
public:
    MapReader(const msgpack::object& map, ReadStatus& status) noexcept : map_(map), status_(status) {
        assert(map.type == msgpack::type::MAP);
    }

    ReadStatus& status() const noexcept { return status_; }
    bool failed() const noexcept { return status_.failed(); }
    void fail(ErrorCode code, std::string_view field, const char* problem = "bad value") const {
        status_.fail(code, field, problem);
    }

    const msgpack::object* find(std::string_view key) const noexcept {
        for (std::uint32_t i = 0; i < map_.via.map.size; ++i) {
            const auto& entry = map_.via.map.ptr[i];
            if (entry.key.type == msgpack::type::STR &&
                std::string_view(entry.key.via.str.ptr, entry.key.via.str.size) == key) {
                return &entry.val;
            }
        }
        return nullptr;
    }

    // A str field of at most max_bytes.
    std::string string(std::string_view key, std::size_t max_bytes, Presence presence) const {
        const auto* value = present(key, presence != Presence::optional);
        if (value == nullptr) return {};
        std::string text = string_value(*value, key, max_bytes);
        if (presence == Presence::non_empty && text.empty() && !failed())
            fail(ErrorCode::bad_field_value, key, "empty");
        return text;
    }
    // A bin field.
    std::string bytes(std::string_view key, Presence presence) const {
        const auto* value = present(key, presence != Presence::optional);
        if (value == nullptr) return {};
        if (value->type != msgpack::type::BIN) return fail(ErrorCode::bad_field_type, key, "not bytes"), std::string();
        return std::string(value->via.bin.ptr, value->via.bin.size);
    }
    // A bool field; absent yields `fallback`, or missing_field when there is none.
    bool boolean(std::string_view key, std::optional<bool> fallback) const {
        const auto* value = present(key, !fallback);
        if (value == nullptr) return fallback.value_or(false);
        return boolean_value(*value, key);
    }
    std::optional<bool> optional_boolean(std::string_view key) const {
        const auto* value = find(key);
        if (value == nullptr) return std::nullopt;
        return boolean_value(*value, key);
    }
    // An integer field in [min, max], returned as T (which must hold max); absent yields
    // `fallback`, or missing_field when there is none.
    template <class T = std::uint64_t>
    T unsigned_integer(std::string_view key, std::uint64_t min, std::uint64_t max,
                       std::optional<std::uint64_t> fallback) const {
        assert(max <= std::numeric_limits<T>::max());
        const auto* value = present(key, !fallback);
        if (value == nullptr) return static_cast<T>(fallback.value_or(0));
        return static_cast<T>(unsigned_value(*value, key, min, max));
    }
    template <class T = std::uint64_t>
    std::optional<T> optional_unsigned(std::string_view key, std::uint64_t min, std::uint64_t max) const {
        assert(max <= std::numeric_limits<T>::max());
        const auto* value = find(key);
        if (value == nullptr) return std::nullopt;
        return static_cast<T>(unsigned_value(*value, key, min, max));
    }
    template <class T = std::int64_t>
    T signed_integer(std::string_view key, std::int64_t min, std::int64_t max,
                     std::optional<std::int64_t> fallback) const {
        assert(min >= std::numeric_limits<T>::min() && max <= std::numeric_limits<T>::max());
        const auto* value = present(key, !fallback);
        if (value == nullptr) return static_cast<T>(fallback.value_or(0));
        return static_cast<T>(signed_value(*value, key, min, max));
    }

    // The same checks on a value that is not a map field (an array item, a map's key); problems
    // are reported under `key`.
    std::string string_value(const msgpack::object& value, std::string_view key, std::size_t max_bytes) const {
        if (value.type != msgpack::type::STR)
            return fail(ErrorCode::bad_field_type, key, "not a string"), std::string();
        if (value.via.str.size > max_bytes) return fail(ErrorCode::bad_field_value, key, "too long"), std::string();
        return std::string(value.via.str.ptr, value.via.str.size);
    }
    std::uint64_t unsigned_value(const msgpack::object& value, std::string_view key, std::uint64_t min = 0,
                                 std::uint64_t max = std::numeric_limits<std::uint64_t>::max()) const {
        if (value.type == msgpack::type::NEGATIVE_INTEGER) return fail(ErrorCode::bad_field_value, key, "negative"), 0;
        if (value.type != msgpack::type::POSITIVE_INTEGER) {
            return fail(ErrorCode::bad_field_type, key, "not an integer"), 0;
        }
        if (value.via.u64 < min || value.via.u64 > max) return fail(ErrorCode::bad_field_value, key, "out of range"), 0;
        return value.via.u64;
    }
    std::int64_t signed_value(const msgpack::object& value, std::string_view key, std::int64_t min,
                              std::int64_t max) const {
        std::int64_t number = 0;
        if (value.type == msgpack::type::POSITIVE_INTEGER) {
            if (value.via.u64 > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
                return fail(ErrorCode::bad_field_value, key, "out of range"), 0;
            }
            number = static_cast<std::int64_t>(value.via.u64);
        } else if (value.type == msgpack::type::NEGATIVE_INTEGER) {
            number = value.via.i64;
        } else {
            return fail(ErrorCode::bad_field_type, key, "not an integer"), 0;
        }
        if (number < min || number > max) return fail(ErrorCode::bad_field_value, key, "out of range"), 0;
        return number;
    }
    bool boolean_value(const msgpack::object& value, std::string_view key) const {
        if (value.type != msgpack::type::BOOLEAN) return fail(ErrorCode::bad_field_type, key, "not a boolean"), false;
        return value.via.boolean;
    }

    // The array field `key` (nullptr if absent and optional, or on a problem), of at most max_items.
    const msgpack::object_array* array(std::string_view key, std::size_t max_items, Presence presence) const {
        const auto* value = present(key, presence != Presence::optional);
        if (value == nullptr) return nullptr;
        if (value->type != msgpack::type::ARRAY) return fail(ErrorCode::bad_field_type, key, "not an array"), nullptr;
        if (value->via.array.size > max_items) return fail(ErrorCode::bad_field_value, key, "too many"), nullptr;
        return &value->via.array;
    }
    // A reader for a map nested in this one (an array item), sharing this reader's status; nullopt
    // (and bad_field_type under `key`) if `value` is not a map.
    std::optional<MapReader> nested(const msgpack::object& value, std::string_view key) const {
        if (value.type != msgpack::type::MAP) return fail(ErrorCode::bad_field_type, key, "not a map"), std::nullopt;
        return MapReader(value, status_);
    }

private:
    const msgpack::object* present(std::string_view key, bool is_required) const {
        const auto* value = find(key);
        if (value == nullptr && is_required) fail(ErrorCode::missing_field, key, "missing");
        return value;
    }

    const msgpack::object& map_;
    ReadStatus& status_;
};

}  // namespace corsair::protocol
