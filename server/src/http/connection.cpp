#include "connection.hpp"

#include "../engine/deflate.hpp"
#include "../engine/session.hpp"
#include "../metrics/counters.hpp"
#include "../metrics/probes.hpp"
#include "../tls/stream.hpp"
#include "../util/log.hpp"
#include "cors.hpp"
#include "query.hpp"
#include "responses.hpp"
#include "static_files.hpp"

#include <optional>

#include <cerrno>
#include <sys/socket.h>
#include <type_traits>

namespace switchboard::server {

namespace {

constexpr std::size_t max_header_bytes = 16 * 1024;

// The WASM client is served under /switchboard/ (client.mjs, client.wasm), as the Node server serves
// its client bundle under /socket.io/.
constexpr std::string_view client_mount = "/switchboard";
bool is_client_path(std::string_view target) { return target.substr(0, client_mount.size() + 1) == "/switchboard/"; }

/// One TCP connection speaking HTTP/1.1: static files, Engine.IO polling requests, and WebSocket
/// upgrades (after which the connection belongs to an Engine.IO session).
/// `Stream`: strand_stream (plain TCP) or tls_stream (HTTPS, WSS).
template <class Stream>
class http_connection : public std::enable_shared_from_this<http_connection<Stream>> {
public:
    static constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

    http_connection(Stream stream, http_context& context, admission::ticket ticket)
        : stream_(std::move(stream)), context_(context), ticket_(std::move(ticket)) {}

