// Beast/Asio under the client's links. Each operation is a coroutine on the connection's strand that
// holds its link alive; errors are values (as_tuple), so nothing leaves the I/O loop by an exception.
#include "transports.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <deque>
#include <optional>
#include <type_traits>

namespace switchboard::client::detail {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using plain_stream = beast::tcp_stream;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

namespace {

constexpr auto use = net::as_tuple(net::use_awaitable);
constexpr const char* user_agent = "switchboard-client/0.1";

std::string describe(const boost::system::error_code& ec) { return ec.message(); }

/// Resolves, connects within the endpoint's timeout, and for TLS shakes hands (SNI, name checked).
/// Returns the error, empty when connected.
template <class Stream>
net::awaitable<boost::system::error_code> connect(Stream& stream, const endpoint& where) {
    tcp::resolver resolver(stream.get_executor());
    auto [rec, results] = co_await resolver.async_resolve(where.host, where.port, use);
    if (rec) co_return rec;
    auto& lowest = beast::get_lowest_layer(stream);
    lowest.expires_after(where.connect_timeout);
    auto [cec, ep] = co_await lowest.async_connect(results, use);
    if (cec) co_return cec;
    lowest.socket().set_option(tcp::no_delay(true));
    if constexpr (std::is_same_v<Stream, tls_stream>) {
        if (!SSL_set_tlsext_host_name(stream.native_handle(), where.host.c_str()))
            co_return boost::system::error_code(static_cast<int>(::ERR_get_error()), net::error::get_ssl_category());
        stream.set_verify_callback(net::ssl::host_name_verification(where.host));
        auto [hec] = co_await stream.async_handshake(net::ssl::stream_base::client, use);
        if (hec) co_return hec;
    }
    lowest.expires_never();
    co_return boost::system::error_code{};
}

template <class Stream>
Stream make_stream(strand on, const endpoint& where) {
    if constexpr (std::is_same_v<Stream, tls_stream>)
        return Stream(on, *where.tls);
    else
        return Stream(on);
}

template <class Stream>
class ws_link final : public websocket_link, public std::enable_shared_from_this<ws_link<Stream>> {
public:
    ws_link(strand on, const endpoint& where, events e)
        : strand_(on), where_(where), events_(std::move(e)), ws_(make_stream<Stream>(on, where)) {}

    void start(std::string target) {
        net::co_spawn(strand_, run(this->shared_from_this(), std::move(target)), net::detached);
    }

    void send(const eio::frame& frame) override {
        if (closing_) return;
        queued_bytes_ += frame.bytes->size();
        out_.push_back(frame);
        write_if_idle();
    }

    void close() override {
        if (closing_) return;
        closing_ = true;
        events_ = {};
        if (!open_) {
            beast::get_lowest_layer(ws_).close(); // still connecting: stop there
            return;
        }
        write_if_idle(); // the queue, then the close frame
    }

    std::size_t buffered() const override { return queued_bytes_; }

private:
    static net::awaitable<void> run(std::shared_ptr<ws_link> self, std::string target) {
        if (auto ec = co_await connect(self->ws_.next_layer(), self->where_)) co_return self->fail(describe(ec));
        if (self->closing_) co_return;
        auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::client);
        timeouts.handshake_timeout = self->where_.connect_timeout;
        self->ws_.set_option(timeouts);
        self->ws_.set_option(websocket::stream_base::decorator([headers = self->where_.headers](auto& req) {
            req.set(http::field::user_agent, user_agent);
            for (const auto& [name, value] : headers) req.set(name, value);
        }));
        self->ws_.read_message_max(self->where_.max_message);
        auto [hec] = co_await self->ws_.async_handshake(self->where_.host_header, target, use);
        if (hec) co_return self->fail(describe(hec));
        if (self->closing_) co_return self->write_if_idle(); // closed while shaking hands: close now
        self->open_ = true;
        if (self->events_.opened) self->events_.opened();
        self->write_if_idle();
        beast::flat_buffer buffer;
        for (;;) {
            auto [ec, n] = co_await self->ws_.async_read(buffer, use);
            if (ec) co_return self->fail(ec == websocket::error::closed ? "transport close" : describe(ec));
            if (self->closing_) co_return;
            const auto data = buffer.cdata();
            if (self->events_.message)
                self->events_.message(std::string_view(static_cast<const char*>(data.data()), data.size()),
                                      !self->ws_.got_text());
            buffer.consume(buffer.size());
        }
    }

    void write_if_idle() {
        if (writing_ || !open_) return;
        if (out_.empty() && !closing_) return;
        writing_ = true;
        net::co_spawn(strand_, write_all(this->shared_from_this()), net::detached);
    }

