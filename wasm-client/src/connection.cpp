// The browser side of the WebAssembly client: one `Connection` (socket.io-client's Manager) drives
// the shared sans-I/O `client::manager` with the browser's transports and timers, and hands what the
// application must see to JavaScript (js/api.js) as plain objects. Arguments cross as JSON text plus
// attachment bytes and stay text here: JSON.stringify / JSON.parse do that work in api.js, which also
// turns ArrayBuffer / Uint8Array values into the codec's placeholders and back.
//
// Transports, as engine.io-client: WebSocket through Emscripten's websocket API; HTTP long-polling
// through `fetch` (a GET held open for the server's packets, one POST at a time for ours). The first
// transport listed is tried first; when WebSocket cannot connect, polling takes over; a polling
// session upgrades to WebSocket when the server offers it (2probe / 3probe, polling paused, 5).
#include <switchboard/client/manager.hpp>
#include <switchboard/json.hpp>
#include <switchboard/msgpack/parser.hpp>

#include <emscripten/bind.h>
#include <emscripten/em_js.h>
#include <emscripten/emscripten.h>
#include <emscripten/eventloop.h>
#include <emscripten/val.h>
#include <emscripten/websocket.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>

// One HTTP request through fetch(); its completion calls sb_http_done(id, ok, text, length).
// clang-format off
EM_JS(void, sb_http, (int id, int is_post, const char* url, const char* body), {
    const init = is_post
        ? { method: "POST", body: UTF8ToString(body), headers: { "Content-Type": "text/plain;charset=UTF-8" } }
        : { method: "GET" };
    fetch(UTF8ToString(url), init)
        .then((r) => r.text().then((text) => ({ ok: r.ok, text })))
        .catch(() => ({ ok: false, text: "" }))
        .then(({ ok, text }) => {
            const length = lengthBytesUTF8(text);
            const buffer = _malloc(length + 1);
            stringToUTF8(text, buffer, length + 1);
            _sb_http_done(id, ok ? 1 : 0, buffer, length);
            _free(buffer);
        });
});
// clang-format on

namespace {

using namespace switchboard;
using emscripten::val;

client::duration now() { return client::duration(static_cast<std::int64_t>(emscripten_get_now())); }

/// Uint8Array → shared bytes (one copy out of the JS heap).
shared_bytes bytes_from(const val& array) {
    const auto length = array["length"].as<std::size_t>();
    std::string bytes(length, '\0');
    val view = val(emscripten::typed_memory_view(length, reinterpret_cast<unsigned char*>(bytes.data())));
    view.call<void>("set", array);
    return make_shared_bytes(std::move(bytes));
}

/// Shared bytes → a new Uint8Array (a copy: the JS side keeps it after the C++ bytes are gone).
val to_uint8array(const shared_bytes& bytes) {
    val view(emscripten::typed_memory_view(bytes->size(), reinterpret_cast<const unsigned char*>(bytes->data())));
    return val::global("Uint8Array").new_(view);
}

std::vector<shared_bytes> attachments_from(const val& list) {
    std::vector<shared_bytes> out;
    const auto n = list["length"].as<std::size_t>();
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) out.push_back(bytes_from(list[i]));
    return out;
}

val attachments_to_js(const std::vector<shared_bytes>& attachments) {
    if (attachments.empty()) return val::null();
    val out = val::array();
    for (const auto& a : attachments) out.call<void>("push", to_uint8array(a));
    return out;
}

double option(const val& opts, const char* name, double fallback) {
    const val v = opts[name];
    return v.isNumber() ? v.as<double>() : fallback;
}

class connection;

/// Pending fetch() requests, by id: a completion for a connection that is gone is dropped.
std::unordered_map<int, connection*>& http_requests() {
    static std::unordered_map<int, connection*> requests;
    return requests;
}
int next_http_id = 1;

