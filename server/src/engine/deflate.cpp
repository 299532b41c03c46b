#include "deflate.hpp"

#include <zlib.h>

#include <cstring>

namespace switchboard::server::deflate {

namespace {

// One stream each way per thread, reset after every message (no context takeover).
struct deflater {
    z_stream z{};
    bool ok = deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK;
    ~deflater() { deflateEnd(&z); }
};
struct inflater {
    z_stream z{};
    bool ok = inflateInit2(&z, -15) == Z_OK;
    ~inflater() { inflateEnd(&z); }
};

} // namespace

shared_bytes compress(std::string_view message) {
    thread_local deflater d;
    if (!d.ok) return nullptr;
    std::string out;
    out.resize(deflateBound(&d.z, message.size()) + 8);
    d.z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(message.data()));
    d.z.avail_in = static_cast<uInt>(message.size());
    d.z.next_out = reinterpret_cast<Bytef*>(out.data());
    d.z.avail_out = static_cast<uInt>(out.size());
    const int rc = ::deflate(&d.z, Z_SYNC_FLUSH);
    const auto written = out.size() - d.z.avail_out;
    deflateReset(&d.z);
    if (rc != Z_OK || written < 4) return nullptr;
    out.resize(written - 4); // the empty stored block 00 00 FF FF that Z_SYNC_FLUSH ends with
    return make_shared_bytes(std::move(out));
}

bool inflate(std::string_view compressed, std::size_t max_size, std::string& out, bool& too_big) {
    thread_local inflater i;
    too_big = false;
    out.clear();
    if (!i.ok) return false;
    static constexpr unsigned char tail[4] = {0x00, 0x00, 0xFF, 0xFF};
    char chunk[16384];
    bool ok = true;
    bool ended = false; // a final block: nothing after it is read
    const auto feed = [&](const unsigned char* data, std::size_t size) {
        i.z.next_in = const_cast<Bytef*>(data);
        i.z.avail_in = static_cast<uInt>(size);
        do {
            i.z.next_out = reinterpret_cast<Bytef*>(chunk);
            i.z.avail_out = sizeof chunk;
            const int rc = ::inflate(&i.z, Z_SYNC_FLUSH);
            const auto produced = sizeof chunk - i.z.avail_out;
            if (out.size() + produced > max_size) {
                too_big = true;
                ok = false;
                return;
            }
            out.append(chunk, produced);
            if (rc == Z_STREAM_END) {
                ended = true;
                return;
            }
            if (rc == Z_BUF_ERROR && produced == 0) return; // needs more input
            if (rc != Z_OK && rc != Z_BUF_ERROR) {
                ok = false;
                return;
            }
        } while (i.z.avail_in > 0 || i.z.avail_out == 0);
    };
    feed(reinterpret_cast<const unsigned char*>(compressed.data()), compressed.size());
    if (ok && !ended) feed(tail, sizeof tail);
    inflateReset(&i.z);
    return ok;
}

bool acceptable_offer(std::string_view extensions) noexcept {
    // Offers are comma-separated, each "name; param; param=value". The first permessage-deflate one
    // without server_max_window_bits is ours.
    while (!extensions.empty()) {
        const auto comma = extensions.find(',');
        auto offer = extensions.substr(0, comma);
        extensions = comma == std::string_view::npos ? std::string_view() : extensions.substr(comma + 1);
        const auto semi = offer.find(';');
        auto name = offer.substr(0, semi);
        while (!name.empty() && (name.front() == ' ' || name.front() == '\t')) name.remove_prefix(1);
        while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
        if (name != "permessage-deflate") continue;
        if (offer.find("server_max_window_bits") != std::string_view::npos) continue;
        return true;
    }
    return false;
}

} // namespace switchboard::server::deflate
