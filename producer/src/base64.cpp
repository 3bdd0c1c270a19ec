#include "base64.hpp"

#include <cstdint>

namespace corsair::producer::cli {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int value_of(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

}  // namespace

std::string to_base64(std::string_view bytes) {
    std::string text;
    text.reserve((bytes.size() + 2) / 3 * 4);
    for (std::size_t i = 0; i < bytes.size(); i += 3) {
        const std::size_t left = bytes.size() - i;
        std::uint32_t chunk = static_cast<unsigned char>(bytes[i]) << 16;
        if (left > 1) chunk |= static_cast<unsigned char>(bytes[i + 1]) << 8;
        if (left > 2) chunk |= static_cast<unsigned char>(bytes[i + 2]);
        text += kAlphabet[(chunk >> 18) & 63];
        text += kAlphabet[(chunk >> 12) & 63];
        text += left > 1 ? kAlphabet[(chunk >> 6) & 63] : '=';
        text += left > 2 ? kAlphabet[chunk & 63] : '=';
    }
    return text;
}

std::optional<std::string> from_base64(std::string_view text) {
    if (text.size() % 4 != 0) return std::nullopt;
    std::string bytes;
    bytes.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        const bool is_last = i + 4 == text.size();
        const int padding = is_last ? (text[i + 3] == '=') + (text[i + 2] == '=') : 0;
        std::uint32_t chunk = 0;
        for (int k = 0; k < 4; ++k) {
            const int value = k >= 4 - padding ? 0 : value_of(text[i + k]);
            if (value < 0) return std::nullopt;
            chunk = (chunk << 6) | static_cast<std::uint32_t>(value);
        }
        if (padding == 1 && text[i + 2] == '=') return std::nullopt;
        bytes += static_cast<char>((chunk >> 16) & 0xFF);
        if (padding < 2) bytes += static_cast<char>((chunk >> 8) & 0xFF);
        if (padding < 1) bytes += static_cast<char>(chunk & 0xFF);
    }
    return bytes;
}

}  // namespace corsair::producer::cli
