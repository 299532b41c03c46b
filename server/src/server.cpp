#include <switchboard/server/log.hpp>
#include <switchboard/server/server.hpp>

#include "engine/session.hpp"
#include "http/connection.hpp"
#include "metrics/exposition.hpp"
#include "metrics/probes.hpp"
#include "tls/context.hpp"
#include "util/log.hpp"

#include <fmt/format.h>

#include <sys/resource.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <algorithm>
#include <fstream>

#include <iostream>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

namespace switchboard::server {

struct server::impl {
    explicit impl(server_config c) : config(std::move(c)), ioc(static_cast<int>(config.threads)), signals(ioc) {
        if (config.threads == 1) { // see http_context::shared_strand
            http.shared_strand.emplace(net::make_strand(ioc));
            probe_http.shared_strand.emplace(net::make_strand(ioc));
        }
    }
    ~impl() {
        // Sessions point to their endpoint and live in the pending operations of the io_context. The
        // endpoints let go of their sessions and timers first; then the io_context (a member declared
        // after the endpoints) destroys what is pending, sessions included, while the endpoints exist.
        for (auto& endpoint : endpoints) endpoint->release_sessions();
    }

    server_config config;
    // Both outlive every connection (declared before the io_context, whose pending operations hold the
    // connections' tickets).
    admission admitted{config.max_connections, config.max_connections_per_ip};
    admission probe_admitted{64, 0}; // --metrics-port: a scraper or two, a load balancer's checks
    std::uint64_t refused = 0;       // on the accept path only
    std::vector<std::unique_ptr<engine_endpoint>> endpoints;
    net::io_context ioc;
    std::optional<tcp::acceptor> acceptor;
    net::signal_set signals;
    std::function<bool(const request_info&)> allow_request;
    rate_per_address handshakes{config.handshakes_per_ip};
    http_context http{config, ioc, endpoints, allow_request, handshakes, nullptr, std::nullopt};
    std::atomic<std::uint16_t> bound_port{0};
    net::steady_timer memory_timer{ioc};
    std::size_t sessions_peak = 0;            // the most live sessions since memory was last given back
    std::optional<std::size_t> given_back_at; // live sessions when memory was last given back, while they fall
    std::mutex tls_mutex;                     // guards tls (the accept path reads it, SIGHUP replaces it)
    std::shared_ptr<const tls_context> tls;   // --tls-cert: new connections speak TLS with this
    net::signal_set reload_signal{ioc};       // SIGHUP
    std::atomic<bool> stopping{false};

    // /metrics, /healthz, /readyz: on the main listener, or on their own (--metrics-port).
    std::mutex probes_mutex; // guards the collectors and checks (added before run(), read per request)
    std::vector<std::function<void(std::string&)>> collectors;
    std::vector<std::function<std::string()>> readiness_checks;
    const std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    probe_handlers probes{[this] { return scrape(); }, [this] { return unready(); }};
    std::optional<tcp::acceptor> probe_acceptor;
    server_config probe_config = without_files(config);
    rate_per_address probe_rate{0};
    std::function<bool(const request_info&)> probe_filter;
    std::vector<std::unique_ptr<engine_endpoint>> probe_endpoints; // none: the probes only
    http_context probe_http{probe_config, ioc, probe_endpoints, probe_filter, probe_rate, &probes, std::nullopt};

