#include "duration.hpp"

#include <cmath>
#include <cstdio>

namespace corsair::producer::cli {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
    std::size_t digits = 0;
    bool has_point = false;
    while (digits < text.size() &&
           ((text[digits] >= '0' && text[digits] <= '9') || (text[digits] == '.' && !has_point))) {
        has_point = has_point || text[digits] == '.';
        ++digits;
    }
    const std::string number(text.substr(0, digits));
    const std::string_view unit = text.substr(digits);
    if (number.empty() || number == ".") return std::nullopt;
    double scale = 0;
    if (unit == "ms") {
        scale = 1;
    } else if (unit == "s") {
        scale = 1000;
    } else if (unit == "m") {
        scale = 60'000;
    } else if (unit == "h") {
        scale = 3'600'000;
    } else {
        return std::nullopt;
    }
    const double value = std::stod(number) * scale;
    if (!std::isfinite(value) || value > 1e15) return std::nullopt;
    return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(value)));
}

std::string format_duration(std::chrono::milliseconds duration) {
    const auto ms = duration.count();
    char text[48];
    if (ms < 1000) {
        std::snprintf(text, sizeof text, "%lldms", static_cast<long long>(ms));
    } else if (ms < 60'000) {
        std::snprintf(text, sizeof text, "%.1fs", static_cast<double>(ms) / 1000.0);
    } else if (ms < 3'600'000) {
        std::snprintf(text, sizeof text, "%lldm%02llds", static_cast<long long>(ms / 60'000),
                      static_cast<long long>(ms / 1000 % 60));
    } else {
        std::snprintf(text, sizeof text, "%lldh%02lldm", static_cast<long long>(ms / 3'600'000),
                      static_cast<long long>(ms / 60'000 % 60));
    }
    return text;
}

}  // namespace corsair::producer::cli
