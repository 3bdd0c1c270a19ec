// Roles (docs/security.md): the access table itself, the Scheduler answering forbidden before
// anything else happens, and the --allowed-keys directory's loading rules.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "access_policy.hpp"
#include "allowed_keys.hpp"
#include "corsair/broker/log_limiter.hpp"
#include "corsair/protocol/curve.hpp"
#include "scheduler_fixture.hpp"
#include "scratch_dir.hpp"

using namespace std::chrono_literals;
using corsair::broker::access_refusal;
using corsair::broker::AllowedKeys;
using corsair::broker::KeyRole;
using corsair::broker::LogLimiter;
using corsair::broker::Peer;
using corsair::broker::test::Fixture;
namespace p = corsair::protocol;

namespace {

Peer keyed(KeyRole role, std::string_view name = "k") {
    Peer peer;
    peer.is_keyed = true;
    peer.key_name = name;
    peer.role = role;
    return peer;
}

bool may(KeyRole role, p::Command command) { return !access_refusal(keyed(role), command).has_value(); }

}  // namespace

TEST_CASE("each role may send exactly the commands of its column", "[broker][access]") {
    using p::Command;
    for (auto command : {Command::submit, Command::status, Command::stats}) {
        CHECK(may(KeyRole::producer, command));
        CHECK(may(KeyRole::admin, command));
        CHECK_FALSE(may(KeyRole::worker, command));
    }
    for (auto command : {Command::cancel, Command::retry, Command::purge, Command::dead, Command::queue, Command::list,
                         Command::clear, Command::delete_queue}) {
        CHECK_FALSE(may(KeyRole::producer, command));
        CHECK(may(KeyRole::admin, command));
        CHECK_FALSE(may(KeyRole::worker, command));
    }
    for (auto command : {Command::ready, Command::done, Command::dones, Command::fail, Command::heartbeat,
                         Command::progress, Command::drain, Command::disconnect}) {
        CHECK(may(KeyRole::worker, command));
        CHECK_FALSE(may(KeyRole::producer, command));
        CHECK_FALSE(may(KeyRole::admin, command));
    }
}

TEST_CASE("a peer without a key may send anything, and a removed key nothing", "[broker][access]") {
    CHECK_FALSE(access_refusal(Peer{}, p::Command::purge).has_value());
    Peer removed;
    removed.is_keyed = true;
    removed.key_name = "alice";
    const auto refusal = access_refusal(removed, p::Command::submit);
    REQUIRE(refusal);
    CHECK_THAT(*refusal, Catch::Contains("key 'alice' is no longer in the broker's --allowed-keys"));
    CHECK(access_refusal(keyed(KeyRole::producer, "alice"), p::Command::cancel) ==
          "key 'alice' has role producer; CANCEL needs an admin key");
}

TEST_CASE("the Scheduler refuses a forbidden command before it takes effect", "[broker][access]") {
    Fixture f;
    const Peer producer = keyed(KeyRole::producer, "alice");
    f.scheduler.on_producer_message("P", p::make_submit("j1", "q", false, p::make_payload("x")), f.now, producer);
    REQUIRE(f.outbox.to_producer_of<p::Accepted>("P").size() == 1);

    f.scheduler.on_producer_message("P", p::Cancel{"j1"}, f.now, producer);
    const auto errors = f.outbox.to_producer_of<p::Error>("P");
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].code == p::ErrorCode::forbidden);
    CHECK(errors[0].command == "CANCEL");
    CHECK(corsair::broker::test::find_job(f.scheduler, f.outbox, "j1", f.now)->state == p::JobState::pending);
    CHECK(f.scheduler.counters().forbidden_commands == 1);

    // A worker key's SUBMIT names its id in the refusal, like any SUBMIT error.
    f.scheduler.on_producer_message("W", p::make_submit("j2", "q", false, p::make_payload("x")), f.now,
                                    keyed(KeyRole::worker, "host7"));
    const auto worker_errors = f.outbox.to_producer_of<p::Error>("W");
    REQUIRE(worker_errors.size() == 1);
    CHECK(worker_errors[0].id == "j2");
    CHECK_FALSE(corsair::broker::test::find_job(f.scheduler, f.outbox, "j2", f.now).has_value());
}

TEST_CASE("a SUBMITS is refused or taken entry by entry, each refusal naming its job", "[broker][access]") {
    Fixture f;
    const auto batch = [](std::vector<std::string> ids) {
        p::Submits message;
        message.shared.queue = "q";
        for (auto& id : ids) message.entries.push_back(p::SubmitsEntry{std::move(id), p::make_payload("x")});
        return message;
    };
    f.scheduler.on_producer_message("P", batch({"j1", "j2"}), f.now, keyed(KeyRole::producer, "alice"));
    const auto accepted = f.outbox.to_producer_of<p::Accepted>("P");
    REQUIRE(accepted.size() == 2);
    CHECK(accepted[0].id == "j1");
    CHECK(accepted[1].id == "j2");

    f.scheduler.on_producer_message("W", batch({"j3", "j4"}), f.now, keyed(KeyRole::worker, "host7"));
    const auto errors = f.outbox.to_producer_of<p::Error>("W");
    REQUIRE(errors.size() == 2);
    for (std::size_t i = 0; i < 2; ++i) {
        CHECK(errors[i].code == p::ErrorCode::forbidden);
        CHECK(errors[i].command == "SUBMIT");
        CHECK(errors[i].id == (i == 0 ? "j3" : "j4"));
    }
    CHECK_FALSE(corsair::broker::test::find_job(f.scheduler, f.outbox, "j3", f.now).has_value());
    CHECK(f.scheduler.counters().forbidden_commands == 2);
}

