// A small HTTP client for the integration tests of the broker's HTTP side (docs/http.md): one
// cpp-httplib client per call, JSON answers parsed. Owned by the test's thread.
#pragma once

#include <map>
#include <string>

#include <httplib.h>
#include <nlohmann/json.hpp>

namespace corsair::test {

struct HttpAnswer {
    int status = 0;  // 0: no answer (connection refused, timeout)
    std::string body;
    std::multimap<std::string, std::string> headers;
    // The body as JSON (null when it is not JSON).
    nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
};

class HttpClient {
public:
    // `address` as on the broker's ready line: "127.0.0.1:PORT".
    explicit HttpClient(std::string address, std::string token = {}) : address_(std::move(address)), token_(std::move(token)) {}

    HttpAnswer get(const std::string& path) { return call("GET", path, "", ""); }
    HttpAnswer post_json(const std::string& path, const nlohmann::json& body) {
        return call("POST", path, body.dump(), "application/json");
    }
    // Any method, body and content type; an empty content type sends no body.
    HttpAnswer call(const std::string& method, const std::string& path, const std::string& body,
                    const std::string& content_type) {
        const auto colon = address_.rfind(':');
        httplib::Client client(address_.substr(0, colon), std::stoi(address_.substr(colon + 1)));
        client.set_connection_timeout(5);
        client.set_read_timeout(70);
        httplib::Headers headers;
        if (!token_.empty()) headers.emplace("Authorization", "Bearer " + token_);
        auto result = method == "GET"      ? client.Get(path, headers)
                      : method == "POST"   ? client.Post(path, headers, body, content_type)
                      : method == "PUT"    ? client.Put(path, headers, body, content_type)
                      : method == "PATCH"  ? client.Patch(path, headers, body, content_type)
                      : method == "DELETE" ? client.Delete(path, headers, body, content_type)
                                           : client.Options(path, headers);
        HttpAnswer answer;
        if (!result) return answer;
        answer.status = result->status;
        answer.body = result->body;
        for (const auto& [name, value] : result->headers) answer.headers.emplace(name, value);
        return answer;
    }

private:
    std::string address_;
    std::string token_;
};

}  // namespace corsair::test