    void run() {
        net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->read_request(); });
    }

private:
    void read_request() {
        parser_.emplace();
        parser_->header_limit(max_header_bytes);
        parser_->body_limit(context_.config.max_payload);
        stream_.expires_after(std::chrono::milliseconds(context_.config.request_timeout_ms));
        http::async_read_header(
            stream_, buffer_, *parser_,
            [self = this->shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
    }

    // A body (a polling POST) is read under a deadline of our own rather than the stream's, whose
    // expiry would close the connection: a body that comes too late still gets its 408.
    void on_header(beast::error_code ec) {
        if (ec || parser_->is_done()) return on_request(ec);
        stream_.expires_never();
        body_deadline_.emplace(stream_.get_executor(), std::chrono::milliseconds(context_.config.request_timeout_ms));
        body_deadline_->async_wait([self = this->shared_from_this()](beast::error_code wait_ec) {
            if (wait_ec) return; // the body came
            self->body_late_ = true;
            beast::error_code ignored;
            self->stream_.socket().cancel(ignored);
        });
        http::async_read(stream_, buffer_, *parser_,
                         [self = this->shared_from_this()](beast::error_code read_ec, std::size_t) {
                             self->body_deadline_.reset();
                             self->on_request(self->body_late_ ? beast::error::timeout : read_ec);
                         });
    }

    void on_request(beast::error_code ec) {
        if (ec == beast::error::timeout && parser_->is_header_done()) {
            // The headers came, the body did not: as the reference server, 408 (a slow upload
            // must not hold a connection and its buffer forever).
            const auto& req = parser_->get();
            SB_LOG(warn, "{} {} {}: the body did not arrive within {} ms (408)", peer(), req.method_string(),
                   req.target(), context_.config.request_timeout_ms);
            string_response res{http::status::request_timeout, req.version()};
            add_cors(res, req[http::field::origin], context_.config.cors_origins);
            res.prepare_payload();
            res.keep_alive(false);
            write(std::move(res));
            return;
        }
        if (ec == http::error::body_limit) {
            // An oversize POST: refuse it, and end the session it was for.
            const auto& req = parser_->get();
            const auto* endpoint = context_.endpoint_for(path_of(req.target()));
            if (endpoint) {
                const auto query = query_view(req.target());
                if (const auto* sid = query.get("sid")) {
                    if (auto session = const_cast<engine_endpoint*>(endpoint)->find(*sid)) session->close();
                }
            }
            SB_LOG(warn, "{} {} {}: body over --max-payload ({} bytes) (413)", peer(), req.method_string(),
                   req.target(), context_.config.max_payload);
            metrics::add(metrics::counter::refused_payload);
            string_response res{http::status::payload_too_large, req.version()};
            res.set(http::field::connection, "close");
            add_cors(res, req[http::field::origin], context_.config.cors_origins);
            res.prepare_payload();
            res.keep_alive(false);
            write(std::move(res));
            return;
        }
        if (ec) {
            // Timeout, reset, garbage: nothing to answer; just let the connection go.
            if (ec != http::error::end_of_stream && ec != net::error::eof && ec != net::error::connection_reset &&
                ec != net::error::operation_aborted)
                SB_LOG(debug, "{}: connection dropped ({})", peer(), ec.message());
            beast::error_code ignored;
            stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
            return;
        }
        auto req = parser_->release();
        if (context_.probes && probe_handlers::serves(path_of(req.target()))) {
            write(probe_response(*context_.probes, path_of(req.target()), req));
        } else if (auto* endpoint = context_.endpoint_for(path_of(req.target()))) {
            handle_engine(*endpoint, std::move(req));
        } else if (is_client_path(req.target()) && !context_.config.client_dir.empty()) {
            write(serve_static(context_.config.client_dir, req, client_mount));
        } else {
            write(serve_static(context_.config.static_dir, req));
        }
    }

    std::string peer() const {
        beast::error_code ec;
        const auto remote = stream_.socket().remote_endpoint(ec);
        return ec ? std::string("(gone)") : remote.address().to_string();
    }

    void handle_engine(engine_endpoint& endpoint, http::request<http::string_body> req) {
        const std::string origin(req[http::field::origin]);
        const unsigned version = req.version();
        const bool keep_alive = req.keep_alive();

        if (req.method() == http::verb::options) {
            // CORS preflight.
            http::response<http::empty_body> res{http::status::no_content, version};
            add_cors(res, origin, context_.config.cors_origins);
            if (res.count(http::field::access_control_allow_origin)) {
                res.set(http::field::access_control_allow_methods, "GET,HEAD,PUT,PATCH,POST,DELETE");
                if (auto asked = req[http::field::access_control_request_headers]; !asked.empty())
                    res.set(http::field::access_control_allow_headers, asked);
            }
            res.content_length(0);
            res.keep_alive(keep_alive);
            write(std::move(res));
            return;
        }

        const auto fail = [&](engine_error error) {
            SB_LOG(warn, "{} {} {}: refused (Engine.IO error {}: {})", peer(), req.method_string(), req.target(),
                   static_cast<int>(error), to_string(error));
            auto res = engine_error_response(error, version);
            add_cors(res, origin, context_.config.cors_origins);
            res.keep_alive(keep_alive);
            write(std::move(res));
        };

        const auto query = query_view(req.target());
        const std::string* transport = query.get("transport");
        const std::string* sid = query.get("sid");
        const bool is_upgrade = websocket::is_upgrade(req);
        const auto& cfg = context_.config;

        // The reference server's checks, in its order.
        const bool known_transport = transport && ((*transport == "polling" && cfg.allow_polling) ||
                                                   (*transport == "websocket" && cfg.allow_websocket));
        if (!known_transport) return fail(engine_error::unknown_transport);
        std::shared_ptr<engine_session> session;
        if (sid) {
            session = endpoint.find(*sid);
            if (!session) return fail(engine_error::unknown_sid);
            const bool same_transport =
                (*transport == "websocket") == (session->transport() == eio::transport_kind::websocket);
            if (!is_upgrade && !same_transport) return fail(engine_error::bad_request);
        } else {
            if (req.method() != http::verb::get) return fail(engine_error::bad_handshake_method);
            const std::string* eio = query.get("EIO");
            if (!eio || *eio != "4") return fail(engine_error::unsupported_protocol_version);
            if (*transport == "websocket" && !is_upgrade) return fail(engine_error::bad_request);
        }
        if (is_upgrade != (*transport == "websocket")) return fail(engine_error::bad_request);
        if (is_upgrade && !origin_allowed(origin, req[http::field::host], cfg.cors_origins)) {
            SB_LOG(warn, "{}: WebSocket upgrade from origin '{}' refused (not this server's, not in --cors-origin)",
                   peer(), origin);
            metrics::add(metrics::counter::refused_origin);
            return fail(engine_error::forbidden);
        }
        if (!sid && !within_handshake_rate(req)) return;
        if (!sid && context_.allow_request && !allowed_by_application(req)) return fail(engine_error::forbidden);

        if (is_upgrade) {
            accept_websocket(endpoint, std::move(req), std::move(session));
            return;
        }

        // Polling: the session answers through this connection when it has something to say.
        auto respond = [self = this->shared_from_this(), origin, keep_alive](string_response res) {
            net::post(self->stream_.get_executor(), [self, origin, keep_alive, res = std::move(res)]() mutable {
                add_cors(res, origin, self->context_.config.cors_origins);
                res.keep_alive(keep_alive);
                self->write(std::move(res));
            });
        };
        if (!session) {
            session = std::make_shared<engine_session>(endpoint, context_.connection_strand(), request_of(req),
                                                       eio::transport_kind::polling);
            session->open_polling(std::move(respond));
        } else if (req.method() == http::verb::get) {
            session->on_poll_request(std::move(respond));
            watch_for_abort(std::move(session));
        } else if (req.method() == http::verb::post) {
            session->on_post_request(std::move(req.body()), std::move(respond));
        } else {
            fail(engine_error::bad_request);
        }
    }

    /// The client's address: the peer's, or behind a trusted proxy (--trust-proxy) the last address of
    /// X-Forwarded-For, the one the proxy itself appended (those before it are the client's say).
    std::optional<net::ip::address> client_address(const http::request<http::string_body>& req) const {
        if (context_.config.trust_proxy) {
            std::string_view forwarded = req["X-Forwarded-For"];
            if (const auto comma = forwarded.rfind(','); comma != std::string_view::npos)
                forwarded.remove_prefix(comma + 1);
            while (!forwarded.empty() && (forwarded.front() == ' ' || forwarded.front() == '\t'))
                forwarded.remove_prefix(1);
            while (!forwarded.empty() && (forwarded.back() == ' ' || forwarded.back() == '\t'))
                forwarded.remove_suffix(1);
            beast::error_code ec;
            const auto address = net::ip::make_address(forwarded, ec);
            if (!ec && !forwarded.empty()) return address;
        }
        beast::error_code ec;
        const auto remote = stream_.socket().remote_endpoint(ec);
        if (ec) return std::nullopt;
        return remote.address();
    }

    /// --handshakes-per-ip: false, after answering 429, when this address opens sessions too fast.
    bool within_handshake_rate(const http::request<http::string_body>& req) {
        const auto address = client_address(req);
        if (!address || context_.handshakes.take(*address)) return true;
        SB_LOG(debug, "{}: handshake refused (--handshakes-per-ip)", address->to_string());
        metrics::add(metrics::counter::refused_handshakes);
        string_response res{http::status::too_many_requests, 11};
        res.set(http::field::content_type, "application/json");
        res.set(http::field::retry_after, "1");
        res.body() = R"({"code":3,"message":"Too many handshakes from this address"})";
        res.prepare_payload();
        res.keep_alive(false);
        write(std::move(res));
        return false;
    }

    /// The application's allow_request filter, on a new session's request; what throws refuses.
    bool allowed_by_application(const http::request<http::string_body>& req) {
        request_info info;
        const auto address = client_address(req);
        info.remote_address = address ? address->to_string() : std::string();
        info.url = req.target();
        for (const auto& field : req) info.headers.emplace_back(field.name_string(), field.value());
        info.query = parse_query(info.url);
        try {
            return context_.allow_request(info);
        } catch (...) {
            SB_LOG(warn, "{}: the allow_request filter threw ({}): refused", peer(), describe_current_exception());
            return false;
        }
    }

    // The request as a session keeps it: its headers as one block ("name\0value\0..."), which the
    // session unpacks only if someone asks (an idle connection should not hold a string per header).
    request_head request_of(const http::request<http::string_body>& req) {
        request_head head;
        if (const auto address = client_address(req)) head.remote_address = address->to_string();
        head.block = pack_request(req);
        return head;
    }

    // We answer the upgrade ourselves (Sec-WebSocket-Accept), over TLS or not; then the socket (and
    // its TLS engine) is handed to the session, which frames the WebSocket itself (switchboard/ws/).
    void accept_websocket(engine_endpoint& endpoint, http::request<http::string_body> req,
                          std::shared_ptr<engine_session> session) {
        auto res = websocket_upgrade_response(req);
        if (res.result() != http::status::switching_protocols) {
            SB_LOG(debug, "{}: WebSocket upgrade refused ({} {})", peer(), res.result_int(), res.body());
            add_cors(res, req[http::field::origin], context_.config.cors_origins);
            res.keep_alive(false);
            write(std::move(res));
            return;
        }
        // --deflate: permessage-deflate without context takeover either way, when the client offers it.
        const bool deflate =
            context_.config.deflate && deflate::acceptable_offer(req[http::field::sec_websocket_extensions]);
        if (deflate) res.set(http::field::sec_websocket_extensions, deflate::answer);
        stream_.expires_after(std::chrono::milliseconds(context_.config.write_timeout_ms));
        beast::async_write(stream_, http::message_generator(std::move(res)),
                           [self = this->shared_from_this(), &endpoint, session = std::move(session),
                            info = request_of(req), deflate](beast::error_code ec, std::size_t) mutable {
                               if (!ec) self->hand_over(endpoint, std::move(session), std::move(info), deflate);
                           });
    }

    void hand_over(engine_endpoint& endpoint, std::shared_ptr<engine_session> session, request_head info,
                   bool deflate) {
        stream_.expires_never();
        beast::error_code ec;
        strand_socket socket(stream_.get_executor());
        std::unique_ptr<tls_engine> tls;
        if constexpr (is_tls) {
            std::tie(socket, tls) = stream_.release();
        } else {
            socket = stream_.release_socket();
        }
        // A new session runs on the connection's strand; a probe joins its session's strand (the
        // descriptor is handed over), so that its operations complete there without a binder. With
        // one I/O thread they share the loop's strand already.
        if (session && session->executor() != socket.get_executor()) {
            const auto fd = socket.release(ec);
            if (ec) return;
            strand_socket moved(session->executor());
            moved.assign(tcp::v4(), fd, ec);
            if (ec) return;
            socket = std::move(moved);
        }
        socket.non_blocking(true, ec);
        if (ec) return;
        const strand_type strand = socket.get_executor();
        auto conn = std::make_shared<websocket_transport>(std::move(socket), context_.config.max_payload,
                                                          std::chrono::milliseconds(context_.config.write_timeout_ms),
                                                          std::move(ticket_), std::move(tls));
        if (deflate) conn->enable_deflate();
        if (session) {
            session->on_probe(std::move(conn));
        } else {
            auto fresh =
                std::make_shared<engine_session>(endpoint, strand, std::move(info), eio::transport_kind::websocket);
            fresh->open_websocket(std::move(conn));
        }
    }

    // While a long-poll is held nothing is read from the connection; watch it so that a client that
    // gives up (closes the connection) ends its session at once, as the reference server does.
    // A wake-up is not proof of a close: readiness can be reported for bytes the request's read already
    // took (the reactor is edge-triggered and several threads run it), so the socket is asked: a peek
    // that finds the end of the stream or an error is an abort; no bytes yet, and the watch goes on.
    void watch_for_abort(std::shared_ptr<engine_session> session) {
        watching_ = true;
        stream_.socket().async_wait(
            tcp::socket::wait_read,
            [self = this->shared_from_this(), session = std::move(session)](beast::error_code ec) mutable {
                if (ec || !self->watching_) return; // the response went out first
                char byte;
                const auto n = ::recv(self->stream_.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
                    return self->watch_for_abort(std::move(session)); // nothing happened
                self->watching_ = false;
                if (n <= 0)
                    session->on_poll_aborted(); // closed (0) or broken; bytes (a client that sends more
                                                // while its poll is held) are read after the answer
            });
    }

    void write(http::message_generator msg) {
        if (watching_) {
            watching_ = false;
            beast::error_code ignored;
            stream_.socket().cancel(ignored);
        }
        const bool keep_alive = msg.keep_alive();
        stream_.expires_after(std::chrono::milliseconds(context_.config.write_timeout_ms));
        beast::async_write(stream_, std::move(msg),
                           [self = this->shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
                               if (ec) return;
                               if (!keep_alive) {
                                   self->linger();
                                   return;
                               }
                               self->read_request();
                           });
    }

    // Closing with unread request bytes makes the kernel reset the connection, and the client may
    // lose our response (a 413 sent before the whole body arrived). So: stop sending, then read and
    // discard what the client still sends, for a bounded time, before closing.
    void linger() {
        if constexpr (is_tls) {
            if (!close_notified_) { // the TLS session ends with our close_notify, then the TCP one
                close_notified_ = true;
                stream_.async_close_notify(
                    [self = this->shared_from_this()](beast::error_code, std::size_t) { self->linger(); });
                return;
            }
        }
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        stream_.expires_after(std::chrono::seconds(2));
        buffer_.consume(buffer_.size());
        tcp_layer().async_read_some(buffer_.prepare(4096),
                                    [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                                        if (!ec) self->linger();
                                    });
    }

    /// The TCP stream under TLS, or the stream itself (its deadlines bound what is read raw).
    strand_stream& tcp_layer() {
        if constexpr (is_tls)
            return stream_.next_layer();
        else
            return stream_;
    }

    Stream stream_; // on its own strand, which a WebSocket session it becomes keeps
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    std::optional<strand_timer> body_deadline_; // while a request body is being read
    bool body_late_ = false;
    bool watching_ = false; // watch_for_abort() is waiting
    bool close_notified_ = false;
    http_context& context_;
    admission::ticket ticket_; // this connection's place under the limits (a WebSocket takes it along)
};

} // namespace

void serve_http(strand_socket socket, http_context& context, admission::ticket ticket,
                std::shared_ptr<const tls_context> tls) {
    if (!tls) {
        std::make_shared<http_connection<strand_stream>>(strand_stream(std::move(socket)), context, std::move(ticket))
            ->run();
        return;
    }
    // TLS: the handshake first, within the request timeout; a failed one ends the connection quietly
    // (scanners and plain-HTTP clients knocking on the TLS port are common).
    auto stream = std::make_shared<tls_stream>(strand_stream(std::move(socket)), std::make_unique<tls_engine>(*tls));
    stream->expires_after(std::chrono::milliseconds(context.config.request_timeout_ms));
    stream->async_handshake([stream, &context, ticket = std::move(ticket)](beast::error_code ec) mutable {
        if (ec) {
            SB_LOG(debug, "TLS handshake failed ({}{}{})", ec.message(), stream->engine().failed() ? ": " : "",
                   stream->engine().error());
            beast::error_code ignored;
            stream->socket().close(ignored);
            return;
        }
        std::make_shared<http_connection<tls_stream>>(std::move(*stream), context, std::move(ticket))->run();
    });
}

} // namespace switchboard::server
