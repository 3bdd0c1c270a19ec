#include "timestamp.hpp"

#include <cstdint>
#include <cstdio>

namespace corsair::producer::cli {

namespace {

using std::chrono::milliseconds;

// Reads exactly `count` digits at `pos`, advancing it.
std::optional<int> digits(std::string_view text, std::size_t& pos, std::size_t count) {
    if (pos + count > text.size()) return std::nullopt;
    int value = 0;
    for (std::size_t i = 0; i < count; ++i) {
        const char c = text[pos + i];
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + (c - '0');
    }
    pos += count;
    return value;
}

bool expect(std::string_view text, std::size_t& pos, char c) {
    if (pos >= text.size() || text[pos] != c) return false;
    ++pos;
    return true;
}

// Up to three fraction digits after a '.', as milliseconds; more digits are read and dropped.
std::optional<milliseconds> fraction(std::string_view text, std::size_t& pos) {
    if (pos >= text.size() || text[pos] != '.') return milliseconds(0);
    ++pos;
    std::int64_t ms = 0;
    std::size_t count = 0;
    for (; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos, ++count) {
        if (count < 3) ms = ms * 10 + (text[pos] - '0');
    }
    if (count == 0) return std::nullopt;
    for (std::size_t i = count; i < 3; ++i) ms *= 10;
    return milliseconds(ms);
}

// system_clock counts nanoseconds in 64 bits, so only about 1678 to 2262 fits: a time outside
// is refused like any other bad time, never converted with an overflow (found by fuzz_http_body:
// "at": "4060-01-01T00:00:00Z").
std::optional<std::chrono::system_clock::time_point> to_system_clock(std::chrono::milliseconds since_epoch) {
    using namespace std::chrono;
    constexpr auto kLimit = duration_cast<milliseconds>(system_clock::duration::max()) - hours(24);
    if (since_epoch > kLimit || since_epoch < -kLimit) return std::nullopt;
    return system_clock::time_point(duration_cast<system_clock::duration>(since_epoch));
}

std::optional<std::chrono::system_clock::time_point> parse_unix_seconds(std::string_view text) {
    std::size_t pos = 0;
    std::int64_t seconds = 0;
    // 12 digits reach year 33,000: far enough, and no overflow.
    for (; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos) {
        if (pos == 12) return std::nullopt;
        seconds = seconds * 10 + (text[pos] - '0');
    }
    if (pos == 0) return std::nullopt;
    const auto ms = fraction(text, pos);
    if (!ms || pos != text.size()) return std::nullopt;
    return to_system_clock(std::chrono::seconds(seconds) + *ms);
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> parse_timestamp(std::string_view text) {
    using namespace std::chrono;
    if (!text.empty() && text.front() == '@') return parse_unix_seconds(text.substr(1));
    std::size_t pos = 0;
    const auto year = digits(text, pos, 4);
    if (!year || !expect(text, pos, '-')) return std::nullopt;
    const auto month = digits(text, pos, 2);
    if (!month || !expect(text, pos, '-')) return std::nullopt;
    const auto day = digits(text, pos, 2);
    if (!day || pos >= text.size() || (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ')) return std::nullopt;
    ++pos;
    const auto hour = digits(text, pos, 2);
    if (!hour || !expect(text, pos, ':')) return std::nullopt;
    const auto minute = digits(text, pos, 2);
    if (!minute || !expect(text, pos, ':')) return std::nullopt;
    const auto second = digits(text, pos, 2);
    if (!second) return std::nullopt;
    const auto ms = fraction(text, pos);
    if (!ms || pos >= text.size()) return std::nullopt;
    minutes offset{0};
    if (text[pos] == 'Z' || text[pos] == 'z') {
        ++pos;
    } else if (text[pos] == '+' || text[pos] == '-') {
        const int sign = text[pos] == '-' ? -1 : 1;
        ++pos;
        const auto offset_hours = digits(text, pos, 2);
        if (!offset_hours || !expect(text, pos, ':')) return std::nullopt;
        const auto offset_minutes = digits(text, pos, 2);
        if (!offset_minutes || *offset_hours > 23 || *offset_minutes > 59) return std::nullopt;
        offset = minutes(sign * (*offset_hours * 60 + *offset_minutes));
    } else {
        return std::nullopt;
    }
    if (pos != text.size()) return std::nullopt;
    const year_month_day date{std::chrono::year(*year), std::chrono::month(static_cast<unsigned>(*month)),
                              std::chrono::day(static_cast<unsigned>(*day))};
    // A leap second (60) is not representable in system_clock; it is refused, not rounded.
    if (!date.ok() || *hour > 23 || *minute > 59 || *second > 59) return std::nullopt;
    const auto local = sys_days(date) + hours(*hour) + minutes(*minute) + seconds(*second) + *ms;
    // 16:00+01:00 is 15:00Z: subtract the offset.
    return to_system_clock((local - offset).time_since_epoch());
}

std::string format_timestamp(std::chrono::system_clock::time_point time) {
    using namespace std::chrono;
    const auto ms = floor<milliseconds>(time);
    const auto day = floor<days>(ms);
    const year_month_day date(day);
    const hh_mm_ss clock(ms - day);
    char text[40];
    std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02d", static_cast<int>(date.year()),
                  static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                  static_cast<int>(clock.hours().count()), static_cast<int>(clock.minutes().count()),
                  static_cast<int>(clock.seconds().count()));
    std::string result = text;
    if (clock.subseconds().count() != 0) {
        std::snprintf(text, sizeof text, ".%03d", static_cast<int>(clock.subseconds().count()));
        result += text;
    }
    return result + "Z";
}

}  // namespace corsair::producer::cli
