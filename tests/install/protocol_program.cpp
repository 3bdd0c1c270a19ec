// Built by install_test.sh with `pkg-config --cflags --libs corsair-protocol` as C++17, the
// standard the protocol headers promise third-party code: a HEARTBEAT encoded and decoded back.
#include <corsair/protocol/protocol.hpp>
#include <iostream>
#include <variant>

int main() {
    corsair::protocol::Heartbeat heartbeat;
    heartbeat.interval_ms = 250;
    auto frames = corsair::protocol::encode(heartbeat);
    const auto decoded = corsair::protocol::decode(frames);
    if (!decoded || !std::holds_alternative<corsair::protocol::Heartbeat>(*decoded)) {
        std::cerr << "protocol_program: the HEARTBEAT did not decode back\n";
        return 1;
    }
    std::cout << "heartbeat interval_ms=" << *std::get<corsair::protocol::Heartbeat>(*decoded).interval_ms << "\n";
    return 0;
}