class connection {
public:
    /// `base`: "//host:port/socket.io/?EIO=4&…" (scheme-relative); `secure` picks https/wss.
    /// `on_effect`: called with one object per thing the application must know.
    connection(std::string base, bool secure, val opts, val on_effect)
        : base_(std::move(base)), secure_(secure), on_effect_(std::move(on_effect)),
          manager_(make_options(opts), seed(opts)) {
        const val list = opts["transports"];
        if (list.isArray()) {
            const auto n = list["length"].as<std::size_t>();
            for (std::size_t i = 0; i < n; ++i) {
                const auto name = list[i].as<std::string>();
                if (name == "websocket") transports_.push_back(transport_kind::websocket);
                if (name == "polling") transports_.push_back(transport_kind::polling);
            }
        }
        if (transports_.empty()) transports_ = {transport_kind::polling, transport_kind::websocket};
        upgrade_ = !opts["upgrade"].isFalse();
    }

    ~connection() {
        cancel_timer();
        if (writable_timer_) emscripten_clear_timeout(writable_timer_);
        stop_transport();
        for (auto it = http_requests().begin(); it != http_requests().end();)
            it = it->second == this ? http_requests().erase(it) : std::next(it);
    }

    /// `ask_auth`: the application's auth is a function, asked before every CONNECT (an "auth" effect).
    void connect_socket(const std::string& nsp, const std::string& auth_json, bool ask_auth) {
        boost::json::object auth;
        if (auto parsed = parse_json(auth_json, 32); parsed && parsed->is_object())
            auth = std::move(parsed->as_object());
        manager_.connect_socket(now(), nsp, std::move(auth), ask_auth);
        run();
    }

    void disconnect_socket(const std::string& nsp) {
        manager_.disconnect_socket(now(), nsp);
        run();
    }

    /// Returns the ack id, or -1 when none was asked for (or the emit was refused). `data_json` comes
    /// from JSON.stringify in api.js (which also refuses reserved names): it goes into the packet as it
    /// is, never parsed here.
    double emit(const std::string& nsp, std::string data_json, val attachments, bool want_ack, double timeout_ms,
                bool is_volatile) {
        // As engine.io-client: a volatile emit is dropped while the transport cannot take it at once (a
        // WebSocket message went out in this turn of the event loop, or a polling POST is in flight).
        if (is_volatile && manager_.is_connected(nsp) && !writable()) return -1;
        std::optional<client::duration> timeout;
        if (timeout_ms >= 0) timeout = client::duration(static_cast<std::int64_t>(timeout_ms));
        const auto id = manager_.emit(now(), nsp, std::move(data_json), attachments_from(attachments), want_ack,
                                      timeout, is_volatile);
        run();
        return id ? static_cast<double>(*id) : -1;
    }

    void ack(const std::string& nsp, double id, std::string data_json, val attachments) {
        manager_.ack(nsp, static_cast<std::uint64_t>(id), std::move(data_json), attachments_from(attachments));
        run();
    }

    void close() {
        manager_.close(now());
        run();
    }

    /// Bytes handed to the transport and not sent yet: the WebSocket's bufferedAmount, or the polling
    /// frames waiting for a POST and those of the POST in flight.
    double buffered_amount() const {
        std::size_t n = post_bytes_;
        for (const auto& f : outbox_) n += f.bytes->size();
        if (kind_ == transport_kind::websocket && socket_) {
            unsigned long long queued = 0;
            if (emscripten_websocket_get_buffered_amount(socket_, &queued) == EMSCRIPTEN_RESULT_SUCCESS)
                n += static_cast<std::size_t>(queued);
        }
        return static_cast<double>(n);
    }

    /// socket.io.engine's "packet" / "packetCreate" events are told only while the application listens.
    void observe_packets(bool on) { observe_packets_ = on; }

    /// A fetch() finished.
    void on_http_done(int id, bool ok, std::string_view text) {
        if (id == get_id_) {
            get_id_ = 0;
            on_poll_response(ok, text);
        } else if (id == post_id_) {
            post_id_ = 0;
            post_bytes_ = 0;
            if (!ok) {
                if (polling_active_) transport_failed(sio::disconnect_reason::transport_error);
            } else {
                flush_post();
                maybe_finish_upgrade();
            }
        }
        run();
    }

private:
    enum class transport_kind { polling, websocket };

