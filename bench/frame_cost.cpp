// corsair-frame-cost: what a ZeroMQ frame costs beside the bytes it carries. A DEALER sends
// messages of a short header frame and PER payloads of 64 bytes to a ROUTER, which sends each
// message back as it came (as JOBS go out and DONES come back), over TCP on loopback, with up to
// about 1,000 payloads in flight. Once with each payload in a frame of its own, as JOBS, DONES,
// RESULTS and SUBMITS carry them to a peer that does not read packed batches (docs/protocol.md
// §3), and once with the PER payloads in one frame, as packed batches carry them (§3.1, here
// without the sizes: the frames are measured, not the codec). Prints payloads a second and the CPU of the whole process (both sockets
// and both contexts' I/O threads) per payload, for each shape, alternated ROUNDS times.
// Usage: corsair-frame-cost [PER (48)] [PAYLOADS (1,000,000)] [ROUNDS (3)].
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>
#include <zmq_addon.hpp>

namespace {

constexpr std::size_t kPayloadBytes = 64;
constexpr long kInFlightPayloads = 1'000;

double process_cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    const auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

struct Figures {
    double payloads_per_second = 0;
    double cpu_us_per_payload = 0;
};

// One timed pass: `payloads` payloads there and back, `per` to a message, packed or not.
Figures measure(bool packed, long per, long payloads) {
    zmq::context_t server_context;
    zmq::socket_t router(server_context, zmq::socket_type::router);
    router.set(zmq::sockopt::linger, 0);
    router.bind("tcp://127.0.0.1:0");
    const std::string endpoint = router.get(zmq::sockopt::last_endpoint);
    const long messages = payloads / per;
    std::thread echo([&router, messages] {
        std::vector<zmq::message_t> parts;
        for (long n = 0; n < messages; ++n) {
            parts.clear();
            if (!zmq::recv_multipart(router, std::back_inserter(parts))) throw std::runtime_error("echo: recv failed");
            zmq::send_multipart(router, parts);
        }
    });

    zmq::context_t client_context;
    zmq::socket_t dealer(client_context, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::linger, 0);
    dealer.connect(endpoint);
    const std::string header = "header";
    const std::string payload(kPayloadBytes, 'x');
    const std::string packed_payloads = [&] {
        std::string all;
        for (long i = 0; i < per; ++i) all += payload;
        return all;
    }();
    const auto send_message = [&] {
        dealer.send(zmq::buffer(header), zmq::send_flags::sndmore);
        if (packed) {
            dealer.send(zmq::buffer(packed_payloads), zmq::send_flags::none);
            return;
        }
        for (long i = 0; i < per; ++i) {
            dealer.send(zmq::buffer(payload), i + 1 < per ? zmq::send_flags::sndmore : zmq::send_flags::none);
        }
    };
    const long window = kInFlightPayloads / per + 1;
    const auto started = std::chrono::steady_clock::now();
    const double cpu_before = process_cpu_seconds();
    long sent = 0, received = 0, in_flight = 0;
    std::vector<zmq::message_t> parts;
    while (received < messages) {
        for (; in_flight < window && sent < messages; ++in_flight, ++sent) send_message();
        parts.clear();
        if (!zmq::recv_multipart(dealer, std::back_inserter(parts))) throw std::runtime_error("dealer: recv failed");
        ++received;
        --in_flight;
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const double cpu = process_cpu_seconds() - cpu_before;
    echo.join();
    const double carried = static_cast<double>(messages * per);
    return {carried / seconds, cpu / carried * 1e6};
}

}  // namespace

int main(int argc, char** argv) {
    const long per = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 48;
    const long payloads = argc > 2 ? std::strtol(argv[2], nullptr, 10) : 1'000'000;
    const long rounds = argc > 3 ? std::strtol(argv[3], nullptr, 10) : 3;
    if (per <= 0 || per > 1024 || payloads < per || rounds <= 0) {
        std::fprintf(stderr, "usage: corsair-frame-cost [PER 1..1024] [PAYLOADS >= PER] [ROUNDS > 0]\n");
        return 2;
    }
    std::printf("corsair-frame-cost: %ld payloads of %zu B, %ld to a message, there and back over tcp loopback\n",
                payloads, kPayloadBytes, per);
    for (long round = 1; round <= rounds; ++round) {
        for (const bool packed : {false, true}) {
            const Figures figures = measure(packed, per, payloads);
            std::printf("  round %ld, %-28s %10.0f payloads/s, %.3f us of CPU per payload\n", round,
                        packed ? "one frame for all payloads:" : "a frame per payload:", figures.payloads_per_second,
                        figures.cpu_us_per_payload);
            std::fflush(stdout);
        }
    }
    return 0;
}
