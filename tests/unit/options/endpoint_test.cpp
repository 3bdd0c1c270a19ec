// Endpoint checks made before a bind or connect, and the texts every program shares.
#include <catch2/catch.hpp>

#include <cstdlib>

#include "corsair/options/endpoint.hpp"

namespace corsair::options {
namespace {

using namespace std::chrono_literals;

TEST_CASE("a connect endpoint needs a transport, a host and a port", "[options][endpoint]") {
    CHECK_FALSE(endpoint_problem("tcp://127.0.0.1:5555").has_value());
    CHECK_FALSE(endpoint_problem("tcp://broker.example:5556").has_value());
    CHECK_FALSE(endpoint_problem("tcp://[::1]:5555").has_value());
    CHECK_FALSE(endpoint_problem("ipc:///run/corsair.sock").has_value());
    CHECK(endpoint_problem("127.0.0.1:5555") == "'127.0.0.1:5555' has no transport: write tcp://127.0.0.1:5555");
    CHECK(endpoint_problem("udp://h:1")->find("unknown transport 'udp'") != std::string::npos);
    CHECK(endpoint_problem("tcp://h")->find("needs a host and a port") != std::string::npos);
    CHECK(endpoint_problem("tcp://h:0")->find("no valid port") != std::string::npos);
    CHECK(endpoint_problem("tcp://h:65536")->find("no valid port") != std::string::npos);
    CHECK(endpoint_problem("tcp://*:5555").has_value() == false);  // a host named *, refused by zmq later
    CHECK(endpoint_problem("").has_value());
}

TEST_CASE("a bind endpoint also takes wildcards", "[options][endpoint]") {
    CHECK_FALSE(endpoint_problem("tcp://*:5555", true).has_value());
    CHECK_FALSE(endpoint_problem("tcp://127.0.0.1:0", true).has_value());
    CHECK_FALSE(endpoint_problem("tcp://127.0.0.1:*", true).has_value());
    CHECK(endpoint_problem("*:5555", true) == "'*:5555' has no transport: write tcp://*:5555");
}

TEST_CASE("a host that does not resolve is named", "[options][endpoint]") {
    CHECK_FALSE(resolve_problem("tcp://127.0.0.1:5555").has_value());
    CHECK_FALSE(resolve_problem("tcp://localhost:5555").has_value());
    CHECK_FALSE(resolve_problem("ipc:///tmp/x").has_value());
    const auto problem = resolve_problem("tcp://no-such-host.invalid:5555");
    REQUIRE(problem.has_value());
    CHECK(problem->rfind("cannot resolve host 'no-such-host.invalid' in tcp://no-such-host.invalid:5555: ", 0) == 0);
}

TEST_CASE("wrong_endpoint's message names an endpoint the operator can paste", "[options][endpoint]") {
    CHECK(wrong_endpoint_text("tcp://10.0.0.7:5555", "this is the producer endpoint; workers connect to tcp://0.0.0.0:5556") ==
          "the broker at tcp://10.0.0.7:5555 says: this is the producer endpoint; workers connect to tcp://10.0.0.7:5556");
    CHECK(wrong_endpoint_text("tcp://h:5556", "this is the worker endpoint; producers connect to tcp://192.168.1.2:5555") ==
          "the broker at tcp://h:5556 says: this is the worker endpoint; producers connect to tcp://192.168.1.2:5555");
}

TEST_CASE("one wording for a broker that does not answer", "[options][endpoint]") {
    CHECK(no_answer_text("tcp://h:5555", 10s, "producer", "--broker") ==
          "no answer from the broker at tcp://h:5555 within 10s (is it running, and is that its producer endpoint? "
          "see --broker)");
}

TEST_CASE("CORSAIR_BROKER is named with the variable to set instead", "[options][endpoint]") {
    ::unsetenv("CORSAIR_BROKER");
    CHECK_FALSE(retired_variable_problem(kProducerEndpointVariable, "tcp://HOST:5555").has_value());
    ::setenv("CORSAIR_BROKER", "tcp://b:5555", 1);
    const auto problem = retired_variable_problem(kProducerEndpointVariable, "tcp://HOST:5555");
    ::unsetenv("CORSAIR_BROKER");
    REQUIRE(problem.has_value());
    CHECK(problem->find("CORSAIR_BROKER=tcp://b:5555 is no longer read") == 0);
    CHECK(problem->find("set CORSAIR_PRODUCER_ENDPOINT=tcp://HOST:5555") != std::string::npos);
}

}  // namespace
}  // namespace corsair::options
