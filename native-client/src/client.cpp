// The native client: one `connection_impl` drives the shared sans-I/O `client::manager` with Beast
// transports (transports.hpp) and one timer, on a strand, and hands what the application must see to
// its handlers. The transport logic follows engine.io-client (as the WASM client's does): the first
// transport listed is tried first; a WebSocket that cannot open before the handshake gives way to
// polling; a polling session upgrades to WebSocket when offered (2probe / 3probe, polling paused, 5).
#include "transports.hpp"
#include "url.hpp"

#include <switchboard/client/client.hpp>
#include <switchboard/client/manager.hpp>
#include <switchboard/json.hpp>
#include <switchboard/msgpack/parser.hpp>
#include <switchboard/sio/packet.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <span>
#include <stdexcept>
#include <thread>

namespace switchboard::client {

namespace {

class client_error_category final : public std::error_category {
public:
    const char* name() const noexcept override { return "switchboard.client"; }
    std::string message(int code) const override {
        switch (static_cast<errc>(code)) {
        case errc::timeout: return "operation has timed out";
        case errc::disconnected: return "socket has been disconnected";
        case errc::closed: return "connection closed";
        case errc::reserved_name: return "reserved event name";
        }
        return "unknown error";
    }
};

/// The client's log (stderr, named "switchboard-client": an application may configure or replace it).
spdlog::logger& log() {
    static const std::shared_ptr<spdlog::logger> logger = [] {
        if (auto existing = spdlog::get("switchboard-client")) return existing;
        return spdlog::stderr_color_mt("switchboard-client");
    }();
    return *logger;
}

duration now() { return std::chrono::duration_cast<duration>(std::chrono::steady_clock::now().time_since_epoch()); }

/// User code runs behind this barrier: an exception from a handler is logged and goes no further.
template <class F, class... A>
void call_user(const char* what, const F& f, A&&... args) noexcept {
    if (!f) return;
    try {
        f(std::forward<A>(args)...);
    } catch (const std::exception& e) {
        log().error("switchboard client: {} handler threw: {}", what, e.what());
    } catch (...) {
        log().error("switchboard client: {} handler threw", what);
    }
}

/// The handlers of a list, called on a copy: a handler may add or remove handlers.
template <class List, class... A>
void call_each(const char* what, const List& list, A&... args) noexcept {
    const auto copy = list;
    for (const auto& f : copy) call_user(what, f, args...);
}

} // namespace

const std::error_category& error_category() noexcept {
    static const client_error_category category;
    return category;
}

void ack_responder::answer(arguments args) const {
    if (answer_) answer_(std::move(args));
}

namespace detail {

using namespace std::chrono_literals;

struct socket_impl {
    socket_impl(std::weak_ptr<connection_impl> owner, std::string nsp, socket_options opts)
        : owner(std::move(owner)), nsp(std::move(nsp)), opts(std::move(opts)) {}

    const std::weak_ptr<connection_impl> owner;
    const std::string nsp;

    // What other threads may read.
    mutable std::mutex state_mutex;
    std::string id;
    bool connected = false;
    bool active = false;
    bool recovered = false;

    // The connection's strand only.
    socket_options opts;
    std::map<std::string, std::vector<event_handler>> handlers;
    std::vector<any_handler> any;
    std::vector<outgoing_handler> any_outgoing;
    std::vector<std::function<void()>> on_connect;
    std::vector<std::function<void(std::string_view)>> on_disconnect;
    std::vector<std::function<void(const connect_error&)>> on_connect_error;
    struct pending_ack {
        ack_callback callback;
        bool buffered; // emitted while not connected: it goes out at the next connection, a disconnection does not fail
                       // it
    };
    std::map<std::uint64_t, pending_ack> acks;