    static client::options make_options(const val& opts) {
        client::options o;
        if (opts["reconnection"].isTrue() || opts["reconnection"].isFalse())
            o.reconnection = opts["reconnection"].as<bool>();
        const double attempts = option(opts, "reconnectionAttempts", INFINITY);
        o.reconnection_attempts = std::isfinite(attempts) ? static_cast<std::uint32_t>(attempts) : UINT32_MAX;
        o.reconnection_delay = client::duration(static_cast<std::int64_t>(option(opts, "reconnectionDelay", 1000)));
        o.reconnection_delay_max =
            client::duration(static_cast<std::int64_t>(option(opts, "reconnectionDelayMax", 5000)));
        o.randomization_factor = option(opts, "randomizationFactor", 0.5);
        o.timeout = client::duration(static_cast<std::int64_t>(option(opts, "timeout", 20000)));
        // socket.io-client takes a parser object; ours is built in and named (api.js checks the name).
        if (opts["parser"].isString() && opts["parser"].as<std::string>() == "msgpack")
            o.parser = std::make_shared<msgpack_parser::client_parser>(o.limits);
        return o;
    }
    static std::uint64_t seed(const val& opts) {
        return static_cast<std::uint64_t>(option(opts, "seed", 1) * 9007199254740991.0);
    }

    /// Carries out the manager's effects, then re-arms the timer.
    void run() {
        // Carrying out an effect may produce more (a transport that cannot even start).
        for (auto effects = manager_.take_effects(); !effects.empty(); effects = manager_.take_effects())
            for (auto& effect : effects) std::visit([this](auto& e) { apply(e); }, effect);
        arm_timer();
    }

    void apply(client::open_transport&) {
        stop_transport();
        handshaken_ = false;
        start_transport(transports_.front());
    }
    void apply(client::close_transport&) {
        flush_post(); // a close packet queued just before goes out
        stop_transport();
    }
    void apply(client::send_frames& s) {
        for (const auto& f : s.frames) report_frame("packetCreate", f);
        if (kind_ == transport_kind::websocket && socket_) {
            for (const auto& f : s.frames) send_ws(socket_, f);
            written_this_turn();
            return;
        }
        for (auto& f : s.frames) outbox_.push_back(std::move(f));
        flush_post();
    }
    void apply(client::socket_connected& e) { tell("connect", val(e.nsp), val(e.id), val(e.recovered)); }
    void apply(client::socket_disconnected& e) { tell("disconnect", val(e.nsp), val(e.reason)); }
    void apply(client::connect_failed& e) { tell("connect_error", val(e.nsp), val(e.message), val(stringify(e.data))); }
    void apply(client::event_received& e) {
        // The payload is JSON text: api.js parses it.
        tell("event", val(e.nsp), val(e.packet.data), val(e.packet.id ? static_cast<double>(*e.packet.id) : -1.0),
             attachments_to_js(e.packet.attachments));
    }
    void apply(client::ack_received& e) {
        tell("ack", val(e.nsp), val(static_cast<double>(e.id)), val(e.packet.data),
             attachments_to_js(e.packet.attachments));
    }
    void apply(client::ack_timed_out& e) { tell("ack_timeout", val(e.nsp), val(static_cast<double>(e.id))); }
    void apply(client::reconnect_attempt& e) { tell("reconnect_attempt", val::undefined(), val(e.attempt)); }
    void apply(client::reconnected& e) { tell("reconnect", val::undefined(), val(e.attempts)); }
    void apply(client::reconnect_failed&) { tell("reconnect_failed"); }
    void apply(client::transport_error& e) { tell("error", val::undefined(), val(e.message)); }
    void apply(client::auth_needed& e) { tell("auth", val(e.nsp)); }
    void apply(client::engine_opened&) { tell("open"); }
    void apply(client::engine_closed& e) { tell("close", val::undefined(), val(e.reason)); }

    /// socket.io.engine's "packet" / "packetCreate" events, told by report*() below.
    void report(const char* event, const eio::packet& p) {
        if (!observe_packets_) return;
        const auto name = eio::to_string(p.type);
        tell(event, val::undefined(), val(std::string(name)),
             p.binary ? to_uint8array(copy_shared_bytes(p.data)) : val(p.data));
    }
    void report_text(const char* event, std::string_view frame) {
        if (!observe_packets_) return;
        if (auto p = eio::decode_text(frame)) report(event, *p);
    }
    void report_frame(const char* event, const eio::frame& f) {
        if (!observe_packets_) return;
        if (!f.binary) return report_text(event, *f.bytes);
        eio::packet p;
        p.type = eio::packet_type::message;
        p.binary = true;
        p.data = *f.bytes;
        report(event, p);
    }

