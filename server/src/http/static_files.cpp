#include "static_files.hpp"

#include "query.hpp"

#include <sys/stat.h>

namespace switchboard::server {

namespace {

http::response<http::string_body> text_response(http::status status, std::string_view text, unsigned version,
                                                bool keep_alive) {
    http::response<http::string_body> res{status, version};
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.keep_alive(keep_alive);
    res.body() = std::string(text);
    res.prepare_payload();
    return res;
}

} // namespace

std::string_view mime_type(std::string_view path) {
    const auto dot = path.rfind('.');
    const auto ext = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
    static const std::pair<std::string_view, std::string_view> types[] = {
        {"html", "text/html; charset=utf-8"},
        {"htm", "text/html; charset=utf-8"},
        {"css", "text/css; charset=utf-8"},
        {"js", "text/javascript; charset=utf-8"},
        {"mjs", "text/javascript; charset=utf-8"},
        {"json", "application/json"},
        {"map", "application/json"},
        {"wasm", "application/wasm"},
        {"txt", "text/plain; charset=utf-8"},
        {"svg", "image/svg+xml"},
        {"png", "image/png"},
        {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"},
        {"gif", "image/gif"},
        {"webp", "image/webp"},
        {"ico", "image/vnd.microsoft.icon"},
        {"woff", "font/woff"},
        {"woff2", "font/woff2"},
        {"webmanifest", "application/manifest+json"},
    };
    for (const auto& [e, type] : types)
        if (beast::iequals(e, ext)) return type;
    return "application/octet-stream";
}

http::message_generator serve_static(const std::string& root, const http::request<http::string_body>& req,
                                     std::string_view mount) {
    const unsigned version = req.version();
    const bool keep_alive = req.keep_alive();
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
        auto res = text_response(http::status::method_not_allowed, "Method not allowed\n", version, keep_alive);
        res.set(http::field::allow, "GET, HEAD");
        return res;
    }
    if (root.empty()) return text_response(http::status::not_found, "Not found\n", version, keep_alive);

    std::string_view target = req.target();
    target = target.substr(0, target.find_first_of("?#"));
    if (target.substr(0, mount.size()) == mount) target.remove_prefix(mount.size());
    std::string path;
    if (target.empty() || target.front() != '/' || !percent_decode(target, path)) {
        return text_response(http::status::bad_request, "Bad request\n", version, keep_alive);
    }
    // No way out of the root: refuse any "." or ".." segment and backslashes outright.
    for (std::size_t start = 1; start <= path.size();) {
        const auto end = std::min(path.find('/', start), path.size());
        const auto segment = std::string_view(path).substr(start, end - start);
        if (segment == "." || segment == ".." || segment.find('\\') != std::string_view::npos) {
            return text_response(http::status::bad_request, "Bad request\n", version, keep_alive);
        }
        start = end + 1;
    }
    if (path.back() == '/') path += "index.html";
    std::string full = root + path;

    struct stat st {};
    if (::stat(full.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        full += "/index.html";
        path += "/index.html";
    }
    if (::stat(full.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
        return text_response(http::status::not_found, "Not found\n", version, keep_alive);
    }
    const std::string etag =
        "W/\"" + std::to_string(st.st_size) + "-" +
        std::to_string(static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec) + "\"";
    if (req[http::field::if_none_match] == etag) {
        http::response<http::empty_body> res{http::status::not_modified, version};
        res.set(http::field::etag, etag);
        res.set(http::field::cache_control, "no-cache");
        res.keep_alive(keep_alive);
        return res;
    }

    beast::error_code ec;
    http::file_body::value_type body;
    body.open(full.c_str(), beast::file_mode::scan, ec);
    if (ec) return text_response(http::status::not_found, "Not found\n", version, keep_alive);
    const auto size = body.size();

    const auto with_headers = [&](auto res) { // HEAD and GET answer with the same headers
        res.set(http::field::content_type, mime_type(path));
        res.set(http::field::etag, etag);
        res.set(http::field::cache_control, "no-cache");
        res.content_length(size);
        res.keep_alive(keep_alive);
        return res;
    };
    if (req.method() == http::verb::head)
        return with_headers(http::response<http::empty_body>{http::status::ok, version});
    return with_headers(http::response<http::file_body>{std::piecewise_construct, std::make_tuple(std::move(body)),
                                                        std::make_tuple(http::status::ok, version)});
}

} // namespace switchboard::server
