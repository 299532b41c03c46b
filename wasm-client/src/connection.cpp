// The browser side of the WebAssembly client: one `Connection` (socket.io-client's Manager) drives
// the shared sans-I/O `client::manager` with the browser's WebSocket (Emscripten's websocket API)
// and timers, and hands what the application must see to JavaScript (client.js) as plain objects.
// Arguments cross as JSON text plus attachment bytes: client.js turns ArrayBuffer / Uint8Array values
// into the codec's placeholders and back.
#include <switchboard/client/manager.hpp>
#include <switchboard/json.hpp>

#include <emscripten/bind.h>
#include <emscripten/emscripten.h>
#include <emscripten/eventloop.h>
#include <emscripten/val.h>
#include <emscripten/websocket.h>

#include <cmath>
#include <memory>
#include <string>

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
    val out = val::array();
    for (const auto& a : attachments) out.call<void>("push", to_uint8array(a));
    return out;
}

double option(const val& opts, const char* name, double fallback) {
    const val v = opts[name];
    return v.isNumber() ? v.as<double>() : fallback;
}

class connection {
public:
    /// `url`: the WebSocket endpoint, e.g. "ws://host:3000/socket.io/?EIO=4&transport=websocket".
    /// `on_effect`: called with one object per thing the application must know.
    connection(std::string url, val opts, val on_effect)
        : url_(std::move(url)), on_effect_(std::move(on_effect)), manager_(make_options(opts), seed(opts)) {}

    ~connection() {
        cancel_timer();
        drop_socket();
    }

    void connect_socket(const std::string& nsp, const std::string& auth_json) {
        boost::json::object auth;
        if (auto parsed = parse_json(auth_json, 32); parsed && parsed->is_object())
            auth = std::move(parsed->as_object());
        manager_.connect_socket(now(), nsp, std::move(auth));
        run();
    }

    void disconnect_socket(const std::string& nsp) {
        manager_.disconnect_socket(now(), nsp);
        run();
    }

    /// Returns the ack id, or -1 when none was asked for (or the emit was refused).
    double emit(const std::string& nsp, const std::string& data_json, val attachments, bool want_ack, double timeout_ms,
                bool is_volatile) {
        auto parsed = parse_json(data_json, 64);
        if (!parsed || !parsed->is_array()) return -1;
        std::optional<client::duration> timeout;
        if (timeout_ms >= 0) timeout = client::duration(static_cast<std::int64_t>(timeout_ms));
        const auto id = manager_.emit(now(), nsp, std::move(parsed->as_array()), attachments_from(attachments),
                                      want_ack, timeout, is_volatile);
        run();
        return id ? static_cast<double>(*id) : -1;
    }

    void ack(const std::string& nsp, double id, const std::string& data_json, val attachments) {
        auto parsed = parse_json(data_json, 64);
        if (!parsed || !parsed->is_array()) return;
        manager_.ack(nsp, static_cast<std::uint64_t>(id), std::move(parsed->as_array()), attachments_from(attachments));
        run();
    }