    /// One call into api.js per effect, with positional values (no object built through embind).
    void tell(const char* type, val nsp = val::undefined(), val a = val::undefined(), val b = val::undefined(),
              val c = val::undefined()) {
        on_effect_(val(type), nsp, a, b, c);
    }

    // --- transports -------------------------------------------------------------------------------------

    std::string url(transport_kind kind) const {
        std::string u = kind == transport_kind::websocket ? (secure_ ? "wss:" : "ws:") : (secure_ ? "https:" : "http:");
        u += base_;
        u += kind == transport_kind::websocket ? "&transport=websocket" : "&transport=polling";
        if (handshaken_ && manager_.handshake()) u += "&sid=" + manager_.handshake()->sid;
        return u;
    }

    bool allowed(transport_kind kind) const {
        return std::find(transports_.begin(), transports_.end(), kind) != transports_.end();
    }

    void start_transport(transport_kind kind) {
        kind_ = kind;
        tell("transport", val::undefined(), val(kind == transport_kind::websocket ? "websocket" : "polling"));
        if (kind == transport_kind::websocket) {
            socket_ = open_ws(url(kind));
            if (!socket_) transport_failed(sio::disconnect_reason::transport_error);
        } else {
            polling_active_ = true;
            issue_get();
        }
    }

    void stop_transport() {
        drop_ws(socket_);
        drop_ws(probe_);
        polling_active_ = false;
        upgrading_ = false;
        get_id_ = 0;
        post_id_ = 0;
        post_bytes_ = 0;
        outbox_.clear();
    }

    /// The current transport failed. Before any handshake, WebSocket falls back to polling (the server
    /// or a proxy may refuse WebSocket); otherwise the manager decides (reconnection).
    void transport_failed(sio::disconnect_reason reason) {
        const auto failed = kind_;
        stop_transport();
        if (!handshaken_ && failed == transport_kind::websocket && allowed(transport_kind::polling)) {
            start_transport(transport_kind::polling);
            return;
        }
        manager_.on_transport_closed(now(), reason);
    }

    /// After feeding the manager: the handshake may just have arrived.
    void after_packets() {
        if (handshaken_ || !manager_.handshake()) return;
        handshaken_ = true;
        const auto& upgrades = manager_.handshake()->upgrades;
        const bool offered = std::find(upgrades.begin(), upgrades.end(), "websocket") != upgrades.end();
        if (kind_ == transport_kind::polling && upgrade_ && offered && allowed(transport_kind::websocket))
            probe_ = open_ws(url(transport_kind::websocket));
    }

    // WebSocket.
    EMSCRIPTEN_WEBSOCKET_T open_ws(const std::string& u) {
        EmscriptenWebSocketCreateAttributes attributes;
        emscripten_websocket_init_create_attributes(&attributes);
        attributes.url = u.c_str();
        attributes.createOnMainThread = EM_TRUE;
        const auto ws = emscripten_websocket_new(&attributes);
        if (ws <= 0) return 0;
        emscripten_websocket_set_onopen_callback(ws, this, &connection::on_ws_open);
        emscripten_websocket_set_onmessage_callback(ws, this, &connection::on_ws_message);
        emscripten_websocket_set_onclose_callback(ws, this, &connection::on_ws_close);
        emscripten_websocket_set_onerror_callback(ws, this, &connection::on_ws_close_or_error);
        return ws;
    }
    static void drop_ws(EMSCRIPTEN_WEBSOCKET_T& ws) {
        if (!ws) return;
        emscripten_websocket_close(ws, 1000, "");
        emscripten_websocket_delete(ws); // no more callbacks for it
        ws = 0;
    }
    static void send_ws(EMSCRIPTEN_WEBSOCKET_T ws, const eio::frame& f) {
        if (f.binary)
            emscripten_websocket_send_binary(ws, const_cast<char*>(f.bytes->data()),
                                             static_cast<std::uint32_t>(f.bytes->size()));
        else
            emscripten_websocket_send_utf8_text(ws, f.bytes->c_str());
    }

