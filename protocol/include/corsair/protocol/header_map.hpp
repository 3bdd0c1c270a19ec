// Reading and writing the msgpack header map (frame 2). Internal to the codec: callers use
// encode() and decode() from codec.hpp.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <msgpack.hpp>

#include "corsair/protocol/error_code.hpp"
#include "corsair/protocol/result.hpp"

namespace corsair::protocol::detail {

using Packer = msgpack::packer<msgpack::sbuffer>;

inline void pack_string(Packer& packer, std::string_view text) {
    packer.pack_str(static_cast<std::uint32_t>(text.size()));
    packer.pack_str_body(text.data(), static_cast<std::uint32_t>(text.size()));
}

inline void pack_key(Packer& packer, std::string_view key) { pack_string(packer, key); }

// A decoded header: a view over one msgpack map, with typed, bounded field access.
// Every accessor returns an error naming the field instead of throwing.
class HeaderView {
public:
    explicit HeaderView(const msgpack::object& map) : map_(map) {}

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

    // A string field of at most max_bytes; `required` fields must be present and non-empty.
    Result<std::string, DecodeError> string(std::string_view key, std::size_t max_bytes, bool required) const {
        const auto* value = find(key);
        if (value == nullptr) {
            if (required) return unexpected(DecodeError{ErrorCode::missing_field, std::string(key)});
            return std::string();
        }
        if (value->type != msgpack::type::STR) {
            return unexpected(DecodeError{ErrorCode::bad_field_type, std::string(key)});
        }
        if (value->via.str.size > max_bytes || (required && value->via.str.size == 0)) {
            return unexpected(DecodeError{ErrorCode::bad_field_value, std::string(key)});
        }
        return std::string(value->via.str.ptr, value->via.str.size);
    }

    // An unsigned integer field in [min, max]; absent optional fields yield `fallback`.
    Result<std::uint64_t, DecodeError> unsigned_integer(std::string_view key, std::uint64_t min, std::uint64_t max,
                                                        std::optional<std::uint64_t> fallback) const {
        const auto* value = find(key);
        if (value == nullptr) {
            if (fallback) return *fallback;
            return unexpected(DecodeError{ErrorCode::missing_field, std::string(key)});
        }
        return as_unsigned(*value, key, min, max);
    }

    // A signed integer field in [min, max]; absent fields yield `fallback`.
    Result<std::int64_t, DecodeError> signed_integer(std::string_view key, std::int64_t min, std::int64_t max,
                                                     std::int64_t fallback) const {
        const auto* value = find(key);
        if (value == nullptr) return fallback;
        std::int64_t number = 0;
        if (value->type == msgpack::type::POSITIVE_INTEGER) {
            if (value->via.u64 > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
                return unexpected(DecodeError{ErrorCode::bad_field_value, std::string(key)});
            }
            number = static_cast<std::int64_t>(value->via.u64);
        } else if (value->type == msgpack::type::NEGATIVE_INTEGER) {
            number = value->via.i64;
        } else {
            return unexpected(DecodeError{ErrorCode::bad_field_type, std::string(key)});
        }
        if (number < min || number > max) return unexpected(DecodeError{ErrorCode::bad_field_value, std::string(key)});
        return number;
    }

    // An optional unsigned field in [min, max]: nullopt when absent.
    Result<std::optional<std::uint64_t>, DecodeError> optional_unsigned(std::string_view key, std::uint64_t min,
                                                                        std::uint64_t max) const {
        const auto* value = find(key);
        if (value == nullptr) return std::optional<std::uint64_t>();
        auto number = as_unsigned(*value, key, min, max);
        if (!number) return unexpected(number.error());
        return std::optional<std::uint64_t>(number.value());
    }

    Result<std::optional<bool>, DecodeError> optional_boolean(std::string_view key) const {
        const auto* value = find(key);
        if (value == nullptr) return std::optional<bool>();
        if (value->type != msgpack::type::BOOLEAN) {
            return unexpected(DecodeError{ErrorCode::bad_field_type, std::string(key)});
        }
        return std::optional<bool>(value->via.boolean);
    }

    Result<bool, DecodeError> boolean(std::string_view key, bool fallback) const {
        const auto* value = find(key);
        if (value == nullptr) return fallback;
        if (value->type != msgpack::type::BOOLEAN) {
            return unexpected(DecodeError{ErrorCode::bad_field_type, std::string(key)});
        }
        return value->via.boolean;
    }

    static Result<std::uint64_t, DecodeError> as_unsigned(const msgpack::object& value, std::string_view key,
                                                          std::uint64_t min = 0,
                                                          std::uint64_t max = std::numeric_limits<std::uint64_t>::max()) {
        if (value.type == msgpack::type::NEGATIVE_INTEGER) {
            return unexpected(DecodeError{ErrorCode::bad_field_value, std::string(key)});
        }
        if (value.type != msgpack::type::POSITIVE_INTEGER) {
            return unexpected(DecodeError{ErrorCode::bad_field_type, std::string(key)});
        }
        if (value.via.u64 < min || value.via.u64 > max) {
            return unexpected(DecodeError{ErrorCode::bad_field_value, std::string(key)});
        }
        return value.via.u64;
    }

    static Result<std::string, DecodeError> as_string(const msgpack::object& value, std::string_view key,
                                                      std::size_t max_bytes) {
        if (value.type != msgpack::type::STR) {
            return unexpected(DecodeError{ErrorCode::bad_field_type, std::string(key)});
        }
        if (value.via.str.size > max_bytes) {
            return unexpected(DecodeError{ErrorCode::bad_field_value, std::string(key)});
        }
        return std::string(value.via.str.ptr, value.via.str.size);
    }

private:
    const msgpack::object& map_;
};

}  // namespace corsair::protocol::detail
