#include "corsair/http/http_server.hpp"

#include <stdexcept>
#include <thread>

#include "corsair/protocol/text.hpp"
#include "http_context.hpp"
#include "lease_keeper.hpp"
#include "route_groups.hpp"
#include "session_pool.hpp"

namespace corsair::http {

namespace {

// Answers the errors cpp-httplib makes itself (no route, a malformed request, a body over the
// limit) as JSON like every other error, and counts them.
void answer_server_error(HttpContext& context, const httplib::Request& request, httplib::Response& response) {
    if (!response.body.empty()) return;
    ++context.counters.bad_requests;
    switch (response.status) {
        case 404:
            send_error(response, 404, "unknown_route",
                       "no route " + request.method + " " + protocol::printable(request.path) + " (see docs/http.md)");
            return;
        case 405: send_error(response, 405, "method_not_allowed", request.method + " is not served here"); return;
        case 413:
            send_error(response, 413, "payload_too_large",
                       "the request body is over the broker's limit of " +
                           std::to_string(context.link.max_payload_bytes) + " bytes of payload (--max-payload)");
            return;
        case 414: send_error(response, 414, "uri_too_long", "the request line is over 8192 bytes"); return;
        default:
            send_error(response, response.status, "bad_request", "the request is not well-formed HTTP");
            return;
    }
}

}  // namespace

class HttpServer::Impl {
public:
    Impl(zmq::context_t& zmq_context, HttpOptions options, BrokerLink link, std::shared_ptr<spdlog::logger> log)
        : zmq_context_(zmq_context) {
        context_.options = std::move(options);
        context_.link = std::move(link);
        context_.log = std::move(log);
        if (!context_.options.tokens_file.empty()) {
            try {
                context_.set_tokens(std::make_shared<const AccessTokens>(AccessTokens::load(context_.options.tokens_file)));
            } catch (const std::runtime_error& error) {
                throw std::invalid_argument(std::string("--http-tokens ") + error.what());
            }
        } else if (!is_loopback_address(context_.options.address) && !context_.options.insecure) {
            throw std::invalid_argument("--http " + context_.options.address +
                                     " is not a loopback address and no --http-tokens is given: anyone who reaches "
                                     "the port could submit, take and purge jobs. Give --http-tokens FILE, or "
                                     "--http-insecure to accept that");
        }
        configure();
        bind();
        listener_ = std::thread([this] { server_.listen_after_bind(); });
        // stop() only stops a server that runs: wait for it, so a quick destruction cannot hang.
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!server_.is_running() && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
        warn_if_open();
    }

    ~Impl() {
        context_.is_stopping = true;
        lease_keeper_->stop();  // ends the claims' long polls, so the request threads can finish
        server_.stop();
        if (listener_.joinable()) listener_.join();
    }

    const std::string& bound_address() const noexcept { return bound_address_; }
    HttpContext& context() noexcept { return context_; }

private:
    void configure() {
        // The body may hold a payload and its JSON envelope (base64 adds a third).
        const std::size_t max_body = context_.link.max_payload_bytes / 3 * 4 + 64 * 1024;
        server_.set_payload_max_length(max_body);
        const auto read_timeout = context_.options.read_timeout;
        server_.set_read_timeout(read_timeout);
        server_.set_write_timeout(read_timeout);
        server_.set_keep_alive_timeout(std::max<time_t>(1, std::chrono::duration_cast<std::chrono::seconds>(read_timeout).count()));
        server_.set_keep_alive_max_count(10'000);
        server_.set_tcp_nodelay(true);
        server_.new_task_queue = [this] { return new SessionPool(zmq_context_, context_); };
        server_.set_pre_routing_handler([this](const httplib::Request&, httplib::Response& response) {
            ++context_.counters.requests;
            if (!SessionPool::is_overloaded()) return httplib::Server::HandlerResponse::Unhandled;
            ++context_.counters.overload_refusals;
            response.set_header("Connection", "close");
            send_error(response, 503, "overloaded",
                       "every HTTP thread is busy and the backlog is full (--http-threads, --http-backlog)");
            return httplib::Server::HandlerResponse::Handled;
        });
        server_.set_error_handler([this](const httplib::Request& request, httplib::Response& response) {
            answer_server_error(context_, request, response);
        });
        add_health_routes(server_, context_);
        add_metrics_route(server_, context_);
        add_admin_routes(server_, context_);
        add_job_routes(server_, context_);
        lease_keeper_ = std::make_unique<LeaseKeeper>(zmq_context_, context_.link, context_.log);
        context_.lease_keeper = lease_keeper_.get();
        add_worker_routes(server_, context_);
        add_dashboard_routes(server_, context_);
    }

    void bind() {
        std::string host;
        int port = 0;
        if (!parse_http_address(context_.options.address, host, port)) {
            throw std::runtime_error("--http " + context_.options.address + ": not ADDR:PORT");
        }
        if (host.find(':') != std::string::npos) server_.set_address_family(AF_INET6);
        const int bound_port = port == 0 ? server_.bind_to_any_port(host) : (server_.bind_to_port(host, port) ? port : -1);
        if (bound_port < 0) {
            throw std::runtime_error("--http " + context_.options.address +
                                     ": cannot listen there (address in use, or not an address of this host)");
        }
        bound_address_ = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(bound_port);
    }

    void warn_if_open() {
        if (is_loopback_address(context_.options.address)) {
            context_.log->info("http listening address={} tokens={}", bound_address_, context_.tokens() ? "yes" : "no");
        } else if (!context_.tokens()) {
            context_.log->warn("http listening address={} WITHOUT TOKENS (--http-insecure): anyone who can reach this "
                               "port can submit, take and purge jobs", bound_address_);
        } else {
            context_.log->info("http listening address={} tokens={}", bound_address_, context_.tokens()->size());
        }
    }

    zmq::context_t& zmq_context_;
    HttpContext context_;
    httplib::Server server_;
    std::unique_ptr<LeaseKeeper> lease_keeper_;
    std::string bound_address_;
    std::thread listener_;
};

HttpServer::HttpServer(zmq::context_t& context, HttpOptions options, BrokerLink link,
                       std::shared_ptr<spdlog::logger> log)
    : impl_(std::make_unique<Impl>(context, std::move(options), std::move(link), std::move(log))) {}

HttpServer::~HttpServer() = default;

std::size_t HttpServer::zmq_sockets_needed(const HttpOptions& options) noexcept {
    return options.threads + LeaseKeeper::kMaxConnections;
}

const std::string& HttpServer::bound_address() const noexcept { return impl_->bound_address(); }

void HttpServer::set_ready(bool is_ready) noexcept {
    impl_->context().is_ready = is_ready;
    if (is_ready) impl_->context().has_been_ready = true;
}

void HttpServer::reload_tokens() {
    auto& context = impl_->context();
    if (context.options.tokens_file.empty()) return;
    try {
        auto tokens = std::make_shared<const AccessTokens>(AccessTokens::load(context.options.tokens_file));
        context.log->info("http tokens reloaded file={} tokens={}", context.options.tokens_file, tokens->size());
        context.set_tokens(std::move(tokens));
    } catch (const std::exception& error) {
        context.log->error("http tokens not reloaded, the previous ones stay in force: {}", error.what());
    }
}

}  // namespace corsair::http
