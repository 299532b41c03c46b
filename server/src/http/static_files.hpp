#pragma once
// Static files for the page and the WASM client (private to server/).

#include "../util/net.hpp"

#include <string>

namespace switchboard::server {

/// Answers a GET/HEAD for `target` from `root`: correct MIME types (incl. application/wasm), a weak
/// ETag with If-None-Match → 304, Cache-Control: no-cache, and no access outside `root`. `mount` is
/// the URL prefix `root` is served under ("" for "/", "/switchboard" for "/switchboard/…").
http::message_generator serve_static(const std::string& root, const http::request<http::string_body>& req,
                                     std::string_view mount = {});

/// The MIME type for a file name, by extension.
std::string_view mime_type(std::string_view path);

} // namespace switchboard::server