    void set_state(std::string new_id, bool is_connected, bool is_active, bool was_recovered) {
        std::lock_guard lock(state_mutex);
        id = std::move(new_id);
        connected = is_connected;
        active = is_active;
        recovered = was_recovered;
    }
    void set_active(bool is_active) {
        std::lock_guard lock(state_mutex);
        active = is_active;
    }
    void fail_acks(errc why, bool including_buffered) {
        std::vector<ack_callback> failed;
        for (auto it = acks.begin(); it != acks.end();) {
            if (it->second.buffered && !including_buffered) {
                ++it;
                continue;
            }
            failed.push_back(std::move(it->second.callback));
            it = acks.erase(it);
        }
        for (const auto& callback : failed) call_user("ack", callback, make_error_code(why), arguments{});
    }
    void clear_handlers() {
        handlers.clear();
        any.clear();
        any_outgoing.clear();
        on_connect.clear();
        on_disconnect.clear();
        on_connect_error.clear();
        opts.auth_fn = nullptr;
    }
};

} // namespace detail

// --- the event loop ---------------------------------------------------------------------------------

namespace net = boost::asio;

struct event_loop::impl {
    explicit impl(unsigned threads) : work(net::make_work_guard(context)) {
        for (unsigned i = 0; i < std::max(1u, threads); ++i)
            this->threads.emplace_back([this] {
                context.run();
                std::lock_guard lock(mutex);
                ++finished;
                done.notify_all();
            });
    }
    net::io_context context;
    std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
    std::vector<std::thread> threads;
    std::mutex mutex;
    std::condition_variable done;
    std::size_t finished = 0;
};

event_loop::event_loop(unsigned threads) : impl_(std::make_unique<impl>(threads)) {}

event_loop::~event_loop() {
    impl_->work.reset();
    {
        std::unique_lock lock(impl_->mutex);
        if (!impl_->done.wait_for(lock, std::chrono::seconds(1),
                                  [&] { return impl_->finished == impl_->threads.size(); }))
            impl_->context.stop();
    }
    for (auto& t : impl_->threads) t.join();
}

namespace detail {

struct connection_impl : std::enable_shared_from_this<connection_impl> {
    enum class transport_kind { polling, websocket };

    connection_impl(net::io_context& context, server_url url, connection_options opts)
        : strand_(net::make_strand(context)), timer_(strand_), opts_(std::move(opts)), url_(std::move(url)),
          manager_(manager_options(opts_), seed()) {
        for (const auto& name : opts_.transports) {
            if (name == "websocket") transports_.push_back(transport_kind::websocket);
            if (name == "polling") transports_.push_back(transport_kind::polling);
        }
        if (transports_.empty())
            throw std::invalid_argument("switchboard client: transports: none of polling, websocket");
        if (url_.secure) {
            tls_.emplace(net::ssl::context::tls_client);
            tls_->set_default_verify_paths();
            if (!opts_.ca_file.empty())
                tls_->load_verify_file(opts_.ca_file); // throws: a bad file is the caller's error
            tls_->set_verify_mode(opts_.reject_unauthorized ? net::ssl::verify_peer : net::ssl::verify_none);
        }
        endpoint_.host = url_.host;
        endpoint_.port = url_.port;
        endpoint_.host_header = url_.host_header;
        endpoint_.tls = tls_ ? &*tls_ : nullptr;
        endpoint_.headers = opts_.extra_headers;
        endpoint_.connect_timeout = opts_.timeout;
    }

    /// Runs `f` on the strand: now when already there (a handler calling the API), else posted.
    template <class F>
    void on_strand(F&& f) {
        if (strand_.running_in_this_thread()) {
            if (!shut_down_) f();
            return;
        }
        net::post(strand_, [self = shared_from_this(), f = std::forward<F>(f)]() mutable {
            if (!self->shut_down_) f();
        });
    }

    std::shared_ptr<socket_impl> socket(const std::string& nsp, socket_options opts) {
        std::lock_guard lock(sockets_mutex_);
        auto& s = sockets_[nsp];
        if (!s) s = std::make_shared<socket_impl>(weak_from_this(), nsp, std::move(opts));
        return s;
    }

    std::shared_ptr<socket_impl> find_socket(const std::string& nsp) {
        std::lock_guard lock(sockets_mutex_);
        const auto it = sockets_.find(nsp);
        return it == sockets_.end() ? nullptr : it->second;
    }

    // --- what the API asks (on the strand) -----------------------------------------------------------

    void connect(socket_impl& s) {
        s.set_active(true);
        if (s.opts.auth_fn)
            manager_.connect_socket(now(), s.nsp, {}, true);
        else
            manager_.connect_socket(now(), s.nsp, s.opts.auth);
        run();
    }

    void disconnect(socket_impl& s) {
        s.set_active(false);
        manager_.disconnect_socket(now(), s.nsp);
        run();
    }

    void emit(socket_impl& s, std::string name, arguments args, ack_callback callback,
              std::optional<std::chrono::milliseconds> timeout, bool is_volatile) {
        // The packet's JSON text, [name, ...args], written once (no copy of the arguments into an array).
        std::string data = "[";
        stringify_string(data, name);
        for (const auto& v : args.values) {
            data += ',';
            stringify(data, v);
        }
        data += ']';
        if (callback && !timeout) timeout = opts_.ack_timeout;
        const bool was_connected = manager_.is_connected(s.nsp);
        if (is_volatile && !was_connected) return;
        const auto id = manager_.emit(now(), s.nsp, std::move(data), args.attachments, static_cast<bool>(callback),
                                      timeout, is_volatile);
        call_each("any outgoing", s.any_outgoing, name, args);
        if (callback && id) s.acks.emplace(*id, socket_impl::pending_ack{std::move(callback), !was_connected});
        run();
    }