    void close() {
        manager_.close(now());
        run();
    }

private:
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
        return o;
    }
    static std::uint64_t seed(const val& opts) {
        return static_cast<std::uint64_t>(option(opts, "seed", 1) * 9007199254740991.0);
    }

    /// Carries out the manager's effects, then re-arms the timer.
    void run() {
        // Carrying out an effect may produce more (a WebSocket that cannot even be created).
        for (auto effects = manager_.take_effects(); !effects.empty(); effects = manager_.take_effects())
            for (auto& effect : effects) std::visit([this](auto& e) { apply(e); }, effect);
        arm_timer();
    }

    void apply(client::open_transport&) {
        drop_socket();
        EmscriptenWebSocketCreateAttributes attributes;
        emscripten_websocket_init_create_attributes(&attributes);
        attributes.url = url_.c_str();
        attributes.createOnMainThread = EM_TRUE;
        const auto ws = emscripten_websocket_new(&attributes);
        if (ws <= 0) {
            manager_.on_transport_closed(now(), "transport error");
            return;
        }
        socket_ = ws;
        emscripten_websocket_set_onmessage_callback(ws, this, &connection::on_message);
        emscripten_websocket_set_onclose_callback(ws, this, &connection::on_close);
        emscripten_websocket_set_onerror_callback(ws, this, &connection::on_error);
    }
    void apply(client::close_transport&) {
        if (socket_) emscripten_websocket_close(socket_, 1000, "");
        drop_socket();
    }
    void apply(client::send_frames& s) {
        if (!socket_) return;
        for (const auto& f : s.frames) {
            if (f.binary)
                emscripten_websocket_send_binary(socket_, const_cast<char*>(f.bytes->data()),
                                                 static_cast<std::uint32_t>(f.bytes->size()));
            else
                emscripten_websocket_send_utf8_text(socket_, f.bytes->c_str());
        }
    }
    void apply(client::socket_connected& e) { emit_effect(object("connect", e.nsp).set("id", e.id)); }
    void apply(client::socket_disconnected& e) { emit_effect(object("disconnect", e.nsp).set("reason", e.reason)); }
    void apply(client::connect_failed& e) {
        emit_effect(object("connect_error", e.nsp).set("message", e.message).set("data", stringify(e.data)));
    }
    void apply(client::event_received& e) {
        auto o = object("event", e.nsp).set("data", stringify(e.packet.data));
        o.set("attachments", attachments_to_js(e.packet.attachments));
        o.set("id", e.packet.id ? val(static_cast<double>(*e.packet.id)) : val(-1));
        emit_effect(std::move(o));
    }
    void apply(client::ack_received& e) {
        auto o = object("ack", e.nsp).set("id", static_cast<double>(e.id)).set("data", stringify(e.packet.data));
        o.set("attachments", attachments_to_js(e.packet.attachments));
        emit_effect(std::move(o));
    }
    void apply(client::ack_timed_out& e) {
        emit_effect(object("ack_timeout", e.nsp).set("id", static_cast<double>(e.id)));
    }
    void apply(client::reconnect_attempt& e) { emit_effect(object("reconnect_attempt").set("attempt", e.attempt)); }
    void apply(client::reconnected& e) { emit_effect(object("reconnect").set("attempts", e.attempts)); }
    void apply(client::reconnect_failed&) { emit_effect(object("reconnect_failed")); }
    void apply(client::transport_error& e) { emit_effect(object("error").set("message", e.message)); }

    /// A small builder over a JS object.
    struct js_object {
        val v = val::object();
        template <class T>
        js_object& set(const char* key, const T& value) {
            v.set(key, value);
            return *this;
        }
    };
    static js_object object(const char* type, const std::string& nsp = {}) {
        js_object o;
        o.set("type", std::string(type));
        if (!nsp.empty()) o.set("nsp", nsp);
        return o;
    }
    void emit_effect(js_object o) { on_effect_(o.v); }

    // --- WebSocket callbacks (Emscripten calls them on the main thread) --------------------------------

    static EM_BOOL on_message(int, const EmscriptenWebSocketMessageEvent* e, void* self) {
        auto* c = static_cast<connection*>(self);
        if (e->socket != c->socket_) return EM_TRUE;
        if (e->isText) {
            // numBytes counts the NUL Emscripten appends to text frames.
            const auto n = e->numBytes > 0 ? e->numBytes - 1 : 0;
            c->manager_.on_text(now(), std::string_view(reinterpret_cast<const char*>(e->data), n));
        } else {
            c->manager_.on_binary(
                now(), copy_shared_bytes(std::string_view(reinterpret_cast<const char*>(e->data), e->numBytes)));
        }
        c->run();
        return EM_TRUE;
    }
    static EM_BOOL on_close(int, const EmscriptenWebSocketCloseEvent* e, void* self) {
        auto* c = static_cast<connection*>(self);
        if (e->socket != c->socket_) return EM_TRUE;
        c->drop_socket();
        c->manager_.on_transport_closed(now(), "transport close");
        c->run();
        return EM_TRUE;
    }
    static EM_BOOL on_error(int, const EmscriptenWebSocketErrorEvent* e, void* self) {
        auto* c = static_cast<connection*>(self);
        if (e->socket != c->socket_) return EM_TRUE;
        c->drop_socket();
        c->manager_.on_transport_closed(now(), "transport error");
        c->run();
        return EM_TRUE;
    }

    void drop_socket() {
        if (!socket_) return;
        emscripten_websocket_delete(socket_); // no more callbacks for it
        socket_ = 0;
    }

    // --- the one timer ----------------------------------------------------------------------------------

    void arm_timer() {
        cancel_timer();
        const auto deadline = manager_.next_deadline();
        if (!deadline) return;
        const double delay = std::max<double>(0, static_cast<double>((*deadline - now()).count()));
        timer_ = emscripten_set_timeout(&connection::on_timer, delay + 1, this);
    }
    void cancel_timer() {
        if (timer_) emscripten_clear_timeout(timer_);
        timer_ = 0;
    }
    static void on_timer(void* self) {
        auto* c = static_cast<connection*>(self);
        c->timer_ = 0;
        c->manager_.on_timer(now());
        c->run();
    }

    std::string url_;
    val on_effect_;
    client::manager manager_;
    EMSCRIPTEN_WEBSOCKET_T socket_ = 0;
    long timer_ = 0;
};

} // namespace

EMSCRIPTEN_BINDINGS(switchboard_client) {
    emscripten::class_<connection>("Connection")
        .constructor<std::string, val, val>()
        .function("connectSocket", &connection::connect_socket)
        .function("disconnectSocket", &connection::disconnect_socket)
        .function("emit", &connection::emit)
        .function("ack", &connection::ack)
        .function("close", &connection::close);
}
