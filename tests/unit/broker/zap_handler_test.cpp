// The broker's ZAP handler (ZeroMQ RFC 27), asked over inproc exactly as libzmq asks it during a
// CURVE handshake: who gets in and under which User-Id, what is counted and logged, and what a
// reload of --allowed-keys changes.
#include <array>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <zmq.hpp>

#include "corsair/protocol/curve.hpp"
#include "scratch_dir.hpp"
#include "zap_handler.hpp"

namespace p = corsair::protocol;
using corsair::broker::ZapHandler;

namespace {

struct ZapReply {
    std::string version, request_id, status, text, user_id;
};

struct Fixture {
    corsair::test::ScratchDir dir{"corsair-zap"};
    zmq::context_t context;
    std::ostringstream log_text;
    std::shared_ptr<spdlog::logger> log =
        std::make_shared<spdlog::logger>("broker", std::make_shared<spdlog::sinks::ostream_sink_mt>(log_text));

    void write_key(const std::string& file, const std::string& role, const p::CurveKeyPair& pair) {
        std::ofstream(dir / file) << p::format_certificate(pair, false, {{"role", role}}, "test");
    }

    // One ZAP request as libzmq sends it; frames past `mechanism` are the credentials.
    ZapReply ask(const std::vector<std::string>& frames) {
        zmq::socket_t client(context, zmq::socket_type::req);
        client.set(zmq::sockopt::linger, 0);
        client.set(zmq::sockopt::rcvtimeo, 5000);
        client.connect("inproc://zeromq.zap.01");
        for (std::size_t i = 0; i < frames.size(); ++i) {
            client.send(zmq::buffer(frames[i]), i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
        }
        std::vector<std::string> reply;
        for (;;) {
            zmq::message_t frame;
            REQUIRE(client.recv(frame, zmq::recv_flags::none));  // within rcvtimeo: the handler answers
            reply.push_back(frame.to_string());
            if (!frame.more()) break;
        }
        REQUIRE(reply.size() == 6);
        return {reply[0], reply[1], reply[2], reply[3], reply[4]};
    }

    ZapReply ask_curve(const std::string& public_key_z85, const std::string& request_id = "1") {
        std::array<std::uint8_t, 32> key{};
        REQUIRE(zmq_z85_decode(key.data(), public_key_z85.c_str()) != nullptr);
        return ask({"1.0", request_id, "", "127.0.0.7", "", "CURVE", std::string(key.begin(), key.end())});
    }

    std::size_t log_lines_with(const std::string& text) const {
        std::istringstream lines(log_text.str());
        std::size_t count = 0;
        for (std::string line; std::getline(lines, line);) count += line.find(text) != std::string::npos ? 1 : 0;
        return count;
    }
};

}  // namespace

TEST_CASE("the ZAP handler lets an allowed CURVE key in under its public key and refuses the rest",
          "[broker][zap_handler]") {
    Fixture f;
    const auto alice = p::generate_curve_key_pair();
    f.write_key("alice.key", "producer", alice);
    ZapHandler zap(f.context, f.dir.path(), f.log);

    const auto allowed = f.ask_curve(alice.public_key, "req-7");
    CHECK(allowed.version == "1.0");
    CHECK(allowed.request_id == "req-7");
    CHECK(allowed.status == "200");
    // The loop looks the role up by this User-Id on every message.
    CHECK(allowed.user_id == alice.public_key);
    CHECK(zap.refusals() == 0);

    const auto stranger = f.ask_curve(p::generate_curve_key_pair().public_key);
    CHECK(stranger.status == "400");
    CHECK(stranger.user_id.empty());
    CHECK_THAT(stranger.text, Catch::Contains("--allowed-keys"));
    CHECK(zap.refusals() == 1);

    // With CURVE on, libzmq only asks about CURVE; anything else is refused all the same.
    CHECK(f.ask({"1.0", "2", "", "127.0.0.7", "", "NULL"}).status == "400");
    CHECK(f.ask({"1.0", "3", "", "127.0.0.7", "", "CURVE", "short"}).status == "400");
    CHECK(zap.refusals() == 3);
    const auto future = f.ask({"2.0", "4", "", "127.0.0.7", "", "CURVE", std::string(32, 'k')});
    CHECK(future.status == "400");
    CHECK(future.text == "unsupported ZAP version");
}

TEST_CASE("the ZAP handler logs a refused key once a minute however often it knocks, and counts each",
          "[broker][zap_handler]") {
    Fixture f;
    f.write_key("alice.key", "producer", p::generate_curve_key_pair());
    ZapHandler zap(f.context, f.dir.path(), f.log);
    const auto mallory = p::generate_curve_key_pair();
    for (int i = 0; i < 50; ++i) CHECK(f.ask_curve(mallory.public_key).status == "400");
    CHECK(zap.refusals() == 50);
    CHECK(f.log_lines_with("refused a connection") == 1);
    CHECK(f.log_lines_with(mallory.public_key) == 1);
    CHECK(f.log_lines_with("from 127.0.0.7") == 1);

    const auto eve = p::generate_curve_key_pair();
    CHECK(f.ask_curve(eve.public_key).status == "400");
    CHECK(f.log_lines_with("refused a connection") == 2);
    CHECK(f.log_lines_with(eve.public_key) == 1);
}

TEST_CASE("a reload of --allowed-keys lets new keys in and shuts removed ones out, and a folder that no "
          "longer loads keeps the keys in force",
          "[broker][zap_handler]") {
    Fixture f;
    const auto alice = p::generate_curve_key_pair();
    const auto host7 = p::generate_curve_key_pair();
    f.write_key("alice.key", "producer", alice);
    ZapHandler zap(f.context, f.dir.path(), f.log);
    const auto first = zap.generation();
    CHECK(f.ask_curve(host7.public_key).status == "400");

    f.write_key("host7.key", "worker", host7);
    std::filesystem::remove(f.dir / "alice.key");
    zap.reload();
    CHECK(zap.generation() == first + 1);
    CHECK(f.ask_curve(host7.public_key).status == "200");
    CHECK(f.ask_curve(alice.public_key).status == "400");
    REQUIRE(zap.keys()->find(host7.public_key) != nullptr);
    CHECK(zap.keys()->find(host7.public_key)->name == "host7");

    std::ofstream(f.dir / "broken.key") << "curve\n    public-key = \"not a key\"\n";
    zap.reload();
    CHECK(zap.generation() == first + 1);
    CHECK(f.log_lines_with("allowed keys not reloaded, the keys loaded before stay in force") == 1);
    CHECK(f.log_lines_with("broken.key") == 1);
    CHECK(f.ask_curve(host7.public_key).status == "200");
}