TEST_CASE("a worker's key is kept with it and shown in STATS", "[broker][access]") {
    Fixture f;
    Peer worker = keyed(KeyRole::worker, "host7");
    worker.address = "10.0.0.7";
    f.scheduler.on_worker_message("W", p::Ready{{"q"}, 1, "w1"}, f.now, worker);
    const auto stats = f.scheduler.stats(f.now);
    REQUIRE(stats.workers.size() == 1);
    CHECK(stats.workers[0].key == "host7");
    CHECK(stats.workers[0].address == "10.0.0.7");
    // A producer key may not announce itself as a worker.
    f.scheduler.on_worker_message("X", p::Ready{{"q"}, 1, "thief"}, f.now, keyed(KeyRole::producer, "alice"));
    CHECK(f.scheduler.stats(f.now).workers.size() == 1);
    const auto errors = f.outbox.to_worker_of<p::Error>("X");
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].code == p::ErrorCode::forbidden);
    CHECK_THAT(errors[0].message, Catch::Contains("READY needs a worker key"));
}

TEST_CASE("the log limiter lets one line per key per period through and counts the rest", "[broker][access]") {
    LogLimiter limiter(std::chrono::minutes(1));
    const auto t0 = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
    CHECK(limiter.admit("a", t0) == 0);
    CHECK_FALSE(limiter.admit("a", t0 + 1s).has_value());
    CHECK_FALSE(limiter.admit("a", t0 + 59s).has_value());
    CHECK(limiter.admit("b", t0 + 59s) == 0);
    CHECK(limiter.admit("a", t0 + 60s) == 2u);
    for (std::size_t i = 0; i < LogLimiter::kMaxKeys + 10; ++i) limiter.admit("k" + std::to_string(i), t0 + 61s);
    CHECK(limiter.remembered() <= LogLimiter::kMaxKeys);
}

namespace {

struct KeyDir {
    corsair::test::ScratchDir dir{"corsair-allowed-keys"};
    void write(const std::string& file, const std::string& role, const p::CurveKeyPair& pair, bool is_secret = false) {
        std::map<std::string, std::string> metadata;
        if (!role.empty()) metadata["role"] = role;
        std::ofstream(dir / file) << p::format_certificate(pair, is_secret, metadata, "test");
    }
    AllowedKeys load() const { return AllowedKeys::load(dir.path()); }
};

}  // namespace

TEST_CASE("an --allowed-keys folder gives each file's key, name and role", "[broker][access]") {
    KeyDir keys;
    const auto alice = p::generate_curve_key_pair();
    const auto host7 = p::generate_curve_key_pair();
    keys.write("alice.key", "producer", alice);
    keys.write("host7", "worker", host7);
    keys.write(".host7.key.swp", "", host7);  // an editor's file: skipped
    const auto loaded = keys.load();
    CHECK(loaded.size() == 2);
    REQUIRE(loaded.find(alice.public_key) != nullptr);
    CHECK(loaded.find(alice.public_key)->name == "alice");
    CHECK(loaded.find(alice.public_key)->role == KeyRole::producer);
    CHECK(loaded.find(host7.public_key)->name == "host7");
    CHECK(loaded.count(KeyRole::worker) == 1);
    CHECK(loaded.find(p::generate_curve_key_pair().public_key) == nullptr);
}

TEST_CASE("an --allowed-keys folder refuses what would let the wrong peer in, naming the file", "[broker][access]") {
    KeyDir keys;
    const auto alice = p::generate_curve_key_pair();
    auto problem = [&] {
        try {
            keys.load();
            return std::string("loaded");
        } catch (const p::KeyFileError& e) {
            return std::string(e.what());
        }
    };
    SECTION("a secret key") {
        keys.write("alice.key", "producer", alice, true);
        CHECK_THAT(problem(), Catch::Contains("alice.key: holds a secret key"));
    }
    SECTION("no role") {
        keys.write("alice.key", "", alice);
        CHECK_THAT(problem(), Catch::Contains("alice.key: no role"));
    }
    SECTION("an unknown role, with its line") {
        keys.write("alice.key", "root", alice);
        CHECK_THAT(problem(), Catch::Contains("alice.key:") && Catch::Contains("unknown role 'root'"));
    }
    SECTION("the same key twice") {
        keys.write("alice.key", "producer", alice);
        keys.write("bob.key", "admin", alice);
        CHECK_THAT(problem(), Catch::Contains("bob.key: the same public key as 'alice'"));
    }
    SECTION("a malformed key") {
        std::ofstream(keys.dir / "bad.key") << "metadata\n    role = \"worker\"\ncurve\n    public-key = \"tooshort\"\n";
        CHECK_THAT(problem(), Catch::Contains("bad.key:4: `public-key` is not a 40-character Z85 key"));
    }
    SECTION("a line outside any section") {
        std::ofstream(keys.dir / "bad.key") << "    public-key = \"x\"\n";
        CHECK_THAT(problem(), Catch::Contains("bad.key:1: a property before any section"));
    }
    SECTION("not a directory") {
        CHECK_THROWS_AS(AllowedKeys::load(keys.dir / "missing"), p::KeyFileError);
    }
}