    void answer(const std::string& nsp, std::uint64_t id, arguments args) {
        manager_.ack(nsp, id, stringify(args.values), std::move(args.attachments));
        run();
    }

    void open() {
        manager_.open(now());
        run();
    }

    /// The connection is going away: sockets disconnect, acks fail, handlers are dropped (they may hold
    /// socket handles: that would keep everything alive), the transports close.
    void shut_down() {
        manager_.close(now());
        run();
        shut_down_ = true;
        timer_.cancel();
        stop_transport(/*abandon_post=*/true);
        std::lock_guard lock(sockets_mutex_);
        for (auto& [nsp, s] : sockets_) {
            s->fail_acks(errc::closed, true);
            s->clear_handlers();
            s->set_state({}, false, false, false);
        }
        on_open_.clear();
        on_close_.clear();
        on_error_.clear();
        on_reconnect_attempt_.clear();
        on_reconnect_.clear();
        on_reconnect_failed_.clear();
        on_transport_.clear();
    }

    std::string transport_name() const {
        std::lock_guard lock(transport_mutex_);
        return transport_name_;
    }

    // --- the manager's effects -------------------------------------------------------------------------

    void run() {
        for (auto effects = manager_.take_effects(); !effects.empty(); effects = manager_.take_effects())
            for (auto& effect : effects) std::visit([this](auto& e) { apply(e); }, effect);
        if (!shut_down_) arm_timer();
    }

    void apply(open_transport&) {
        stop_transport(false);
        handshaken_ = false;
        start_transport(transports_.front());
    }
    void apply(close_transport&) {
        flush_post(); // a close packet queued just before goes out
        stop_transport(true);
    }
    void apply(send_frames& s) {
        if (kind_ == transport_kind::websocket && ws_) {
            for (const auto& f : s.frames) ws_->send(f);
            return;
        }
        for (auto& f : s.frames) outbox_.push_back(std::move(f));
        flush_post();
    }
    void apply(socket_connected& e) {
        const auto s = find_socket(e.nsp);
        if (!s) return;
        s->set_state(e.id, true, true, e.recovered);
        for (auto& [id, ack] : s->acks) ack.buffered = false; // the buffer went out with the CONNECT answer
        call_each("connect", s->on_connect);
    }
    void apply(socket_disconnected& e) {
        const auto s = find_socket(e.nsp);
        if (!s) return;
        const bool ends = e.reason == "io server disconnect" || e.reason == "io client disconnect";
        bool active;
        {
            std::lock_guard lock(s->state_mutex);
            active = s->active && !ends;
        }
        s->set_state({}, false, active, false);
        s->fail_acks(errc::disconnected, false);
        const std::string_view reason = e.reason;
        call_each("disconnect", s->on_disconnect, reason);
    }
    void apply(connect_failed& e) {
        const auto s = find_socket(e.nsp);
        if (!s) return;
        s->set_active(false); // refused by the server: no retry (socket.io-client destroys the socket)
        const connect_error error{e.message, e.data};
        call_each("connect_error", s->on_connect_error, error);
    }
    void apply(event_received& e) {
        const auto s = find_socket(e.nsp);
        if (!s || !manager_.is_connected(e.nsp)) return;
        auto parsed = parse_json(e.packet.data, opts_limits().max_json_depth);
        if (!parsed || !parsed->is_array() || parsed->as_array().empty()) return; // the decoder checked it
        auto& array = parsed->as_array();
        event ev;
        if (const auto* name = array.front().if_string())
            ev.name = std::string(*name);
        else
            ev.name = stringify(array.front()); // socket.io allows numeric names
        array.erase(array.begin());
        ev.args = arguments(std::move(array), std::move(e.packet.attachments));
        if (e.packet.id) {
            auto answered = std::make_shared<bool>(false);
            ev.ack = ack_responder([weak = weak_from_this(), nsp = e.nsp, id = *e.packet.id, answered](arguments a) {
                if (std::exchange(*answered, true)) return;
                if (auto self = weak.lock())
                    self->on_strand(
                        [self, nsp, id, a = std::move(a)]() mutable { self->answer(nsp, id, std::move(a)); });
            });
        }
        call_each("any", s->any, ev);
        const auto it = s->handlers.find(ev.name);
        if (it == s->handlers.end()) return;
        const auto handlers = it->second;
        for (const auto& h : handlers) call_user("event", h, ev);
    }
    void apply(ack_received& e) {
        const auto s = find_socket(e.nsp);
        if (!s) return;
        const auto it = s->acks.find(e.id);
        if (it == s->acks.end()) return;
        auto callback = std::move(it->second.callback);
        s->acks.erase(it);
        auto parsed = parse_json(e.packet.data, opts_limits().max_json_depth);
        arguments reply;
        if (parsed && parsed->is_array())
            reply = arguments(std::move(parsed->as_array()), std::move(e.packet.attachments));
        call_user("ack", callback, std::error_code{}, std::move(reply));
    }
    void apply(ack_timed_out& e) {
        const auto s = find_socket(e.nsp);
        if (!s) return;
        const auto it = s->acks.find(e.id);
        if (it == s->acks.end()) return;
        auto callback = std::move(it->second.callback);
        s->acks.erase(it);
        call_user("ack", callback, make_error_code(errc::timeout), arguments{});
    }
    void apply(reconnect_attempt& e) { call_each("reconnect_attempt", on_reconnect_attempt_, e.attempt); }
    void apply(reconnected& e) { call_each("reconnect", on_reconnect_, e.attempts); }
    void apply(reconnect_failed&) { call_each("reconnect_failed", on_reconnect_failed_); }
    void apply(transport_error& e) {
        // The manager's words, and the transport's (e.g. "certificate verify failed").
        const std::string text = last_failure_.empty() ? e.message : e.message + ": " + last_failure_;
        last_failure_.clear();
        const std::string_view message = text;
        call_each("error", on_error_, message);
        // As socket.io-client: the sockets waiting to connect hear of it as a connect_error.
        std::vector<std::shared_ptr<socket_impl>> waiting;
        {
            std::lock_guard lock(sockets_mutex_);
            for (auto& [nsp, s] : sockets_) {
                std::lock_guard state(s->state_mutex);
                if (s->active && !s->connected) waiting.push_back(s);
            }
        }
        const connect_error error{text, nullptr};
        for (const auto& s : waiting) call_each("connect_error", s->on_connect_error, error);
    }
    void apply(auth_needed& e) {
        const auto s = find_socket(e.nsp);
        boost::json::object auth;
        if (s && s->opts.auth_fn) {
            try {
                auth = s->opts.auth_fn();
            } catch (const std::exception& ex) {
                log().error("switchboard client: auth function threw: {}", ex.what());
            } catch (...) {
                log().error("switchboard client: auth function threw");
            }
        }
        manager_.connect_socket(now(), e.nsp, std::move(auth), true);
    }
    void apply(engine_opened&) { call_each("open", on_open_); }
    void apply(engine_closed& e) {
        const std::string_view reason = e.reason;
        call_each("close", on_close_, reason);
    }

