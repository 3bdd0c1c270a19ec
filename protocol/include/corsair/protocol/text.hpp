// Text from peers, checked and shown safely: the queue-name grammar the broker enforces
// (docs/protocol.md §3) and the escaping every program uses before it prints or logs text a peer
// chose (queue names, job ids, errors, a command's stderr), so that no peer can clear, spoof or
// flood an operator's terminal or log. Pure functions; no state.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "corsair/protocol/limits.hpp"

namespace corsair::protocol {

// The most bytes of one peer-chosen text a log line shows (a job's error keeps more, up to
// kMaxErrorTextBytes, in its history).
inline constexpr std::size_t kMaxLoggedTextBytes = 200;

namespace detail {

// The code point starting at text[at] and its length in bytes, or nullopt for a byte that does
// not start a valid UTF-8 sequence (overlong forms, surrogates and values past U+10FFFF included).
struct CodePoint {
    char32_t value;
    std::size_t length;
};

inline std::optional<CodePoint> next_code_point(std::string_view text, std::size_t at) noexcept {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const unsigned char lead = byte(at);
    if (lead < 0x80) return CodePoint{lead, 1};
    std::size_t length = 0;
    char32_t value = 0;
    char32_t smallest = 0;
    if ((lead & 0xE0) == 0xC0) {
        length = 2, value = lead & 0x1F, smallest = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
        length = 3, value = lead & 0x0F, smallest = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
        length = 4, value = lead & 0x07, smallest = 0x10000;
    } else {
        return std::nullopt;
    }
    if (at + length > text.size()) return std::nullopt;
    for (std::size_t i = 1; i < length; ++i) {
        if ((byte(at + i) & 0xC0) != 0x80) return std::nullopt;
        value = (value << 6) | (byte(at + i) & 0x3F);
    }
    if (value < smallest || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return std::nullopt;
    return CodePoint{value, length};
}

// Code points that move the cursor, erase, or hide or reorder the text around them.
constexpr bool is_control(char32_t c) noexcept { return c < 0x20 || (c >= 0x7F && c <= 0x9F); }
constexpr bool is_invisible_format(char32_t c) noexcept {
    return (c >= 0x200B && c <= 0x200F) || (c >= 0x202A && c <= 0x202E) || (c >= 0x2060 && c <= 0x2069) ||
           c == 0xFEFF || c == 0xFFFD;
}
constexpr bool is_space(char32_t c) noexcept {
    return c == 0x20 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
           c == 0x202F || c == 0x205F || c == 0x3000;
}

inline void append_hex(std::string& out, const char* prefix, std::uint32_t value, int digits, const char* suffix) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += prefix;
    for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) out += kHex[(value >> shift) & 0xF];
    out += suffix;
}

}  // namespace detail

inline bool is_valid_utf8(std::string_view text) noexcept {
    for (std::size_t at = 0; at < text.size();) {
        const auto point = detail::next_code_point(text, at);
        if (!point) return false;
        at += point->length;
    }
    return true;
}

// Why `name` is not a valid queue name, or nullopt when it is. The grammar: 1 to
// kMaxQueueNameBytes bytes of valid UTF-8 with no control characters, no whitespace and no
// invisible or direction-changing format characters, so that every name prints as itself.
inline std::optional<std::string_view> queue_name_problem(std::string_view name) noexcept {
    if (name.empty()) return "is empty";
    if (name.size() > kMaxQueueNameBytes) return "is longer than 128 bytes";
    for (std::size_t at = 0; at < name.size();) {
        const auto point = detail::next_code_point(name, at);
        if (!point) return "is not valid UTF-8";
        if (detail::is_control(point->value)) return "holds a control character";
        if (detail::is_space(point->value)) return "holds whitespace";
        if (detail::is_invisible_format(point->value)) return "holds an invisible or direction-changing character";
        at += point->length;
    }
    return std::nullopt;
}

// `text` as it may be shown on a terminal or in a log line: backslash, tab, CR and LF as \\ \t
// \r \n; other control characters and bytes that are not valid UTF-8 as \xNN; invisible and
// direction-changing characters as \u{NNNN}; with `quote`, `"` as \" too. At most `max_bytes`
// of `text` are shown, then "...(+N bytes)" says how much was left out.
inline std::string printable(std::string_view text, std::size_t max_bytes = std::string_view::npos,
                             bool quote = false) {
    std::string out;
    const std::size_t shown = std::min(text.size(), max_bytes);
    out.reserve(shown + 16);
    for (std::size_t at = 0; at < shown;) {
        const auto point = detail::next_code_point(text, at);
        if (!point) {
            detail::append_hex(out, "\\x", static_cast<unsigned char>(text[at]), 2, "");
            ++at;
            continue;
        }
        if (at + point->length > shown) break;  // never show half a character
        const char32_t c = point->value;
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '"' && quote) {
            out += "\\\"";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c < 0x80 && detail::is_control(c)) {
            detail::append_hex(out, "\\x", c, 2, "");
        } else if (detail::is_control(c) || detail::is_invisible_format(c)) {
            detail::append_hex(out, "\\u{", c, 4, "}");
        } else {
            out.append(text.substr(at, point->length));
        }
        at += point->length;
    }
    if (shown < text.size()) {
        // Count from where the loop stopped, which may be before `shown` (a split character).
        std::size_t stopped = 0;
        for (std::size_t at = 0; at < shown;) {
            const auto point = detail::next_code_point(text, at);
            const std::size_t length = point ? point->length : 1;
            if (at + length > shown) break;
            at += length;
            stopped = at;
        }
        out += "...(+" + std::to_string(text.size() - stopped) + " bytes)";
    }
    return out;
}

// A log field's value: printable() inside double quotes, so a value with spaces, quotes or
// newlines stays one field of one line. Every program logs peer text this way.
inline std::string quoted(std::string_view text, std::size_t max_bytes = kMaxLoggedTextBytes) {
    return '"' + printable(text, max_bytes, true) + '"';
}

}  // namespace corsair::protocol
