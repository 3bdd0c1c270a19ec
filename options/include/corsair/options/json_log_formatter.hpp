// `--log-format json`: each log line as one JSON object, for journald or a log shipper:
//   {"time":"2026-12-03T17:30:00.123Z","level":"info","logger":"broker","message":"worker joined",
//    "worker":"host-7:311","capacity":4,"queues":"emails"}
// Every message is fixed text followed by key=value fields (log_format.hpp), so the fields are
// taken back out of the text: a value written quoted (protocol::quoted) becomes a JSON string
// with its quote escapes undone, a bare integer a JSON number, a bare true or false a JSON
// boolean, any other bare value a string.
// A message whose tail is not all key=value fields stays whole in "message", so nothing is lost
// or misread. Bytes that are not UTF-8 are shown as \xHH, as in the text format. Stateless.
#pragma once

#include <cctype>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <spdlog/details/log_msg.h>
#include <spdlog/formatter.h>

#include "corsair/protocol/text.hpp"

namespace corsair::options {

class JsonLogFormatter final : public spdlog::formatter {
public:
    struct Field {
        std::string key;
        std::string value;        // unescaped
        bool is_literal = false;  // an integer, true or false: written as JSON's own
    };
    struct SplitMessage {
        std::string text;
        std::vector<Field> fields;
    };

    // The message's fixed text and its fields. Keys are lower-case letters, digits and '_',
    // starting with a letter; the fields are the longest run of ` key=value` tokens that ends the
    // message. Pure.
    static SplitMessage split(std::string_view message) {
        // Try each ` key=` from the left: the first from which the rest parses as fields wins.
        for (std::size_t at = message.find('='); at != std::string_view::npos; at = message.find('=', at + 1)) {
            const std::size_t key_start = key_start_before(message, at);
            if (key_start == std::string_view::npos) continue;
            if (auto fields = parse_fields(message.substr(key_start))) {
                std::string_view text = message.substr(0, key_start);
                while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
                return {std::string(text), std::move(*fields)};
            }
        }
        return {std::string(message), {}};
    }

    // `text` as the inside of a JSON string (no quotes around it).
    static void append_json_string(std::string& out, std::string_view text) {
        for (std::size_t at = 0; at < text.size();) {
            const auto point = protocol::detail::next_code_point(text, at);
            if (!point) {
                protocol::detail::append_hex(out, "\\\\x", static_cast<unsigned char>(text[at]), 2, "");
                ++at;
                continue;
            }
            const char32_t c = point->value;
            if (c == '"') {
                out += "\\\"";
            } else if (c == '\\') {
                out += "\\\\";
            } else if (c == '\n') {
                out += "\\n";
            } else if (c == '\r') {
                out += "\\r";
            } else if (c == '\t') {
                out += "\\t";
            } else if (c < 0x20 || c == 0x7F) {
                protocol::detail::append_hex(out, "\\u", c, 4, "");
            } else {
                out.append(text.substr(at, point->length));
            }
            at += point->length;
        }
    }

    // One whole line, newline included, for a message whose fields are already apart (the
    // `corsair` CLI's diagnostics): {"time","level","logger","message", then each field}.
    static std::string line(spdlog::log_clock::time_point time, spdlog::level::level_enum level,
                            std::string_view logger, std::string_view message, const std::vector<Field>& fields) {
        std::string out = "{\"time\":\"" + utc_time(time) + "\",\"level\":\"";
        const auto level_name = spdlog::level::to_string_view(level);
        out.append(level_name.data(), level_name.size());
        out += "\",\"logger\":\"";
        append_json_string(out, logger);
        out += "\",\"message\":\"";
        append_json_string(out, message);
        out += '"';
        for (const Field& field : fields) {
            // The line's own keys come first and stay what they are.
            if (field.key == "time" || field.key == "level" || field.key == "logger" || field.key == "message") continue;
            out += ",\"" + field.key + "\":";
            if (field.is_literal) {
                out += field.value;
            } else {
                out += '"';
                append_json_string(out, field.value);
                out += '"';
            }
        }
        out += "}\n";
        return out;
    }

    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        const SplitMessage split_message = split(std::string_view(msg.payload.data(), msg.payload.size()));
        const std::string out = line(msg.time, msg.level, std::string_view(msg.logger_name.data(), msg.logger_name.size()),
                                     split_message.text, split_message.fields);
        dest.append(out.data(), out.data() + out.size());
    }