    // --- transports --------------------------------------------------------------------------------------

    std::string target(transport_kind kind) const {
        const std::string_view sid =
            handshaken_ && manager_.handshake() ? manager_.handshake()->sid : std::string_view{};
        return engine_target(url_, opts_.path, kind == transport_kind::websocket ? "websocket" : "polling", sid,
                             opts_.query);
    }

    bool allowed(transport_kind kind) const {
        return std::find(transports_.begin(), transports_.end(), kind) != transports_.end();
    }

    void set_transport_name(std::string name) {
        {
            std::lock_guard lock(transport_mutex_);
            transport_name_ = name;
        }
        const std::string_view view = name;
        if (!name.empty()) call_each("transport", on_transport_, view);
    }

    void start_transport(transport_kind kind) {
        kind_ = kind;
        set_transport_name(kind == transport_kind::websocket ? "websocket" : "polling");
        if (kind == transport_kind::websocket) {
            ws_ = open_ws();
        } else {
            polling_ = true;
            get_ = make_http_link(strand_, endpoint_);
            post_ = make_http_link(strand_, endpoint_);
            issue_get();
        }
    }

    /// `abandon_post`: a POST in flight (the close packet) is left to finish on its own.
    void stop_transport(bool abandon_post) {
        if (ws_) std::exchange(ws_, nullptr)->close();
        if (probe_) std::exchange(probe_, nullptr)->close();
        if (get_) std::exchange(get_, nullptr)->close();
        if (post_) {
            auto post = std::exchange(post_, nullptr);
            if (!(abandon_post && post_in_flight_)) post->close();
        }
        polling_ = upgrading_ = get_in_flight_ = post_in_flight_ = false;
        post_bytes_ = 0;
        outbox_.clear();
        set_transport_name({});
    }