    static EM_BOOL on_ws_open(int, const EmscriptenWebSocketOpenEvent* e, void* self) {
        auto* c = static_cast<connection*>(self);
        if (e->socket == c->probe_) send_ws(c->probe_, eio::make_text_frame(eio::packet_type::ping, "probe"));
        return EM_TRUE;
    }
    static EM_BOOL on_ws_message(int, const EmscriptenWebSocketMessageEvent* e, void* self) {
        auto* c = static_cast<connection*>(self);
        const auto* data = reinterpret_cast<const char*>(e->data);
        // numBytes counts the NUL Emscripten appends to text frames.
        const std::string_view text(data, e->isText && e->numBytes > 0 ? e->numBytes - 1 : e->numBytes);
        if (e->socket == c->probe_) {
            if (e->isText && text == "3probe") {
                c->upgrading_ = true; // no new requests; switch once those in flight are done
                c->maybe_finish_upgrade();
            } else {
                drop_ws(c->probe_); // not a server we can upgrade with: stay on polling
            }
            c->run();
            return EM_TRUE;
        }
        if (e->socket != c->socket_) return EM_TRUE;
        if (e->isText) {
            c->report_text("packet", text);
            c->manager_.on_text(now(), text);
        } else {
            c->report_frame("packet", eio::frame{copy_shared_bytes(text), true, false, nullptr});
            c->manager_.on_binary(now(), copy_shared_bytes(text));
        }
        c->after_packets();
        c->run();
        return EM_TRUE;
    }
    static EM_BOOL on_ws_close(int, const EmscriptenWebSocketCloseEvent* e, void* self) {
        static_cast<connection*>(self)->on_ws_gone(e->socket);
        return EM_TRUE;
    }
    static EM_BOOL on_ws_close_or_error(int, const EmscriptenWebSocketErrorEvent* e, void* self) {
        static_cast<connection*>(self)->on_ws_gone(e->socket);
        return EM_TRUE;
    }
    void on_ws_gone(EMSCRIPTEN_WEBSOCKET_T ws) {
        if (ws == probe_) {
            // The upgrade failed: carry on polling.
            drop_ws(probe_);
            upgrading_ = false;
            issue_get();
            flush_post();
        } else if (ws == socket_) {
            transport_failed(sio::disconnect_reason::transport_close);
        }
        run();
    }

    // Polling.
    int http(bool post, const std::string& u, const std::string& body = {}) {
        const int id = next_http_id++;
        http_requests()[id] = this;
        sb_http(id, post ? 1 : 0, u.c_str(), body.c_str());
        return id;
    }
    void issue_get() {
        if (!polling_active_ || get_id_ || upgrading_) return;
        get_id_ = http(false, url(transport_kind::polling));
    }
    void flush_post() {
        if (!polling_active_ || post_id_ || outbox_.empty() || upgrading_ || !handshaken_) return;
        // As engine.io-client: one POST stays within the server's maxPayload (at least one packet each);
        // the rest waits for the next.
        const auto& h = manager_.handshake();
        const std::size_t limit = h ? static_cast<std::size_t>(h->max_payload) : SIZE_MAX;
        const std::size_t take = eio::frames_within(outbox_, limit);
        auto payload = eio::encode_payload(std::span<const eio::frame>(outbox_.data(), take));
        post_bytes_ = payload.size();
        post_id_ = http(true, url(transport_kind::polling), std::move(payload));
        outbox_.erase(outbox_.begin(), outbox_.begin() + static_cast<std::ptrdiff_t>(take));
    }
    void on_poll_response(bool ok, std::string_view text) {
        if (!polling_active_) return;
        if (!ok) return transport_failed(sio::disconnect_reason::transport_error);
        auto payload = eio::decode_payload(text);
        for (auto& packet : payload.packets) {
            if (!polling_active_) return; // a close packet ended it
            report("packet", packet);
            manager_.on_packet(now(), std::move(packet));
            after_packets();
        }
        if (payload.error) {
            manager_.on_transport_closed(now(), sio::disconnect_reason::parse_error);
            return stop_transport();
        }
        flush_post();
        maybe_finish_upgrade();
        issue_get();
    }
    /// 3probe came, and no request is in flight: tell the server (5) and carry on over the WebSocket.
    void maybe_finish_upgrade() {
        if (!upgrading_ || !probe_ || get_id_ || post_id_) return;
        send_ws(probe_, eio::make_text_frame(eio::packet_type::upgrade));
        socket_ = std::exchange(probe_, 0);
        polling_active_ = false;
        upgrading_ = false;
        kind_ = transport_kind::websocket;
        tell("upgrade", val::undefined(), val("websocket"));
        for (const auto& f : outbox_) send_ws(socket_, f); // what waited during the switch
        outbox_.clear();
    }

