// Queue-name grammar and the escaping of peer text for terminals and logs (text.hpp).
#include <catch2/catch.hpp>

#include <string>

#include "corsair/protocol/text.hpp"

namespace corsair::protocol {
namespace {

using namespace std::string_literals;

TEST_CASE("queue names that print as themselves are valid", "[protocol][text]") {
    CHECK_FALSE(queue_name_problem("emails"));
    CHECK_FALSE(queue_name_problem("thumbnails.v2-high_prio:eu/1"));
    CHECK_FALSE(queue_name_problem("файлы"));
    CHECK_FALSE(queue_name_problem("画像"));
    CHECK_FALSE(queue_name_problem(std::string(128, 'q')));
}

TEST_CASE("queue names with control, space, format or broken bytes are refused with the reason",
          "[protocol][text]") {
    CHECK(queue_name_problem("") == std::string_view("is empty"));
    CHECK(queue_name_problem(std::string(129, 'q')) == std::string_view("is longer than 128 bytes"));
    CHECK(queue_name_problem("a\nb") == std::string_view("holds a control character"));
    CHECK(queue_name_problem("a\tb") == std::string_view("holds a control character"));
    CHECK(queue_name_problem("\033[2J") == std::string_view("holds a control character"));
    CHECK(queue_name_problem("a\x7f") == std::string_view("holds a control character"));
    CHECK(queue_name_problem("a\xc2\x9b") == std::string_view("holds a control character"));  // U+009B CSI
    CHECK(queue_name_problem("a b") == std::string_view("holds whitespace"));
    CHECK(queue_name_problem("a\xc2\xa0" "b") == std::string_view("holds whitespace"));
    CHECK(queue_name_problem("a\xe2\x80\xae" "b") ==
          std::string_view("holds an invisible or direction-changing character"));  // U+202E
    CHECK(queue_name_problem("a\xe2\x80\x8b" "b") ==
          std::string_view("holds an invisible or direction-changing character"));  // zero width space
    CHECK(queue_name_problem("\xff") == std::string_view("is not valid UTF-8"));
    CHECK(queue_name_problem("\xc0\xaf") == std::string_view("is not valid UTF-8"));          // overlong '/'
    CHECK(queue_name_problem("\xed\xa0\x80") == std::string_view("is not valid UTF-8"));      // surrogate
    CHECK(queue_name_problem("\xf4\x90\x80\x80") == std::string_view("is not valid UTF-8"));  // past U+10FFFF
    CHECK(queue_name_problem("\xe2\x82") == std::string_view("is not valid UTF-8"));          // cut short
    CHECK(queue_name_problem("a\0b"s) == std::string_view("holds a control character"));
}

TEST_CASE("printable escapes what could move the cursor and keeps ordinary text", "[protocol][text]") {
    CHECK(printable("plain text, 画像") == "plain text, 画像");
    CHECK(printable("a\nb\tc\rd\\e") == "a\\nb\\tc\\rd\\\\e");
    CHECK(printable("\033[2J") == "\\x1b[2J");
    CHECK(printable("x\0y"s) == "x\\x00y");
    CHECK(printable("\xff\xfe") == "\\xff\\xfe");
    CHECK(printable("a\xe2\x80\xae" "b") == "a\\u{202e}b");
    CHECK(printable("say \"hi\"") == "say \"hi\"");
    CHECK(printable("say \"hi\"", std::string_view::npos, true) == "say \\\"hi\\\"");
}

TEST_CASE("two different invalid names print differently", "[protocol][text]") {
    CHECK(printable("\xff") != printable("\xfe"));
}

TEST_CASE("printable caps long text and says how much it left out, never splitting a character",
          "[protocol][text]") {
    CHECK(printable("abcdefghij", 4) == "abcd...(+6 bytes)");
    CHECK(printable("abcd", 4) == "abcd");
    CHECK(printable("ab画像", 4) == "ab...(+6 bytes)");
}

TEST_CASE("quoted keeps a multi-line error one field of one line", "[protocol][text]") {
    const std::string stderr_text = "Traceback (most recent call last):\n  File \"x.py\", line 1\nValueError: bad\n";
    const std::string field = quoted(stderr_text);
    CHECK(field.find('\n') == std::string::npos);
    CHECK(field.front() == '"');
    CHECK(field.back() == '"');
    CHECK(field == "\"Traceback (most recent call last):\\n  File \\\"x.py\\\", line 1\\nValueError: bad\\n\"");
    const std::string long_text(1000, 'e');
    CHECK(quoted(long_text).size() < kMaxLoggedTextBytes + 30);
}

}  // namespace
}  // namespace corsair::protocol