    /// The current transport failed. Before any handshake, WebSocket falls back to polling (the server
    /// or a proxy may refuse WebSocket); otherwise the manager decides (reconnection).
    void transport_failed(sio::disconnect_reason reason, std::string_view why) {
        last_failure_ = why;
        const auto failed = kind_;
        stop_transport(false);
        if (!handshaken_ && failed == transport_kind::websocket && allowed(transport_kind::polling))
            return start_transport(transport_kind::polling);
        manager_.on_transport_closed(now(), reason);
    }

    /// After feeding the manager: the handshake may just have arrived.
    void after_packets() {
        if (handshaken_ || !manager_.handshake()) return;
        handshaken_ = true;
        const auto& upgrades = manager_.handshake()->upgrades;
        const bool offered = std::find(upgrades.begin(), upgrades.end(), "websocket") != upgrades.end();
        if (kind_ == transport_kind::polling && opts_.upgrade && offered && allowed(transport_kind::websocket))
            probe_ = open_ws();
    }

    /// A WebSocket, the transport or an upgrade's probe: its callbacks find out which it is when they come.
    std::shared_ptr<websocket_link> open_ws() {
        websocket_link::events events;
        const auto weak = weak_from_this();
        auto link = std::make_shared<websocket_link*>(nullptr); // which link the callbacks come from
        events.opened = [weak, link] {
            if (auto self = weak.lock(); self && *link && *link == self->probe_.get())
                self->probe_->send(eio::make_text_frame(eio::packet_type::ping, "probe"));
        };
        events.message = [weak, link](std::string_view data, bool binary) {
            if (auto self = weak.lock()) self->on_ws_message(*link, data, binary);
        };
        events.failed = [weak, link](std::string_view why) {
            if (auto self = weak.lock()) self->on_ws_failed(*link, why);
        };
        auto ws = open_websocket(strand_, endpoint_, target(transport_kind::websocket), std::move(events));
        *link = ws.get();
        return ws;
    }

    void on_ws_message(websocket_link* link, std::string_view data, bool binary) {
        if (link && link == probe_.get()) {
            if (!binary && data == "3probe") {
                upgrading_ = true; // no new requests; switch once those in flight are done
                maybe_finish_upgrade();
            } else {
                std::exchange(probe_, nullptr)->close(); // not a server we can upgrade with: stay on polling
            }
            return run();
        }
        if (!link || link != ws_.get()) return;
        if (binary)
            manager_.on_binary(now(), copy_shared_bytes(data));
        else
            manager_.on_text(now(), data);
        after_packets();
        run();
    }

    void on_ws_failed(websocket_link* link, std::string_view why) {
        if (link && link == probe_.get()) { // the upgrade failed: carry on polling
            probe_ = nullptr;
            upgrading_ = false;
            issue_get();
            flush_post();
        } else if (link && link == ws_.get()) {
            ws_ = nullptr;
            transport_failed(sio::disconnect_reason::transport_close, why);
        }
        run();
    }

    // Polling.
    static std::string failure(const http_link::response& r) {
        return r.failed ? r.why : "HTTP " + std::to_string(r.status);
    }

    void issue_get() {
        if (!polling_ || get_in_flight_ || upgrading_ || !get_) return;
        get_in_flight_ = true;
        get_->request(false, target(transport_kind::polling), {},
                      [weak = weak_from_this(), link = get_.get()](http_link::response r) {
                          auto self = weak.lock();
                          if (!self || link != self->get_.get()) return;
                          self->get_in_flight_ = false;
                          self->on_poll_response(std::move(r));
                          self->run();
                      });
    }

    void flush_post() {
        if (!polling_ || post_in_flight_ || outbox_.empty() || upgrading_ || !handshaken_ || !post_) return;
        // As engine.io-client: one POST stays within the server's maxPayload (at least one packet each).
        const auto& h = manager_.handshake();
        const std::size_t limit = h ? static_cast<std::size_t>(h->max_payload) : SIZE_MAX;
        const std::size_t take = eio::frames_within(outbox_, limit);
        auto payload = eio::encode_payload(std::span<const eio::frame>(outbox_.data(), take));
        outbox_.erase(outbox_.begin(), outbox_.begin() + static_cast<std::ptrdiff_t>(take));
        post_bytes_ = payload.size();
        post_in_flight_ = true;
        post_->request(true, target(transport_kind::polling), std::move(payload),
                       [weak = weak_from_this(), link = post_.get()](http_link::response r) {
                           auto self = weak.lock();
                           if (!self || link != self->post_.get()) return;
                           self->post_in_flight_ = false;
                           self->post_bytes_ = 0;
                           if (r.failed || r.status != 200) {
                               if (self->polling_)
                                   self->transport_failed(sio::disconnect_reason::transport_error, failure(r));
                           } else {
                               self->flush_post();
                               self->maybe_finish_upgrade();
                           }
                           self->run();
                       });
    }

