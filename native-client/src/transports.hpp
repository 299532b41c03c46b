#pragma once
// The client's two kinds of connection, over Beast/Asio, plain or TLS: a WebSocket, and one
// keep-alive HTTP/1.1 connection (polling uses two: one for the held GET, one for POSTs). They know
// nothing of Engine.IO: the connection (client.cpp) decides what goes over them. Everything happens
// on the connection's strand; after close(), a link calls back no more.
#include <switchboard/eio/packet.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/strand.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchboard::client::detail {

namespace net = boost::asio;
using strand = net::strand<net::io_context::executor_type>;

/// Where and how to connect.
struct endpoint {
    std::string host; ///< for the resolver
    std::string port;
    std::string host_header;
    net::ssl::context* tls = nullptr; ///< set for https / wss
    std::vector<std::pair<std::string, std::string>> headers;
    std::chrono::milliseconds connect_timeout{20000};
    std::size_t max_message = 100'000'000; ///< the largest WebSocket message or HTTP body read
};

class websocket_link {
public:
    struct events {
        std::function<void()> opened; ///< the WebSocket handshake is done
        std::function<void(std::string_view data, bool binary)> message;
        std::function<void(std::string_view why)> failed; ///< it broke or could not open
    };
    virtual ~websocket_link() = default;
    /// Queued, written in order by one writer.
    virtual void send(const eio::frame& frame) = 0;
    /// Sends what is queued, then closes (a WebSocket close); no callback after this.
    virtual void close() = 0;
    /// Bytes queued and not yet written.
    virtual std::size_t buffered() const = 0;
};

std::shared_ptr<websocket_link> open_websocket(strand on, const endpoint& where, std::string target,
                                               websocket_link::events events);

class http_link {
public:
    /// An HTTP status and body, or `failed` with why the request did not complete.
    struct response {
        bool failed = false;
        unsigned status = 0;
        std::string body;
        std::string why;
    };
    virtual ~http_link() = default;
    /// One request at a time; `done` is called on the strand, unless close() came first.
    virtual void request(bool post, std::string target, std::string body, std::function<void(response)> done) = 0;
    virtual void close() = 0;
};

std::shared_ptr<http_link> make_http_link(strand on, const endpoint& where);

} // namespace switchboard::client::detail
