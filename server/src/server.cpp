#include <switchboard/server/log.hpp>
#include <switchboard/server/server.hpp>

#include "engine_session.hpp"
#include "static_files.hpp"
#include "util/log.hpp"

#include <fmt/format.h>

#include <sys/resource.h>

#include <iostream>
#include <thread>

namespace switchboard::server {

namespace {

constexpr std::size_t max_header_bytes = 16 * 1024;

struct query_view {
    std::vector<std::pair<std::string, std::string>> params;
    const std::string* get(std::string_view key) const {
        for (const auto& [k, v] : params)
            if (k == key) return &v;
        return nullptr;
    }
};

// The WASM client is served under /switchboard/ (client.mjs, client.wasm), as the Node server serves
// its client bundle under /socket.io/.
constexpr std::string_view client_mount = "/switchboard";
bool is_client_path(std::string_view target) { return target.substr(0, client_mount.size() + 1) == "/switchboard/"; }

query_view parse_query_view(std::string_view target) { return {parse_query(target)}; }

} // namespace

struct server::impl {
    explicit impl(server_config c) : config(std::move(c)), ioc(static_cast<int>(config.threads)), signals(ioc) {}
    ~impl() {
        // Sessions point to their endpoint and live in the pending operations of the io_context. The
        // endpoints let go of their sessions and timers first; then the io_context (a member declared
        // after the endpoints) destroys what is pending, sessions included, while the endpoints exist.
        for (auto& endpoint : endpoints) endpoint->release_sessions();
    }

    server_config config;
    std::vector<std::unique_ptr<engine_endpoint>> endpoints;
    net::io_context ioc;
    std::optional<tcp::acceptor> acceptor;
    net::signal_set signals;
    std::atomic<std::uint16_t> bound_port{0};
    std::atomic<bool> stopping{false};

    engine_endpoint* endpoint_for(std::string_view path) {
        for (auto& e : endpoints)
            if (path == e->path() || (path.size() + 1 == e->path().size() && e->path().starts_with(path)))
                return e.get();
        return nullptr;
    }

    /// CORS headers for a request from `origin`, when that origin is allowed.
    template <class Fields>
    void add_cors(Fields& res, std::string_view origin) const {
        if (origin.empty()) return;
        bool allowed = false;
        for (const auto& o : config.cors_origins) allowed = allowed || o == "*" || o == origin;
        if (!allowed) return;
        res.set(http::field::access_control_allow_origin, origin);
        res.set(http::field::access_control_allow_credentials, "true");
        res.set(http::field::vary, "Origin");
    }

    void accept();
    void shutdown();
};

/// One TCP connection speaking HTTP/1.1: static files, Engine.IO polling requests, and WebSocket
/// upgrades (after which the connection belongs to an Engine.IO session).
class http_connection : public std::enable_shared_from_this<http_connection> {
public:
    http_connection(strand_socket socket, server::impl& server) : stream_(std::move(socket)), server_(server) {}

    void run() {
        net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_request(); });
    }

