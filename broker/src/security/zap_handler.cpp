#include "zap_handler.hpp"

#include <array>
#include <vector>

#include "corsair/protocol/curve.hpp"

namespace corsair::broker {

namespace {

constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";

void log_loaded(spdlog::logger& log, const char* what, const std::filesystem::path& dir, const AllowedKeys& keys) {
    log.info("{} dir={} keys={} producer={} worker={} admin={}", what, dir.string(), keys.size(),
             keys.count(KeyRole::producer), keys.count(KeyRole::worker), keys.count(KeyRole::admin));
}

std::string z85_of(const zmq::message_t& key) {
    if (key.size() != 32) return {};
    std::array<char, protocol::kZ85KeyChars + 1> text{};
    if (zmq_z85_encode(text.data(), static_cast<const std::uint8_t*>(key.data()), key.size()) == nullptr) return {};
    return text.data();
}

}  // namespace

ZapHandler::ZapHandler(zmq::context_t& context, std::filesystem::path allowed_keys_dir,
                       std::shared_ptr<spdlog::logger> log)
    : context_(context), dir_(std::move(allowed_keys_dir)), log_(std::move(log)) {
    keys_ = std::make_shared<const AllowedKeys>(AllowedKeys::load(dir_));
    log_loaded(*log_, "CURVE on: allowed keys loaded", dir_, *keys_);
    zmq::socket_t handler(context_, zmq::socket_type::rep);
    handler.set(zmq::sockopt::linger, 0);
    handler.bind(kZapEndpoint);
    zmq::socket_t stop(context_, zmq::socket_type::pull);
    stop.set(zmq::sockopt::linger, 0);
    stop_endpoint_ = "inproc://corsair-zap-stop-" + std::to_string(reinterpret_cast<std::uintptr_t>(this));
    stop.bind(stop_endpoint_);
    thread_ = std::thread(&ZapHandler::run, this, std::move(handler), std::move(stop));
}

ZapHandler::~ZapHandler() {
    {
        zmq::socket_t push(context_, zmq::socket_type::push);
        push.set(zmq::sockopt::linger, 1000);
        push.connect(stop_endpoint_);
        push.send(zmq::str_buffer("stop"), zmq::send_flags::none);
    }
    thread_.join();
}

void ZapHandler::reload() {
    try {
        auto keys = std::make_shared<const AllowedKeys>(AllowedKeys::load(dir_));
        log_loaded(*log_, "allowed keys reloaded", dir_, *keys);
        std::lock_guard lock(mutex_);
        keys_ = std::move(keys);
        generation_.fetch_add(1, std::memory_order_release);
    } catch (const std::exception& e) {
        log_->error("allowed keys not reloaded, the keys loaded before stay in force: {}", e.what());
    }
}

std::shared_ptr<const AllowedKeys> ZapHandler::keys() const {
    std::lock_guard lock(mutex_);
    return keys_;
}

void ZapHandler::run(zmq::socket_t handler, zmq::socket_t stop) {
    std::array<zmq::pollitem_t, 2> items{{{handler.handle(), 0, ZMQ_POLLIN, 0}, {stop.handle(), 0, ZMQ_POLLIN, 0}}};
    for (;;) {
        zmq::poll(items.data(), items.size(), std::chrono::milliseconds(-1));
        if (items[1].revents & ZMQ_POLLIN) return;
        if (items[0].revents & ZMQ_POLLIN) answer(handler);
    }
}

// RFC 27: request = version, request id, domain, address, identity, mechanism, credentials...;
// reply = version, request id, status code, status text, user id, metadata.
void ZapHandler::answer(zmq::socket_t& handler) {
    std::vector<zmq::message_t> request;
    for (;;) {
        zmq::message_t frame;
        if (!handler.recv(frame, zmq::recv_flags::none)) return;
        const bool more = frame.more();
        request.push_back(std::move(frame));
        if (!more) break;
    }
    auto frame_text = [&request](std::size_t i) { return i < request.size() ? request[i].to_string() : std::string(); };
    const std::string mechanism = frame_text(5);
    std::string public_key = request.size() > 6 && mechanism == "CURVE" ? z85_of(request[6]) : std::string();
    std::string status = "400";
    std::string text = "key not in the broker's --allowed-keys";
    std::string user_id;
    if (frame_text(0) != "1.0") {
        text = "unsupported ZAP version";
    } else if (!public_key.empty() && keys()->find(public_key) != nullptr) {
        status = "200";
        text = "OK";
        user_id = public_key;
    } else {
        refusals_.fetch_add(1, std::memory_order_relaxed);
        const std::string who = public_key.empty() ? mechanism : public_key;
        if (auto unlogged = refusal_log_.admit(who, std::chrono::steady_clock::now())) {
            log_->warn("refused a connection: key {} from {} on the {} endpoint is not in --allowed-keys {} "
                       "(earlier refusals of it unlogged: {}; counted in auth_refusals)",
                       who, frame_text(3).empty() ? "unknown" : frame_text(3), frame_text(2), dir_.string(), *unlogged);
        }
    }
    const std::array<std::string, 6> reply{"1.0", frame_text(1), status, text, user_id, ""};
    for (std::size_t i = 0; i < reply.size(); ++i) {
        handler.send(zmq::buffer(reply[i]), i + 1 < reply.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    }
}

}  // namespace corsair::broker
