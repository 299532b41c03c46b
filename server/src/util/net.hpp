#pragma once
// Asio / Beast for the server's I/O files only (never included by public headers).
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

namespace switchboard::server {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

/// A session's strand, and sockets and timers whose handlers run on it. Concrete types rather than
/// any_io_executor: every pending operation stores its executor, and an idle connection has two
/// (its read and its heartbeat), so the smaller executor is memory saved per connection.
using strand_type = net::strand<net::io_context::executor_type>;
using strand_socket = net::basic_stream_socket<tcp, strand_type>;
using strand_stream = beast::basic_stream<tcp, strand_type>;
using strand_timer =
    net::basic_waitable_timer<std::chrono::steady_clock, net::wait_traits<std::chrono::steady_clock>, strand_type>;
} // namespace switchboard::server