private:
    void read_request() {
        parser_.emplace();
        parser_->header_limit(max_header_bytes);
        parser_->body_limit(server_.config.max_payload);
        stream_.expires_after(std::chrono::milliseconds(server_.config.request_timeout_ms));
        http::async_read_header(
            stream_, buffer_, *parser_,
            [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
    }

    // A body (a polling POST) is read under a deadline of our own rather than the stream's, whose
    // expiry would close the connection: a body that comes too late still gets its 408.
    void on_header(beast::error_code ec) {
        if (ec || parser_->is_done()) return on_request(ec);
        stream_.expires_never();
        body_deadline_.emplace(stream_.get_executor(), std::chrono::milliseconds(server_.config.request_timeout_ms));
        body_deadline_->async_wait([self = shared_from_this()](beast::error_code wait_ec) {
            if (wait_ec) return; // the body came
            self->body_late_ = true;
            beast::error_code ignored;
            self->stream_.socket().cancel(ignored);
        });
        http::async_read(stream_, buffer_, *parser_,
                         [self = shared_from_this()](beast::error_code read_ec, std::size_t) {
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
                   req.target(), server_.config.request_timeout_ms);
            string_response res{http::status::request_timeout, req.version()};
            server_.add_cors(res, req[http::field::origin]);
            res.prepare_payload();
            res.keep_alive(false);
            write(std::move(res));
            return;
        }
        if (ec == http::error::body_limit) {
            // An oversize POST: refuse it, and end the session it was for.
            const auto& req = parser_->get();
            const auto* endpoint = server_.endpoint_for(path_of(req.target()));
            if (endpoint) {
                const auto query = parse_query_view(req.target());
                if (const auto* sid = query.get("sid")) {
                    if (auto session = const_cast<engine_endpoint*>(endpoint)->find(*sid)) session->close();
                }
            }
            SB_LOG(warn, "{} {} {}: body over --max-payload ({} bytes) (413)", peer(), req.method_string(),
                   req.target(), server_.config.max_payload);
            string_response res{http::status::payload_too_large, req.version()};
            res.set(http::field::connection, "close");
            server_.add_cors(res, req[http::field::origin]);
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
        if (auto* endpoint = server_.endpoint_for(path_of(req.target()))) {
            handle_engine(*endpoint, std::move(req));
        } else if (is_client_path(req.target()) && !server_.config.client_dir.empty()) {
            write(serve_static(server_.config.client_dir, req, client_mount));
        } else {
            write(serve_static(server_.config.static_dir, req));
        }
    }

    static std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

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
            server_.add_cors(res, origin);
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

        const auto fail = [&](int code) {
            SB_LOG(warn, "{} {} {}: refused (Engine.IO error {})", peer(), req.method_string(), req.target(), code);
            auto res = engine_error_response(code, version);
            server_.add_cors(res, origin);
            res.keep_alive(keep_alive);
            write(std::move(res));
        };

        const auto query = parse_query_view(req.target());
        const std::string* transport = query.get("transport");
        const std::string* sid = query.get("sid");
        const bool is_upgrade = websocket::is_upgrade(req);
        const auto& cfg = server_.config;

        // The reference server's checks, in its order.
        const bool known_transport = transport && ((*transport == "polling" && cfg.allow_polling) ||
                                                   (*transport == "websocket" && cfg.allow_websocket));
        if (!known_transport) return fail(0);
        std::shared_ptr<engine_session> session;
        if (sid) {
            session = endpoint.find(*sid);
            if (!session) return fail(1);
            const bool same_transport =
                (*transport == "websocket") == (session->transport() == engine_session::transport_kind::websocket);
            if (!is_upgrade && !same_transport) return fail(3);
        } else {
            if (req.method() != http::verb::get) return fail(2);
            const std::string* eio = query.get("EIO");
            if (!eio || *eio != "4") return fail(5);
            if (*transport == "websocket" && !is_upgrade) return fail(3);
        }
        if (is_upgrade != (*transport == "websocket")) return fail(3);

        if (is_upgrade) {
            accept_websocket(endpoint, std::move(req), std::move(session));
            return;
        }

        // Polling: the session answers through this connection when it has something to say.
        auto respond = [self = shared_from_this(), origin, keep_alive](string_response res) {
            net::post(self->stream_.get_executor(), [self, origin, keep_alive, res = std::move(res)]() mutable {
                self->server_.add_cors(res, origin);
                res.keep_alive(keep_alive);
                self->write(std::move(res));
            });
        };
        if (!session) {
            session = std::make_shared<engine_session>(endpoint, net::make_strand(server_.ioc), request_of(req),
                                                       engine_session::transport_kind::polling);
            session->open_polling(std::move(respond));
        } else if (req.method() == http::verb::get) {
            session->poll(std::move(respond));
            watch_for_abort(std::move(session));
        } else if (req.method() == http::verb::post) {
            session->post(std::move(req.body()), std::move(respond));
        } else {
            fail(3);
        }
    }

    // The request as a session keeps it: its headers as one block ("name\0value\0..."), which the
    // session unpacks only if someone asks (an idle connection should not hold a string per header).
    request_head request_of(const http::request<http::string_body>& req) {
        request_head head;
        beast::error_code ec;
        const auto remote = stream_.socket().remote_endpoint(ec);
        if (!ec) head.info.remote_address = remote.address().to_string();
        head.info.url = std::string(req.target());
        std::size_t size = 0;
        for (const auto& field : req) size += field.name_string().size() + field.value().size() + 2;
        head.header_block.reserve(size);
        for (const auto& field : req) {
            head.header_block.append(field.name_string()).push_back('\0');
            head.header_block.append(field.value()).push_back('\0');
        }
        return head;
    }

    void accept_websocket(engine_endpoint& endpoint, http::request<http::string_body> req,
                          std::shared_ptr<engine_session> session) {
        stream_.expires_never();
        auto info = request_of(req);
        // Beast answers the upgrade; then the socket is handed to the session, which frames the
        // WebSocket itself (switchboard/ws/frame.hpp).
        auto ws = std::make_shared<websocket::stream<strand_stream>>(std::move(stream_));
        ws->set_option(
            websocket::stream_base::timeout{std::chrono::seconds(30), websocket::stream_base::none(), false});
        const auto max_message = server_.config.max_payload;
        ws->async_accept(req, [ws, session = std::move(session), &endpoint, max_message,
                               info = std::move(info)](beast::error_code ec) mutable {
            if (ec) return;
            // A new session runs on the connection's strand; a probe joins its session's strand
            // (the descriptor is handed over), so that its operations complete there without a binder.
            strand_socket socket = beast::get_lowest_layer(*ws).release_socket();
            if (session) {
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
            auto conn = std::make_shared<ws_connection>(std::move(socket), max_message);
            if (session) {
                session->probe_websocket(std::move(conn));
            } else {
                auto fresh = std::make_shared<engine_session>(endpoint, strand, std::move(info),
                                                              engine_session::transport_kind::websocket);
                fresh->open_websocket(std::move(conn));
            }
        });
    }

    // While a long-poll is held nothing is read from the connection; watch it so that a client that
    // gives up (closes the connection) ends its session at once, as the reference server does.
    void watch_for_abort(std::shared_ptr<engine_session> session) {
        watching_ = true;
        stream_.socket().async_wait(tcp::socket::wait_read,
                                    [self = shared_from_this(), session = std::move(session)](beast::error_code ec) {
                                        if (ec || !self->watching_) return; // the response went out first
                                        self->watching_ = false;
                                        beast::error_code e;
                                        if (self->stream_.socket().available(e) == 0 || e) session->poll_aborted();
                                    });
    }

    void write(http::message_generator msg) {
        if (watching_) {
            watching_ = false;
            beast::error_code ignored;
            stream_.socket().cancel(ignored);
        }
        const bool keep_alive = msg.keep_alive();
        stream_.expires_after(std::chrono::milliseconds(server_.config.write_timeout_ms));
        beast::async_write(stream_, std::move(msg),
                           [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
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
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        stream_.expires_after(std::chrono::seconds(2));
        buffer_.consume(buffer_.size());
        stream_.async_read_some(buffer_.prepare(4096), [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (!ec) self->linger();
        });
    }

    strand_stream stream_; // on its own strand, which a WebSocket session it becomes keeps
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    std::optional<strand_timer> body_deadline_; // while a request body is being read
    bool body_late_ = false;
    bool watching_ = false; // watch_for_abort() is waiting
    server::impl& server_;
};

void server::impl::accept() {
    acceptor->async_accept(net::make_strand(ioc), [this](beast::error_code ec, strand_socket socket) {
        if (ec == net::error::operation_aborted || !acceptor->is_open()) return;
        if (!ec) {
            socket.set_option(tcp::no_delay(true), ec);
            std::make_shared<http_connection>(std::move(socket), *this)->run();
            accept();
            return;
        }
        // Out of descriptors (or memory): retrying at once would spin; wait for connections to end.
        SB_LOG(warn, "accept failed ({}); retrying in 100 ms", ec.message());
        auto pause = std::make_shared<net::steady_timer>(ioc, std::chrono::milliseconds(100));
        pause->async_wait([this, pause](beast::error_code wait_ec) {
            if (!wait_ec && acceptor->is_open()) accept();
        });
    });
}

void server::impl::shutdown() {
    if (stopping.exchange(true)) return;
    beast::error_code ignored;
    if (acceptor) acceptor->close(ignored);
    signals.cancel(ignored);
    for (auto& endpoint : endpoints)
        for (auto& session : endpoint->all()) session->shutdown();
    // Give the close packets a moment to go out (the sessions end themselves), then stop.
    auto timer = std::make_shared<net::steady_timer>(ioc);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    auto wait = std::make_shared<std::function<void()>>();
    *wait = [this, timer, deadline, wait] {
        if (engine_session::live_count() == 0 || std::chrono::steady_clock::now() >= deadline) {
            ioc.stop();
            *wait = nullptr;
            return;
        }
        timer->expires_after(std::chrono::milliseconds(20));
        timer->async_wait([wait](beast::error_code) {
            if (*wait) (*wait)();
        });
    };
    (*wait)();
}

server::server(server_config config) : impl_(std::make_unique<impl>(std::move(config))) {
    configure_logging(impl_->config.log, impl_->config.log_style);
}
server::~server() = default;

void server::engine(std::string path, engine_handler handler) {
    if (path.empty() || path.front() != '/') path = "/" + path;
    if (path.back() != '/') path.push_back('/');
    impl_->endpoints.push_back(
        std::make_unique<engine_endpoint>(std::move(path), std::move(handler), impl_->config, impl_->ioc));
}

void server::run() {
    auto& s = *impl_;
    // One descriptor per connection: allow as many as the system lets this process have.
    if (rlimit fds{}; ::getrlimit(RLIMIT_NOFILE, &fds) == 0 && fds.rlim_cur < fds.rlim_max) {
        fds.rlim_cur = fds.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &fds);
    }
    const auto address = net::ip::make_address(s.config.host);
    s.acceptor.emplace(s.ioc);
    const tcp::endpoint where(address, s.config.port);
    s.acceptor->open(where.protocol());
    s.acceptor->set_option(net::socket_base::reuse_address(true));
    s.acceptor->bind(where);
    s.acceptor->listen(net::socket_base::max_listen_connections);
    s.bound_port = s.acceptor->local_endpoint().port();
    std::cout << fmt::format("listening on http://{}:{}", s.config.host, s.bound_port.load()) << std::endl;
    const auto& c = s.config;
    std::string paths;
    for (const auto& e : s.endpoints) paths += (paths.empty() ? "" : ", ") + e->path();
    SB_LOG(info,
           "listening on http://{}:{} (Engine.IO at {}; transports {}{}{}; {} I/O thread(s); ping {}/{} ms; max "
           "payload {} B; max attachments {}; max queue {} B; write timeout {} ms; request timeout {} ms; static "
           "'{}')",
           c.host, s.bound_port.load(), paths.empty() ? "(none)" : paths, c.allow_polling ? "polling" : "",
           c.allow_polling && c.allow_websocket ? "+" : "", c.allow_websocket ? "websocket" : "", c.threads,
           c.ping_interval_ms, c.ping_timeout_ms, c.max_payload, c.max_attachments, c.max_queue_bytes,
           c.write_timeout_ms, c.request_timeout_ms, c.static_dir);

    s.signals.add(SIGINT);
    s.signals.add(SIGTERM);
    s.signals.async_wait([&s](beast::error_code ec, int) {
        if (!ec) s.shutdown();
    });
    s.accept();

    // Handlers guard the application's code themselves; this is the last line: whatever still escapes
    // a handler is logged and the thread goes back to serving everyone else.
    const auto serve = [&s] {
        for (;;) {
            try {
                s.ioc.run();
                return;
            } catch (...) {
                SB_LOG(err, "an exception reached the I/O loop ({}); serving on", describe_current_exception());
            }
        }
    };
    std::vector<std::thread> threads;
    for (unsigned i = 1; i < s.config.threads; ++i) threads.emplace_back(serve);
    serve();
    for (auto& t : threads) t.join();
}

void server::stop() {
    net::post(impl_->ioc, [this] { impl_->shutdown(); });
}

void server::post_after(std::chrono::milliseconds delay, std::function<void()> task) {
    auto timer = std::make_shared<net::steady_timer>(impl_->ioc, delay);
    timer->async_wait([timer, task = std::move(task)](beast::error_code ec) {
        if (ec) return;
        try {
            task();
        } catch (...) {
            SB_LOG(warn, "a timer task threw ({})", describe_current_exception());
        }
    });
}

void server::accept_session(std::string_view path, const std::shared_ptr<engine_socket>& session) {
    for (auto& e : impl_->endpoints) {
        if (e->path() != path || !e->handler()) continue;
        try {
            e->handler()(session);
        } catch (...) {
            SB_LOG(warn, "the connection handler threw ({})", describe_current_exception());
            session->close();
        }
        return;
    }
}

std::uint16_t server::port() const noexcept { return impl_->bound_port.load(); }

const server_config& server::config() const noexcept { return impl_->config; }

} // namespace switchboard::server
