// Key files (protocol/curve.hpp): czmq's certificate format, written and read back, and the
// errors that name the file and line.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>

#include "corsair/protocol/curve.hpp"

namespace p = corsair::protocol;

TEST_CASE("a generated key pair is Z85 and its public half follows from its secret", "[protocol][curve]") {
    const auto pair = p::generate_curve_key_pair();
    CHECK(p::is_z85_key(pair.public_key));
    CHECK(p::is_z85_key(pair.secret_key));
    CHECK(p::curve_public_of(pair.secret_key) == pair.public_key);
    CHECK_FALSE(p::is_z85_key("short"));
    CHECK_FALSE(p::is_z85_key(std::string(40, '"')));
}

TEST_CASE("a certificate written as czmq does is read back", "[protocol][curve]") {
    const auto pair = p::generate_curve_key_pair();
    const auto secret_text = p::format_certificate(pair, true, {{"role", "worker"}}, "now");
    const auto certificate = p::parse_certificate(secret_text, "host7.key_secret");
    CHECK(*certificate.find("metadata", "role") == "worker");
    const auto read = p::key_pair_of(certificate, "host7.key_secret");
    CHECK(read.public_key == pair.public_key);
    CHECK(read.secret_key == pair.secret_key);
    const auto public_text = p::format_certificate(pair, false, {}, "now");
    CHECK(public_text.find("secret-key") == std::string::npos);
    CHECK(p::public_key_of(p::parse_certificate(public_text, "host7.key"), "host7.key") == pair.public_key);
}

TEST_CASE("a czmq certificate with comments, unquoted values and CRLF lines is read", "[protocol][curve]") {
    const auto pair = p::generate_curve_key_pair();
    const std::string text = "#   ZeroMQ CURVE Public Certificate\r\n\r\nmetadata\r\n    role = admin\r\ncurve\r\n"
                             "    public-key = '" + pair.public_key + "'\r\n";
    const auto certificate = p::parse_certificate(text, "ops.key");
    CHECK(*certificate.find("metadata", "role") == "admin");
    CHECK(p::public_key_of(certificate, "ops.key") == pair.public_key);
}

TEST_CASE("a secret file whose halves do not belong together is refused", "[protocol][curve]") {
    auto pair = p::generate_curve_key_pair();
    pair.public_key = p::generate_curve_key_pair().public_key;
    const auto text = p::format_certificate(pair, true, {}, "now");
    CHECK_THROWS_WITH(p::key_pair_of(p::parse_certificate(text, "x.key_secret"), "x.key_secret"),
                      Catch::Contains("x.key_secret: its public-key does not belong to its secret-key"));
}

TEST_CASE("CURVE client keys come from both files or neither", "[protocol][curve]") {
    CHECK_FALSE(p::CurveClientKeys::from_files("", "").is_enabled());
    CHECK_THROWS_WITH(p::CurveClientKeys::from_files("broker.key", ""), Catch::Contains("go together"));
    CHECK_THROWS_WITH(p::read_public_key_file("/nonexistent/broker.key"),
                      Catch::Contains("/nonexistent/broker.key: cannot read"));
}

TEST_CASE("a key file over 64 KiB is refused naming it, and an endless one is not read whole", "[protocol][curve]") {
    const auto path = (std::filesystem::temp_directory_path() /
                       ("corsair-curve-test-" + std::to_string(::getpid()) + ".key"))
                          .string();
    const auto pair = p::generate_curve_key_pair();
    auto text = p::format_certificate(pair, false, {}, "now");
    text += "# " + std::string(p::kMaxKeyFileBytes - text.size() - 3, 'x') + "\n";
    REQUIRE(text.size() == p::kMaxKeyFileBytes);
    std::ofstream(path, std::ios::binary) << text;
    CHECK(p::read_public_key_file(path) == pair.public_key);  // at the limit: read
    std::ofstream(path, std::ios::binary | std::ios::app) << "#";
    CHECK_THROWS_WITH(p::read_public_key_file(path), path + ": too large for a key file (over 64 KiB)");
    std::filesystem::remove(path);
    // A device that never ends: refused after 64 KiB and a byte, not read until memory runs out.
    CHECK_THROWS_WITH(p::read_public_key_file("/dev/zero"), "/dev/zero: too large for a key file (over 64 KiB)");
}
