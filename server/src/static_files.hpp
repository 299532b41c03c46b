#pragma once
// Static files for the page and the WASM client (private to server/).

#include "net.hpp"

#include <string>

namespace switchboard::server {

/// Answers a GET/HEAD for `target` from `root`: correct MIME types (incl. application/wasm), a weak
/// ETag with If-None-Match → 304, Cache-Control: no-cache, and no access outside `root`. `mount` is
/// the URL prefix `root` is served under ("" for "/", "/switchboard" for "/switchboard/…").
http::message_generator serve_static(const std::string& root, const http::request<http::string_body>& req,
                                     std::string_view mount = {});

/// The MIME type for a file name, by extension.
std::string_view mime_type(std::string_view path);

/// Decodes %XX escapes; returns false for malformed escapes or a decoded NUL.
bool percent_decode(std::string_view in, std::string& out, bool plus_is_space = false);

/// The decoded parameters of a request target's query (`/path?a=1&b=2`); malformed ones are skipped.
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view target);

} // namespace switchboard::server