    void on_poll_response(http_link::response r) {
        if (!polling_) return;
        if (r.failed || r.status != 200) return transport_failed(sio::disconnect_reason::transport_error, failure(r));
        auto payload = eio::decode_payload(r.body, opts_limits());
        for (auto& packet : payload.packets) {
            if (!polling_) return; // a close packet ended it
            manager_.on_packet(now(), std::move(packet));
            after_packets();
        }
        if (payload.error) {
            manager_.on_transport_closed(now(), sio::disconnect_reason::parse_error);
            return stop_transport(false);
        }
        flush_post();
        maybe_finish_upgrade();
        issue_get();
    }

    /// 3probe came, and no request is in flight: tell the server (5) and carry on over the WebSocket.
    void maybe_finish_upgrade() {
        if (!upgrading_ || !probe_ || get_in_flight_ || post_in_flight_) return;
        probe_->send(eio::make_text_frame(eio::packet_type::upgrade));
        ws_ = std::exchange(probe_, nullptr);
        if (get_) std::exchange(get_, nullptr)->close();
        if (post_) std::exchange(post_, nullptr)->close();
        polling_ = upgrading_ = false;
        kind_ = transport_kind::websocket;
        set_transport_name("websocket");
        for (const auto& f : outbox_) ws_->send(f); // what waited during the switch
        outbox_.clear();
    }

    // --- the one timer -----------------------------------------------------------------------------------

    void arm_timer() {
        const auto deadline = manager_.next_deadline();
        if (!deadline) {
            if (timer_armed_) timer_.cancel();
            timer_armed_ = false;
            return;
        }
        // Most calls only push the deadline later: a timer armed for an earlier time stays, and
        // on_timer() re-arms when it fires early. No timer churn per message.
        if (timer_armed_ && armed_for_ <= *deadline) return;
        armed_for_ = *deadline;
        timer_armed_ = true;
        timer_.expires_after(std::max(duration(0), *deadline - now()) + 1ms);
        timer_.async_wait([weak = weak_from_this(), generation = ++timer_generation_](boost::system::error_code ec) {
            auto self = weak.lock();
            if (ec || !self || generation != self->timer_generation_ || self->shut_down_) return;
            self->timer_armed_ = false;
            self->manager_.on_timer(now());
            self->run();
        });
    }

    const codec_limits& opts_limits() const { return limits_; }

    static client::options manager_options(const connection_options& o) {
        client::options m;
        m.reconnection = o.reconnection;
        m.reconnection_attempts = o.reconnection_attempts;
        m.reconnection_delay = o.reconnection_delay;
        m.reconnection_delay_max = o.reconnection_delay_max;
        m.randomization_factor = o.randomization_factor;
        m.timeout = o.timeout;
        if (o.parser == "msgpack")
            m.parser = std::make_shared<msgpack_parser::client_parser>(m.limits);
        else if (o.parser != "default")
            throw std::invalid_argument("switchboard client: parser: \"default\" or \"msgpack\"");
        return m;
    }
    static std::uint64_t seed() {
        return static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
               std::hash<std::thread::id>()(std::this_thread::get_id());
    }

    strand strand_;
    net::steady_timer timer_;
    connection_options opts_;
    server_url url_;
    std::optional<net::ssl::context> tls_;
    endpoint endpoint_;
    codec_limits limits_;
    client::manager manager_;

    std::mutex sockets_mutex_;
    std::map<std::string, std::shared_ptr<socket_impl>> sockets_;

    std::vector<std::function<void()>> on_open_;
    std::vector<std::function<void(std::string_view)>> on_close_;
    std::vector<std::function<void(std::string_view)>> on_error_;
    std::vector<std::function<void(std::uint32_t)>> on_reconnect_attempt_;
    std::vector<std::function<void(std::uint32_t)>> on_reconnect_;
    std::vector<std::function<void()>> on_reconnect_failed_;
    std::vector<std::function<void(std::string_view)>> on_transport_;

    mutable std::mutex transport_mutex_;
    std::string transport_name_;
    bool shut_down_ = false;
    std::string last_failure_; // why the transport failed, for the error the manager reports next

    std::vector<transport_kind> transports_;
    transport_kind kind_ = transport_kind::polling;
    bool handshaken_ = false; // the current Engine.IO session has its handshake
    std::shared_ptr<websocket_link> ws_;
    std::shared_ptr<websocket_link> probe_; // the WebSocket a polling session upgrades to
    std::shared_ptr<http_link> get_;
    std::shared_ptr<http_link> post_;
    bool polling_ = false;
    bool upgrading_ = false; // 3probe received: polling pauses
    bool get_in_flight_ = false;
    bool post_in_flight_ = false;
    std::vector<eio::frame> outbox_; // polling: frames for the next POST
    std::size_t post_bytes_ = 0;