    static net::awaitable<void> write_all(std::shared_ptr<ws_link> self) {
        while (!self->out_.empty()) {
            const eio::frame frame = std::move(self->out_.front());
            self->out_.pop_front();
            self->ws_.binary(frame.binary);
            auto [ec, n] = co_await self->ws_.async_write(net::buffer(*frame.bytes), use);
            self->queued_bytes_ -= frame.bytes->size();
            if (ec) {
                self->writing_ = false;
                co_return self->fail(describe(ec));
            }
        }
        if (self->closing_ && !self->close_sent_) {
            self->close_sent_ = true;
            co_await self->ws_.async_close(websocket::close_code::normal, use); // bounded by the timeouts
            beast::get_lowest_layer(self->ws_).close();
        }
        self->writing_ = false;
    }

    void fail(std::string why) {
        if (closing_) return;
        closing_ = true;
        beast::get_lowest_layer(ws_).close();
        auto failed = std::move(events_.failed);
        events_ = {};
        if (failed) failed(why);
    }

    strand strand_;
    endpoint where_;
    events events_;
    websocket::stream<Stream> ws_;
    std::deque<eio::frame> out_;
    std::size_t queued_bytes_ = 0;
    bool open_ = false;
    bool writing_ = false;
    bool closing_ = false;
    bool close_sent_ = false;
};

template <class Stream>
class http_conn final : public http_link, public std::enable_shared_from_this<http_conn<Stream>> {
public:
    http_conn(strand on, const endpoint& where) : strand_(on), where_(where) {}

    void request(bool post, std::string target, std::string body, std::function<void(response)> done) override {
        if (closed_) return;
        net::co_spawn(strand_, run(this->shared_from_this(), post, std::move(target), std::move(body), std::move(done)),
                      net::detached);
    }

    void close() override {
        closed_ = true;
        if (stream_) beast::get_lowest_layer(*stream_).close();
    }

private:
    static net::awaitable<void> run(std::shared_ptr<http_conn> self, bool post, std::string target, std::string body,
                                    std::function<void(response)> done) {
        auto finish = [&](response r) {
            if (!self->closed_) done(std::move(r));
        };
        auto failed = [&](const boost::system::error_code& ec) {
            self->stream_.reset(); // a broken connection is not reused
            finish({.failed = true, .status = 0, .body = {}, .why = describe(ec)});
        };
        if (!self->stream_) {
            self->stream_.emplace(make_stream<Stream>(self->strand_, self->where_));
            self->buffer_.clear();
            if (auto ec = co_await connect(*self->stream_, self->where_)) co_return failed(ec);
            if (self->closed_) co_return;
        }
        http::request<http::string_body> req{post ? http::verb::post : http::verb::get, target, 11};
        req.set(http::field::host, self->where_.host_header);
        req.set(http::field::user_agent, user_agent);
        for (const auto& [name, value] : self->where_.headers) req.set(name, value);
        if (post) req.set(http::field::content_type, "text/plain;charset=UTF-8");
        req.keep_alive(true);
        req.body() = std::move(body);
        req.prepare_payload();
        auto& stream = *self->stream_;
        if (auto [ec, n] = co_await http::async_write(stream, req, use); ec) co_return failed(ec);
        http::response_parser<http::string_body> parser;
        parser.body_limit(self->where_.max_message);
        if (auto [ec, n] = co_await http::async_read(stream, self->buffer_, parser, use); ec) co_return failed(ec);
        auto res = parser.release();
        if (!res.keep_alive()) self->stream_.reset();
        finish({.failed = false, .status = res.result_int(), .body = std::move(res.body()), .why = {}});
    }

    strand strand_;
    endpoint where_;
    std::optional<Stream> stream_;
    beast::flat_buffer buffer_;
    bool closed_ = false;
};

} // namespace

std::shared_ptr<websocket_link> open_websocket(strand on, const endpoint& where, std::string target,
                                               websocket_link::events events) {
    if (where.tls) {
        auto link = std::make_shared<ws_link<tls_stream>>(on, where, std::move(events));
        link->start(std::move(target));
        return link;
    }
    auto link = std::make_shared<ws_link<plain_stream>>(on, where, std::move(events));
    link->start(std::move(target));
    return link;
}

std::shared_ptr<http_link> make_http_link(strand on, const endpoint& where) {
    if (where.tls) return std::make_shared<http_conn<tls_stream>>(on, where);
    return std::make_shared<http_conn<plain_stream>>(on, where);
}

} // namespace switchboard::client::detail