    std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonLogFormatter>(); }

private:
    static bool is_key_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    }

    // Where the key ending just before message[equals] starts, if it is a key preceded by a space.
    static std::size_t key_start_before(std::string_view message, std::size_t equals) {
        std::size_t start = equals;
        while (start > 0 && is_key_char(message[start - 1])) --start;
        if (start == equals || start == 0 || message[start - 1] != ' ') return std::string_view::npos;
        if (message[start] < 'a' || message[start] > 'z') return std::string_view::npos;
        return start;
    }

    // `key=value key="value" ...` to its end, or nullopt if any token is not a field.
    static std::optional<std::vector<Field>> parse_fields(std::string_view rest) {
        std::vector<Field> fields;
        std::size_t at = 0;
        while (at < rest.size()) {
            const std::size_t equals = rest.find('=', at);
            if (equals == std::string_view::npos || equals == at) return std::nullopt;
            for (std::size_t i = at; i < equals; ++i) {
                if (!is_key_char(rest[i])) return std::nullopt;
            }
            Field field{std::string(rest.substr(at, equals - at)), {}, false};
            at = equals + 1;
            if (at < rest.size() && rest[at] == '"') {
                auto end = unquote(rest, at + 1, field.value);
                if (!end) return std::nullopt;
                at = *end;
            } else {
                const std::size_t end = std::min(rest.find(' ', at), rest.size());
                field.value = std::string(rest.substr(at, end - at));
                field.is_literal = is_integer(field.value) || field.value == "true" || field.value == "false";
                at = end;
            }
            fields.push_back(std::move(field));
            if (at == rest.size()) break;
            if (rest[at] != ' ') return std::nullopt;
            while (at < rest.size() && rest[at] == ' ') ++at;
        }
        return fields;
    }

    // Reads a quoted value from rest[at] (just past the opening quote) into `value`, undoing
    // protocol::quoted()'s \\, \" and \n \r \t (its \xHH and \u{...} stay as they are: they stand
    // for bytes it would not print). Returns the index past the closing quote.
    static std::optional<std::size_t> unquote(std::string_view rest, std::size_t at, std::string& value) {
        while (at < rest.size()) {
            const char c = rest[at];
            if (c == '"') return at + 1;
            if (c == '\\' && at + 1 < rest.size()) {
                const char next = rest[at + 1];
                const char* decoded = next == '\\' ? "\\" : next == '"' ? "\"" : next == 'n' ? "\n"
                                    : next == 'r'  ? "\r" : next == 't' ? "\t" : nullptr;
                if (decoded != nullptr) {
                    value += decoded;
                    at += 2;
                    continue;
                }
            }
            value += c;
            ++at;
        }
        return std::nullopt;  // no closing quote
    }

    static bool is_integer(std::string_view text) {
        if (!text.empty() && text.front() == '-') text.remove_prefix(1);
        if (text.empty() || text.size() > 18) return false;
        if (text.size() > 1 && text.front() == '0') return false;
        for (char c : text) {
            if (!std::isdigit(static_cast<unsigned char>(c))) return false;
        }
        return true;
    }

    static std::string utc_time(spdlog::log_clock::time_point time) {
        const auto since_epoch = time.time_since_epoch();
        const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
        const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - seconds).count();
        const std::time_t whole = static_cast<std::time_t>(seconds.count());
        std::tm utc{};
        gmtime_r(&whole, &utc);
        char text[64];  // room for any int the compiler cannot rule out
        std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                      utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(millis));
        return text;
    }
};

}  // namespace corsair::options