    bool timer_armed_ = false;
    duration armed_for_{};
    std::uint64_t timer_generation_ = 0;
};

} // namespace detail

// --- socket ------------------------------------------------------------------------------------------

namespace {
/// Runs `f(connection, socket)` on the socket's connection strand; nothing once the connection is gone.
template <class F>
void on_connection(const std::shared_ptr<detail::socket_impl>& s, F&& f) {
    if (auto c = s->owner.lock()) c->on_strand([c, s, f = std::forward<F>(f)]() mutable { f(*c, *s); });
}
} // namespace

std::string socket::id() const {
    std::lock_guard lock(impl_->state_mutex);
    return impl_->id;
}
const std::string& socket::nsp() const noexcept { return impl_->nsp; }
bool socket::connected() const {
    std::lock_guard lock(impl_->state_mutex);
    return impl_->connected;
}
bool socket::active() const {
    std::lock_guard lock(impl_->state_mutex);
    return impl_->active;
}
bool socket::recovered() const {
    std::lock_guard lock(impl_->state_mutex);
    return impl_->recovered;
}

const socket& socket::on(std::string event, event_handler handler) const {
    on_connection(impl_,
                  [event = std::move(event), handler = std::move(handler)](auto&, detail::socket_impl& s) mutable {
                      s.handlers[event].push_back(std::move(handler));
                  });
    return *this;
}
const socket& socket::off(std::string event) const {
    on_connection(impl_, [event = std::move(event)](auto&, detail::socket_impl& s) { s.handlers.erase(event); });
    return *this;
}
const socket& socket::on_any(any_handler handler) const {
    on_connection(impl_,
                  [h = std::move(handler)](auto&, detail::socket_impl& s) mutable { s.any.push_back(std::move(h)); });
    return *this;
}
const socket& socket::prepend_any(any_handler handler) const {
    on_connection(impl_, [h = std::move(handler)](auto&, detail::socket_impl& s) mutable {
        s.any.insert(s.any.begin(), std::move(h));
    });
    return *this;
}
const socket& socket::off_any() const {
    on_connection(impl_, [](auto&, detail::socket_impl& s) { s.any.clear(); });
    return *this;
}
const socket& socket::on_any_outgoing(outgoing_handler handler) const {
    on_connection(impl_, [h = std::move(handler)](auto&, detail::socket_impl& s) mutable {
        s.any_outgoing.push_back(std::move(h));
    });
    return *this;
}
const socket& socket::off_any_outgoing() const {
    on_connection(impl_, [](auto&, detail::socket_impl& s) { s.any_outgoing.clear(); });
    return *this;
}
const socket& socket::on_connect(std::function<void()> handler) const {
    on_connection(impl_, [h = std::move(handler)](auto&, detail::socket_impl& s) mutable {
        s.on_connect.push_back(std::move(h));
    });
    return *this;
}
const socket& socket::on_disconnect(std::function<void(std::string_view)> handler) const {
    on_connection(impl_, [h = std::move(handler)](auto&, detail::socket_impl& s) mutable {
        s.on_disconnect.push_back(std::move(h));
    });
    return *this;
}
const socket& socket::on_connect_error(std::function<void(const connect_error&)> handler) const {
    on_connection(impl_, [h = std::move(handler)](auto&, detail::socket_impl& s) mutable {
        s.on_connect_error.push_back(std::move(h));
    });
    return *this;
}

std::error_code socket::emit_args(std::string_view name, arguments args) const {
    return emit_args(name, std::move(args), nullptr);
}

std::error_code socket::emit_args(std::string_view name, arguments args, ack_callback callback) const {
    if (sio::is_reserved_event(name)) return make_error_code(errc::reserved_name);
    auto c = impl_->owner.lock();
    if (!c) return make_error_code(errc::closed);
    c->on_strand([c, s = impl_, name = std::string(name), args = std::move(args), callback = std::move(callback),
                  timeout = timeout_, is_volatile = is_volatile_]() mutable {
        c->emit(*s, std::move(name), std::move(args), std::move(callback), timeout, is_volatile);
    });
    return {};
}

std::future<arguments> socket::emit_args_with_ack(std::string_view name, arguments args) const {
    auto promise = std::make_shared<std::promise<arguments>>();
    auto future = promise->get_future();
    const auto ec = emit_args(name, std::move(args), [promise](std::error_code ec, arguments reply) {
        if (ec)
            promise->set_exception(std::make_exception_ptr(std::system_error(ec)));
        else
            promise->set_value(std::move(reply));
    });
    if (ec) promise->set_exception(std::make_exception_ptr(std::system_error(ec)));
    return future;
}

socket socket::timeout(std::chrono::milliseconds ms) const {
    socket copy = *this;
    copy.timeout_ = ms;
    return copy;
}
socket socket::volatile_() const {
    socket copy = *this;
    copy.is_volatile_ = true;
    return copy;
}

void socket::connect() const {
    on_connection(impl_, [](detail::connection_impl& c, detail::socket_impl& s) { c.connect(s); });
}
void socket::disconnect() const {
    on_connection(impl_, [](detail::connection_impl& c, detail::socket_impl& s) { c.disconnect(s); });
}

// --- connection ----------------------------------------------------------------------------------------

connection::connection(std::string url, connection_options opts, event_loop* loop) {
    auto parsed = detail::parse_server_url(url);
    if (!parsed) throw std::invalid_argument("switchboard client: not an http(s):// or ws(s):// URL: " + url);
    if (!loop) loop = (own_loop_ = std::make_unique<event_loop>(1)).get();
    impl_ = std::make_shared<detail::connection_impl>(loop->impl_->context, std::move(*parsed), std::move(opts));
}

connection::~connection() {
    if (impl_->strand_.running_in_this_thread()) { // misuse (see the header), made harmless
        log().error("switchboard client: a connection destroyed from its own handler; its thread is left running");
        impl_->shut_down();
        if (own_loop_) {
            own_loop_->impl_->work.reset();
            (void)own_loop_.release(); // cannot join the thread it runs on: left to end with its work
        }
        return;
    }
    std::promise<void> done;
    net::post(impl_->strand_, [impl = impl_, &done] {
        if (!impl->shut_down_) impl->shut_down();
        done.set_value();
    });
    done.get_future().wait();
    // Its timer and strand belong to the loop: the connection goes first (handlers still queued hold it
    // until the loop's end), then the loop, once the closing handshakes end (a WebSocket close, the
    // close packet's POST).
    impl_.reset();
    own_loop_.reset();
}

client::socket connection::socket(std::string nsp, socket_options opts) {
    if (nsp.empty()) nsp = impl_->url_.nsp;
    if (nsp.front() != '/') nsp.insert(nsp.begin(), '/');
    const bool auto_connect = opts.auto_connect;
    client::socket s(impl_->socket(nsp, std::move(opts)));
    if (auto_connect) s.connect();
    return s;
}

/// Adds `handler` to one of the connection's handler lists, on its strand.
template <class Handler>
static void add_handler(const std::shared_ptr<detail::connection_impl>& impl,
                        std::vector<Handler> detail::connection_impl::*list, Handler handler) {
    impl->on_strand([c = impl.get(), list, h = std::move(handler)]() mutable { (c->*list).push_back(std::move(h)); });
}

connection& connection::on_open(std::function<void()> handler) {
    add_handler(impl_, &detail::connection_impl::on_open_, std::move(handler));
    return *this;
}
connection& connection::on_close(std::function<void(std::string_view)> handler) {
    add_handler(impl_, &detail::connection_impl::on_close_, std::move(handler));
    return *this;
}
connection& connection::on_error(std::function<void(std::string_view)> handler) {
    add_handler(impl_, &detail::connection_impl::on_error_, std::move(handler));
    return *this;
}
connection& connection::on_reconnect_attempt(std::function<void(std::uint32_t)> handler) {
    add_handler(impl_, &detail::connection_impl::on_reconnect_attempt_, std::move(handler));
    return *this;
}
connection& connection::on_reconnect(std::function<void(std::uint32_t)> handler) {
    add_handler(impl_, &detail::connection_impl::on_reconnect_, std::move(handler));
    return *this;
}
connection& connection::on_reconnect_failed(std::function<void()> handler) {
    add_handler(impl_, &detail::connection_impl::on_reconnect_failed_, std::move(handler));
    return *this;
}
connection& connection::on_transport(std::function<void(std::string_view)> handler) {
    add_handler(impl_, &detail::connection_impl::on_transport_, std::move(handler));
    return *this;
}

void connection::open() {
    impl_->on_strand([impl = impl_.get()] { impl->open(); });
}
void connection::close() {
    impl_->on_strand([impl = impl_.get()] {
        impl->manager_.close(now());
        std::vector<std::shared_ptr<detail::socket_impl>> sockets;
        {
            std::lock_guard lock(impl->sockets_mutex_);
            for (auto& [nsp, s] : impl->sockets_) sockets.push_back(s);
        }
        for (auto& s : sockets) s->set_active(false);
        impl->run();
    });
}
std::string connection::transport() const { return impl_->transport_name(); }

} // namespace switchboard::client
