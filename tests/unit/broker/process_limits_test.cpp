#include "corsair/broker/process_limits.hpp"
#include <sys/resource.h>

#include <catch2/catch.hpp>
#include <zmq.hpp>

using corsair::broker::open_file_limit_warning;

TEST_CASE("the broker's context holds its own sockets plus the HTTP side's, within libzmq's ceiling",
          "[broker][process_limits]") {
    zmq::context_t context(1);
    corsair::broker::size_zmq_context(context, 32 + 1024);
    CHECK(context.get(zmq::ctxopt::max_sockets) >= 32 + 1024);
    CHECK(context.get(zmq::ctxopt::max_sockets) <= zmq_ctx_get(context.handle(), ZMQ_SOCKET_LIMIT));
    zmq::context_t small(1);
    corsair::broker::size_zmq_context(small, 0);
    CHECK(small.get(zmq::ctxopt::max_sockets) >= 1023);  // never below libzmq's default
}

TEST_CASE("an open file limit too small for --max-workers is named in a warning, a large one or no limit is not",
          "[broker][process_limits]") {
    const auto warning = open_file_limit_warning(1024, 10'000);
    CHECK_THAT(warning, Catch::Contains("open file limit (1024") && Catch::Contains("--max-workers (10000)"));
    CHECK(open_file_limit_warning(1'048'576, 10'000).empty());
    CHECK(open_file_limit_warning(1024, 0).empty());
}

TEST_CASE("the soft open file limit is raised to the hard one", "[broker][process_limits]") {
    const auto limit = corsair::broker::raise_open_file_limit();
    CHECK(limit.now >= limit.before);
    rlimit files{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &files) == 0);
    CHECK(files.rlim_cur == files.rlim_max);
}
