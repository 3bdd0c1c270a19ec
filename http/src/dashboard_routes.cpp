// GET / and GET /dashboard/FILE: the dashboard (docs/http.md §Dashboard), served from the files
// built into the binary. Once tokens are configured it needs an admin token, like the API it
// calls; a browser logs in with GET /?token=T, which sets the corsair_token cookie.
#include "dashboard_assets.hpp"
#include "http_context.hpp"
#include "route_groups.hpp"

namespace corsair::http {

namespace {

// Only the broker's own files run or load: no inline script or style, no other origin, no frames.
constexpr const char* kContentSecurityPolicy =
    "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'";

std::string content_type_of(std::string_view name) {
    const auto dot = name.rfind('.');
    const auto extension = dot == std::string_view::npos ? std::string_view() : name.substr(dot + 1);
    if (extension == "html") return "text/html; charset=utf-8";
    if (extension == "js") return "text/javascript; charset=utf-8";
    if (extension == "css") return "text/css; charset=utf-8";
    if (extension == "svg") return "image/svg+xml";
    if (extension == "png") return "image/png";
    return "application/octet-stream";
}

void set_page_headers(httplib::Response& response) {
    response.set_header("Cache-Control", "no-cache");
    response.set_header("Content-Security-Policy", kContentSecurityPolicy);
    response.set_header("X-Content-Type-Options", "nosniff");
    response.set_header("Referrer-Policy", "no-referrer");
}

void send_asset(httplib::Response& response, std::string_view name) {
    for (const auto& asset : dashboard_assets()) {
        if (asset.name != name) continue;
        set_page_headers(response);
        response.status = 200;
        response.set_content(std::string(asset.bytes), content_type_of(asset.name));
        return;
    }
    throw HttpError(404, "unknown_route", "the dashboard has no file " + std::string(name));
}

// What a browser without a usable token gets: a form that comes back as GET /?token=T. Its text
// is fixed (nothing of the request is echoed), and it needs no script or style.
void send_login_page(httplib::Response& response, int status, std::string_view reason) {
    std::string page =
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Corsair: token needed</title></head>\n"
        "<body><h1>Corsair</h1>\n<p>";
    page += reason;
    page +=
        "</p>\n<form method=\"get\" action=\"/\"><label>Admin token (<code>--http-tokens</code>): "
        "<input name=\"token\" type=\"password\" autocomplete=\"off\" required autofocus></label> "
        "<button type=\"submit\">Log in</button></form>\n"
        "<p>The token is kept in a cookie for this browser session only.</p>\n</body></html>\n";
    set_page_headers(response);
    if (status == 401) response.set_header("WWW-Authenticate", "Bearer realm=\"corsair\"");
    response.status = status;
    response.set_content(page, "text/html; charset=utf-8");
}

// Whether `token` may see the dashboard; otherwise answers with the login page and counts it.
bool admit(HttpContext& context, const AccessTokens& tokens, const std::string& token, httplib::Response& response) {
    const auto found = token.empty() ? std::nullopt : tokens.find(token);
    if (found && found->role == Role::admin) return true;
    ++context.counters.auth_refusals;
    if (token.empty()) {
        send_login_page(response, 401, "This broker needs a token to show its dashboard.");
    } else if (!found) {
        send_login_page(response, 401, "That token is not one of the broker's --http-tokens.");
    } else {
        send_login_page(response, 403, "The dashboard needs an admin token; that one is not.");
    }
    return false;
}

void answer_index(HttpContext& context, const httplib::Request& request, httplib::Response& response) {
    const auto tokens = context.tokens();
    if (request.has_param("token")) {
        // The token leaves the address bar (and the history) at once, whatever it is worth.
        const auto token = request.get_param_value("token");
        if (tokens && !admit(context, *tokens, token, response)) return;
        set_page_headers(response);
        if (tokens) response.set_header("Set-Cookie", "corsair_token=" + token + "; Path=/; HttpOnly; SameSite=Strict");
        response.set_redirect("/", 303);
        return;
    }
    if (tokens && !admit(context, *tokens, presented_token(request), response)) return;
    send_asset(response, "index.html");
}

}  // namespace

void add_dashboard_routes(httplib::Server& server, HttpContext& context) {
    // kOpen: answer_index checks the token itself, to answer a browser with a login page, not JSON.
    add_route(server, context, "GET", "/", kOpen, [&context](const httplib::Request& request, httplib::Response& response) {
        answer_index(context, request, response);
    });
    add_route(server, context, "GET", "/dashboard/([A-Za-z0-9._-]+)", kAdminOnly,
              [](const httplib::Request& request, httplib::Response& response) {
                  send_asset(response, request.matches[1].str());
              });
}

}  // namespace corsair::http