    static server_config without_files(server_config c) {
        c.static_dir.clear();
        c.client_dir.clear();
        return c;
    }
    std::string scrape();
    std::string unready();
    void accept();
    void accept_probes();
    void watch_memory();
    void load_tls(bool reloading);
    void watch_reload();
    std::shared_ptr<const tls_context> current_tls() {
        std::lock_guard lock(tls_mutex);
        return tls;
    }
    void refuse(strand_socket socket, std::string peer, std::string_view why);
    void shutdown();
};

void server::impl::accept() {
    acceptor->async_accept(http.connection_strand(), [this](beast::error_code ec, strand_socket socket) {
        if (ec == net::error::operation_aborted || !acceptor->is_open()) return;
        if (!ec) {
            const auto remote = socket.remote_endpoint(ec);
            std::string_view why;
            auto ticket = ec ? std::nullopt : admitted.admit(remote.address(), why);
            if (!ticket) {
                if (!ec) refuse(std::move(socket), remote.address().to_string(), why);
                accept();
                return;
            }
            socket.set_option(tcp::no_delay(true), ec);
            serve_http(std::move(socket), http, std::move(*ticket), current_tls());
            accept();
            return;
        }
        // Out of descriptors (or memory): retrying at once would spin; wait for connections to end.
        SB_LOG(warn, "accept failed ({}); retrying in 100 ms", ec.message());
        auto pause = std::make_shared<net::steady_timer>(acceptor->get_executor(), std::chrono::milliseconds(100));
        pause->async_wait([this, pause](beast::error_code wait_ec) {
            if (!wait_ec && acceptor->is_open()) accept();
        });
    });
}

void server::impl::accept_probes() {
    probe_acceptor->async_accept(probe_http.connection_strand(), [this](beast::error_code ec, strand_socket socket) {
        if (ec == net::error::operation_aborted || !probe_acceptor->is_open()) return;
        if (!ec) {
            const auto remote = socket.remote_endpoint(ec);
            std::string_view why;
            if (auto ticket = ec ? std::nullopt : probe_admitted.admit(remote.address(), why))
                serve_http(std::move(socket), probe_http, std::move(*ticket));
        }
        accept_probes();
    });
}

std::string server::impl::scrape() {
    std::string out;
    out.reserve(8192);
    std::size_t polling = 0, websocket = 0, queued = 0;
    for (auto& endpoint : endpoints)
        for (const auto& session : endpoint->all()) {
            (session->transport() == eio::transport_kind::websocket ? websocket : polling) += 1;
            queued += session->buffered_amount();
        }
    metrics::family(out, "switchboard_connections", "gauge", "Engine.IO sessions open, by transport");
    metrics::sample(out, "switchboard_connections", {{"transport", "polling"}}, std::uint64_t{polling});
    metrics::sample(out, "switchboard_connections", {{"transport", "websocket"}}, std::uint64_t{websocket});
    metrics::family(out, "switchboard_queued_bytes", "gauge", "Bytes queued for the sessions and not yet written");
    metrics::sample(out, "switchboard_queued_bytes", {}, std::uint64_t{queued});
    metrics::render(out, metrics::sum());
    {
        std::lock_guard lock(probes_mutex);
        for (const auto& collect : collectors) {
            try {
                collect(out);
            } catch (...) {
                SB_LOG(warn, "a metrics collector threw ({})", describe_current_exception());
            }
        }
    }
    // The process: what its memory and age are (RSS from /proc, in pages).
    long pages = 0;
    if (std::ifstream statm("/proc/self/statm"); statm >> pages >> pages) {
        metrics::family(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes");
        metrics::sample(out, "process_resident_memory_bytes", {},
                        static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)));
    }
    metrics::family(out, "switchboard_uptime_seconds", "gauge", "Seconds since the server was made");
    metrics::sample(out, "switchboard_uptime_seconds", {},
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    return out;
}

std::string server::impl::unready() {
    if (stopping) return "shutting down";
    if (!acceptor || bound_port == 0) return "not listening yet";
    std::lock_guard lock(probes_mutex);
    for (const auto& check : readiness_checks) {
        std::string why;
        try {
            why = check();
        } catch (...) {
            why = std::string("a readiness check threw: ") + describe_current_exception();
        }
        if (!why.empty()) return why;
    }
    return {};
}

// --tls-cert / --tls-key into a context for new connections. At start a failure stops the server; on
// SIGHUP it is logged and the certificate in use stays (a half-written file must not take TLS down).
void server::impl::load_tls(bool reloading) {
    std::string error;
    auto loaded = tls_context::load(config.tls_cert_file, config.tls_key_file, error);
    if (!loaded) {
        if (!reloading) throw std::runtime_error("TLS: " + error);
        SB_LOG(err, "SIGHUP: the certificate was not reloaded ({}); the one in use stays", error);
        return;
    }
    SB_LOG(info, "TLS certificate {}: {}", reloading ? "reloaded" : "loaded", loaded->description());
    std::lock_guard lock(tls_mutex);
    tls = std::move(loaded);
}

void server::impl::watch_reload() {
    reload_signal.async_wait([this](beast::error_code ec, int) {
        if (ec) return;
        load_tls(true); // connections already open keep the certificate they were accepted with
        watch_reload();
    });
}

// Over a connection limit: a fixed 503 and the connection closed, nothing read (cheap, and the client
// learns why: its transport reports the error, and it may retry later).
void server::impl::refuse(strand_socket socket, std::string peer, std::string_view why) {
    metrics::add(metrics::counter::refused_connections);
    const auto n = ++refused;
    if ((n & (n - 1)) == 0) // 1, 2, 4, 8, …: a line per doubling, not per connection
        SB_LOG(warn, "{}: connection refused ({} reached; {} refused so far)", peer, why, n);
    static constexpr std::string_view answer = "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n"
                                               "Content-Length: 0\r\nRetry-After: 1\r\n\r\n";
    auto held = std::make_shared<strand_socket>(std::move(socket));
    net::async_write(*held, net::buffer(answer.data(), answer.size()), [held](beast::error_code, std::size_t) {
        beast::error_code ignored;
        held->shutdown(tcp::socket::shutdown_both, ignored);
        held->close(ignored);
    });
}

// jemalloc's control call, when the program is linked with jemalloc (the server binaries are); null
// otherwise (glibc's malloc, the sanitizers' allocators).
extern "C" int mallctl(const char* name, void* old_value, std::size_t* old_size, void* new_value, std::size_t new_size)
    __attribute__((weak));

namespace {
/// Gives free memory back to the system, whichever allocator holds it.
void give_back_free_memory() {
#ifdef __GLIBC__
    ::malloc_trim(0); // glibc keeps what ended sessions freed in its arenas for reuse
#endif
    // jemalloc: every arena's unused dirty pages, now ("arena.<MALLCTL_ARENAS_ALL>.purge").
    if (mallctl) mallctl("arena.4096.purge", nullptr, nullptr, nullptr, 0);
}
} // namespace

// Memory comes back after a crowd leaves, so the RSS of a server that held 10,000 connections does
// not stay where it was when they are gone. Once the live sessions fall to half their peak (and by at
// least 1,000), free memory is given back, and again each second while they keep falling; checked
// once a second, so a steady server never does it.
void server::impl::watch_memory() {
    memory_timer.expires_after(std::chrono::seconds(1));
    memory_timer.async_wait([this](beast::error_code ec) {
        if (ec || stopping) return;
        const auto live = engine_session::live_count();
        sessions_peak = std::max(sessions_peak, live);
        const bool crowd_left = sessions_peak >= live + 1000 && live <= sessions_peak / 2;
        const bool still_leaving = given_back_at && live < *given_back_at;
        if (crowd_left || still_leaving) {
            give_back_free_memory();
            SB_LOG(debug, "sessions fell from {} to {}: free memory given back", sessions_peak, live);
            sessions_peak = live;
            given_back_at = live;
        } else {
            given_back_at.reset();
        }
        watch_memory();
    });
}

void server::impl::shutdown() {
    if (stopping.exchange(true)) return;
    beast::error_code ignored;
    // The acceptor is not thread-safe: it is closed on its strand, where its handlers run.
    if (acceptor)
        net::dispatch(acceptor->get_executor(), [this] {
            beast::error_code e;
            acceptor->close(e);
        });
    if (probe_acceptor)
        net::dispatch(probe_acceptor->get_executor(), [this] {
            beast::error_code e;
            probe_acceptor->close(e);
        });
    signals.cancel(ignored);
    reload_signal.cancel(ignored);
    memory_timer.cancel();
    for (auto& endpoint : endpoints)
        for (auto& session : endpoint->all()) session->close();
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

void server::allow_request(std::function<bool(const request_info&)> filter) {
    impl_->allow_request = std::move(filter);
}

void server::add_metrics(std::function<void(std::string& out)> collect) {
    std::lock_guard lock(impl_->probes_mutex);
    impl_->collectors.push_back(std::move(collect));
}

void server::add_readiness_check(std::function<std::string()> check) {
    std::lock_guard lock(impl_->probes_mutex);
    impl_->readiness_checks.push_back(std::move(check));
}

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
    if (!s.config.tls_cert_file.empty()) {
        s.load_tls(false);
        s.reload_signal.add(SIGHUP);
        s.watch_reload();
    }
    const auto address = net::ip::make_address(s.config.host);
    s.acceptor.emplace(net::make_strand(s.ioc)); // its handlers and shutdown's close, one at a time
    const tcp::endpoint where(address, s.config.port);
    s.acceptor->open(where.protocol());
    s.acceptor->set_option(net::socket_base::reuse_address(true));
    s.acceptor->bind(where);
    s.acceptor->listen(net::socket_base::max_listen_connections);
    if (s.config.metrics && s.config.metrics_port != 0) {
        s.probe_acceptor.emplace(net::make_strand(s.ioc));
        const tcp::endpoint probe_at(address, s.config.metrics_port);
        s.probe_acceptor->open(probe_at.protocol());
        s.probe_acceptor->set_option(net::socket_base::reuse_address(true));
        s.probe_acceptor->bind(probe_at);
        s.probe_acceptor->listen();
    } else if (s.config.metrics) {
        s.http.probes = &s.probes;
    }
    s.bound_port = s.acceptor->local_endpoint().port();
    const std::string_view scheme = s.tls ? "https" : "http";
    std::cout << fmt::format("listening on {}://{}:{}", scheme, s.config.host, s.bound_port.load()) << std::endl;
    if (s.probe_acceptor)
        SB_LOG(info, "/metrics, /healthz and /readyz on http://{}:{}", s.config.host,
               s.probe_acceptor->local_endpoint().port());
    const auto& c = s.config;
    std::string paths;
    for (const auto& e : s.endpoints) paths += (paths.empty() ? "" : ", ") + e->path();
    SB_LOG(info,
           "listening on {}://{}:{} (Engine.IO at {}; transports {}{}{}; {} I/O thread(s); ping {}/{} ms; max "
           "payload {} B; max attachments {}; max queue {} B; write timeout {} ms; request timeout {} ms; static "
           "'{}')",
           scheme, c.host, s.bound_port.load(), paths.empty() ? "(none)" : paths, c.allow_polling ? "polling" : "",
           c.allow_polling && c.allow_websocket ? "+" : "", c.allow_websocket ? "websocket" : "", c.threads,
           c.ping_interval_ms, c.ping_timeout_ms, c.max_payload, c.max_attachments, c.max_queue_bytes,
           c.write_timeout_ms, c.request_timeout_ms, c.static_dir);

    s.signals.add(SIGINT);
    s.signals.add(SIGTERM);
    s.signals.async_wait([&s](beast::error_code ec, int) {
        if (!ec) s.shutdown();
    });
    s.accept();
    if (s.probe_acceptor) s.accept_probes();
    s.watch_memory();

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

void server::on_upgrade(std::function<void(engine_socket&)> listener) {
    for (auto& endpoint : impl_->endpoints) endpoint->on_upgrade = listener;
}

server::session_counts server::sessions() const {
    session_counts counts;
    for (auto& endpoint : impl_->endpoints)
        for (const auto& session : endpoint->all())
            (session->transport() == eio::transport_kind::websocket ? counts.websocket : counts.polling) += 1;
    return counts;
}

std::uint16_t server::port() const noexcept { return impl_->bound_port.load(); }

const server_config& server::config() const noexcept { return impl_->config; }

} // namespace switchboard::server
