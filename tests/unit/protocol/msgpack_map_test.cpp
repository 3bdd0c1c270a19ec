// MapWriter computes container sizes and writes what msgpack's packer would; MapReader keeps
// the first problem and names it.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include <msgpack.hpp>

#include "corsair/protocol/msgpack_map.hpp"

namespace corsair::protocol {
namespace {

using Packer = msgpack::packer<msgpack::sbuffer>;

std::string key_of(std::size_t i) { return "k" + std::to_string(i); }

// A map of `count` entries k<i> -> i, as msgpack's packer writes it with the count given first.
std::string packed_map(std::size_t count) {
    msgpack::sbuffer buffer;
    Packer packer(buffer);
    packer.pack_map(static_cast<std::uint32_t>(count));
    for (std::size_t i = 0; i < count; ++i) {
        packer.pack(key_of(i));
        packer.pack(i);
    }
    return std::string(buffer.data(), buffer.size());
}

std::string packed_array(std::size_t count) {
    msgpack::sbuffer buffer;
    Packer packer(buffer);
    packer.pack_array(static_cast<std::uint32_t>(count));
    for (std::size_t i = 0; i < count; ++i) packer.pack(i);
    return std::string(buffer.data(), buffer.size());
}

TEST_CASE("a container's header is computed from what was written, whatever size was expected",
          "[protocol][msgpack_map]") {
    // Each size class of the header (fix, 16-bit, 32-bit) and its edges.
    for (std::size_t count : {0u, 1u, 15u, 16u, 17u, 65535u, 65536u}) {
        for (std::size_t expected : {std::size_t{0}, count, std::size_t{70'000}}) {
            INFO("count=" << count << " expected=" << expected);
            std::string map = "prefix";
            MapWriter writer(map);
            writer.begin_map(expected);
            for (std::size_t i = 0; i < count; ++i) writer.field(key_of(i), i);
            writer.end();
            CHECK(map == "prefix" + packed_map(count));

            std::string array;
            MapWriter array_writer(array);
            array_writer.begin_array(expected);
            for (std::size_t i = 0; i < count; ++i) array_writer.value(i);
            array_writer.end();
            CHECK(array == packed_array(count));
        }
    }
}

TEST_CASE("nested containers count as one value of the container around them", "[protocol][msgpack_map]") {
    std::string written;
    MapWriter writer(written);
    writer.begin_map();
    writer.key("list");
    writer.begin_array();
    for (int i = 0; i < 20; ++i) {
        writer.begin_map();
        writer.field("n", i);
        writer.end();
    }
    writer.end();
    writer.field("text", "t");
    writer.bytes_field("bin", std::string("\0\1", 2));
    writer.field("flag", false);
    writer.optional_field("absent", std::optional<int>());
    writer.optional_field("present", std::optional<int>(-3));
    writer.end();

    msgpack::sbuffer buffer;
    Packer packer(buffer);
    packer.pack_map(5);
    packer.pack(std::string("list"));
    packer.pack_array(20);
    for (int i = 0; i < 20; ++i) {
        packer.pack_map(1);
        packer.pack(std::string("n"));
        packer.pack(i);
    }
    packer.pack(std::string("text"));
    packer.pack(std::string("t"));
    packer.pack(std::string("bin"));
    packer.pack_bin(2);
    packer.pack_bin_body("\0\1", 2);
    packer.pack(std::string("flag"));
    packer.pack(false);
    packer.pack(std::string("present"));
    packer.pack(-3);
    CHECK(written == std::string(buffer.data(), buffer.size()));
}

msgpack::object_handle unpacked(const std::string& bytes) { return msgpack::unpack(bytes.data(), bytes.size()); }

TEST_CASE("a reader keeps the first problem and later reads return defaults", "[protocol][msgpack_map]") {
    std::string bytes;
    MapWriter writer(bytes);
    writer.begin_map();
    writer.field("name", 7);
    writer.field("count", 5);
    writer.end();
    const auto handle = unpacked(bytes);
    ReadStatus status;
    const MapReader reader(handle.get(), status);

    CHECK(reader.unsigned_integer("count", 0, 10, std::nullopt) == 5);
    CHECK_FALSE(status.failed());
    CHECK(reader.string("name", 16, Presence::required).empty());
    CHECK(reader.string("missing", 16, Presence::required).empty());
    CHECK(reader.unsigned_integer("count", 0, 10, std::nullopt) == 5);
    CHECK(reader.unsigned_integer("count", 0, 4, std::nullopt) == 0);
    REQUIRE(status.failed());
    CHECK(status.error().code == ErrorCode::bad_field_type);
    CHECK(status.error().detail == "name");
    CHECK(status.describe() == "not a string key=name");
}

TEST_CASE("a reader names each kind of problem", "[protocol][msgpack_map]") {
    std::string bytes;
    MapWriter writer(bytes);
    writer.begin_map();
    writer.field("text", "");
    writer.field("negative", -1);
    writer.field("big", 300);
    writer.end();
    const auto handle = unpacked(bytes);
    const auto problem = [&](auto read) {
        ReadStatus status;
        read(MapReader(handle.get(), status));
        return status.failed() ? status.describe() : std::string("none");
    };
    CHECK(problem([](const MapReader& r) { r.string("absent", 8, Presence::required); }) == "missing key=absent");
    CHECK(problem([](const MapReader& r) { r.string("absent", 8, Presence::optional); }) == "none");
    CHECK(problem([](const MapReader& r) { r.string("text", 8, Presence::required); }) == "none");
    CHECK(problem([](const MapReader& r) { r.string("text", 8, Presence::non_empty); }) == "empty key=text");
    CHECK(problem([](const MapReader& r) { r.bytes("text", Presence::required); }) == "not bytes key=text");
    CHECK(problem([](const MapReader& r) { r.boolean("big", std::nullopt); }) == "not a boolean key=big");
    CHECK(problem([](const MapReader& r) { r.unsigned_integer("negative", 0, 10, 0); }) == "negative key=negative");
    CHECK(problem([](const MapReader& r) { r.unsigned_integer("big", 0, 255, 0); }) == "out of range key=big");
    CHECK(problem([](const MapReader& r) { r.signed_integer("negative", -1, 0, 0); }) == "none");
    CHECK(problem([](const MapReader& r) { r.signed_integer("text", -1, 0, 0); }) == "not an integer key=text");
}

TEST_CASE("a reader skips keys that are not strings and takes the first of a repeated key",
          "[protocol][msgpack_map]") {
    msgpack::sbuffer buffer;
    Packer packer(buffer);
    packer.pack_map(3);
    packer.pack(1);
    packer.pack(std::string("not a key"));
    packer.pack(std::string("id"));
    packer.pack(std::string("first"));
    packer.pack(std::string("id"));
    packer.pack(std::string("second"));
    const auto handle = msgpack::unpack(buffer.data(), buffer.size());
    ReadStatus status;
    const MapReader reader(handle.get(), status);
    CHECK(reader.string("id", 16, Presence::required) == "first");
    CHECK_FALSE(status.failed());
}

}  // namespace
}  // namespace corsair::protocol