    // --- the one timer ----------------------------------------------------------------------------------

    void arm_timer() {
        const auto deadline = manager_.next_deadline();
        if (!deadline) return cancel_timer();
        // Most calls only push the deadline later (the server was heard from): a timer armed for an
        // earlier time stays, and on_timer() re-arms when it fires early. No timer churn per message.
        if (timer_ && armed_for_ <= *deadline) return;
        cancel_timer();
        armed_for_ = *deadline;
        const double delay = std::max<double>(0, static_cast<double>((*deadline - now()).count()));
        timer_ = emscripten_set_timeout(&connection::on_timer, delay + 1, this);
    }
    void cancel_timer() {
        if (timer_) emscripten_clear_timeout(timer_);
        timer_ = 0;
    }
    /// Whether the transport takes a packet at once (engine.io-client's `transport.writable`).
    bool writable() const {
        if (kind_ == transport_kind::websocket && socket_) return writable_timer_ == 0;
        return polling_active_ && !upgrading_ && post_id_ == 0;
    }
    /// A WebSocket message went out: not writable until the event loop turns (engine.io-client's nextTick).
    void written_this_turn() {
        if (writable_timer_) return;
        writable_timer_ =
            emscripten_set_timeout([](void* self) { static_cast<connection*>(self)->writable_timer_ = 0; }, 0, this);
    }
    static void on_timer(void* self) {
        auto* c = static_cast<connection*>(self);
        c->timer_ = 0;
        c->manager_.on_timer(now());
        c->run();
    }

    std::string base_;
    bool secure_;
    val on_effect_;
    client::manager manager_;
    std::vector<transport_kind> transports_;
    bool upgrade_ = true;
    bool observe_packets_ = false;

    transport_kind kind_ = transport_kind::polling;
    bool handshaken_ = false; // the current Engine.IO session has its handshake
    EMSCRIPTEN_WEBSOCKET_T socket_ = 0;
    EMSCRIPTEN_WEBSOCKET_T probe_ = 0; // the WebSocket a polling session upgrades to
    bool upgrading_ = false;           // 3probe received: polling pauses
    bool polling_active_ = false;
    int get_id_ = 0;
    int post_id_ = 0;
    std::vector<eio::frame> outbox_; // polling: frames for the next POST
    std::size_t post_bytes_ = 0;     // polling: the payload of the POST in flight
    long timer_ = 0;
    long writable_timer_ = 0;      // set while a WebSocket message sent in this turn keeps it "not writable"
    client::duration armed_for_{}; // when the armed timer fires
};

} // namespace

extern "C" EMSCRIPTEN_KEEPALIVE void sb_http_done(int id, int ok, const char* text, int length) {
    const auto it = http_requests().find(id);
    if (it == http_requests().end()) return;
    auto* c = it->second;
    http_requests().erase(it);
    c->on_http_done(id, ok != 0, std::string_view(text, static_cast<std::size_t>(length)));
}

EMSCRIPTEN_BINDINGS(switchboard_client) {
    emscripten::class_<connection>("Connection")
        .constructor<std::string, bool, val, val>()
        .function("connectSocket", &connection::connect_socket)
        .function("disconnectSocket", &connection::disconnect_socket)
        .function("emit", &connection::emit)
        .function("ack", &connection::ack)
        .function("close", &connection::close)
        .function("bufferedAmount", &connection::buffered_amount)
        .function("observePackets", &connection::observe_packets);
}
