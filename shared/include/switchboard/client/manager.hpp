#pragma once
/// @file
/// The Socket.IO client's protocol logic, sans-I/O: one `manager` per connection (socket.io-client's
/// Manager) with its namespaces (its Sockets). The caller owns the transport and the clock: it feeds
/// in transport events and the time, and carries out the effects the manager returns (open or close
/// the transport, send frames, tell the application). The WASM client and native tools share it.
///
/// ```
///   m.open(now)                      -> open_transport
///   transport connected, frames in   -> m.on_text(now, "0{...}")  -> send CONNECTs, socket_connected …
///   m.emit("/", "chat", args, …)      -> send (or buffered until connected)
///   timer at m.next_deadline()       -> m.on_timer(now)           -> ack timeouts, ping timeout, reconnect
/// ```

#include <switchboard/client/backoff.hpp>
#include <switchboard/eio/handshake.hpp>
#include <switchboard/eio/packet.hpp>
#include <switchboard/limits.hpp>
#include <switchboard/result.hpp>
#include <switchboard/sio/ack_registry.hpp>
#include <switchboard/sio/disconnect_reason.hpp>
#include <switchboard/sio/packet.hpp>

#include <boost/container/small_vector.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace switchboard::client {

using duration = std::chrono::milliseconds; ///< time since any fixed origin of a monotonic clock

/// A Socket.IO parser other than the default text one (socket.io-client's `parser` option): turns
/// packets into Engine.IO messages and back. The MessagePack one is switchboard/msgpack/parser.hpp.
class packet_parser {
public:
    virtual ~packet_parser() = default;
    virtual result<std::vector<eio::frame>> encode(const sio::raw_packet& packet) const = 0;
    /// One whole message from the server, text or binary.
    virtual result<sio::raw_packet> decode(std::string_view message, bool binary) const = 0;
};

/// socket.io-client's defaults.
struct options {
    bool reconnection = true;
    std::uint32_t reconnection_attempts = UINT32_MAX; ///< UINT32_MAX: unlimited
    duration reconnection_delay{1000};
    duration reconnection_delay_max{5000};
    double randomization_factor = 0.5;
    duration timeout{20000}; ///< from opening the transport to the Engine.IO handshake
    codec_limits limits;
    std::shared_ptr<const packet_parser> parser; ///< null: the default parser (socket.io-parser's)
};

// --- effects: what the caller must do or tell, in order ---------------------------------------------

struct open_transport {};  ///< open a transport to the server (a new Engine.IO session)
struct close_transport {}; ///< close it (any frames queued before are sent first)
struct send_frames {
    /// Engine.IO frames, in order (one WebSocket message each). Nearly always one: held inline, so that
    /// an emit allocates nothing for its list (the effect is built in place, never moved per emit).
    boost::container::small_vector<eio::frame, 1> frames;
};
struct socket_connected {
    std::string nsp;
    std::string id;         ///< the socket id the server gave
    bool recovered = false; ///< connection state recovery brought the session back (same pid)
};
struct socket_disconnected {
    std::string nsp;
    std::string reason; ///< "io server disconnect", "io client disconnect", "transport close", "ping timeout", …
};
struct connect_failed {
    std::string nsp;
    std::string message;     ///< the server's CONNECT_ERROR message
    boost::json::value data; ///< its data, null when none
};
struct event_received {
    std::string nsp;
    sio::raw_packet packet; ///< EVENT: data is the JSON text [name, ...args]; id set when an ack is wanted
};
struct ack_received {
    std::string nsp;
    std::uint64_t id;
    sio::raw_packet packet; ///< ACK: data is the JSON text of the argument array
};
struct ack_timed_out {
    std::string nsp;
    std::uint64_t id;
};
struct reconnect_attempt {
    std::uint32_t attempt; ///< 1, 2, …
};
struct reconnected {
    std::uint32_t attempts;
};
struct reconnect_failed {};
struct transport_error {
    std::string message; ///< why the connection failed or broke (the manager's "error" event)
};
/// The namespace is about to connect and its auth is asked each time (socket.io-client calls an `auth`
/// function before every CONNECT, so that a token can be renewed): answer with connect_socket().
struct auth_needed {
    std::string nsp;
};
/// The Engine.IO session is open (the handshake came): socket.io-client's manager "open" event.
struct engine_opened {};
/// The open Engine.IO session ended, after its sockets' socket_disconnected: the manager's and the
/// engine's "close" event. `reason`: "transport close", "ping timeout", "parse error", "transport
/// error", or "forced close" (the application closed it).
struct engine_closed {
    std::string reason;
};

using effect = std::variant<open_transport, close_transport, send_frames, socket_connected, socket_disconnected,
                            connect_failed, event_received, ack_received, ack_timed_out, reconnect_attempt, reconnected,
                            reconnect_failed, transport_error, auth_needed, engine_opened, engine_closed>;

class manager {
public:
    explicit manager(options opts = {}, std::uint64_t seed = 1) : options_(opts), backoff_(make_backoff(opts, seed)) {}

    // --- the application ---------------------------------------------------------------------------

    /// Opens the connection (socket.io-client's manager.open / a socket's connect()).
    void open(duration now);
    /// Adds (or re-connects) the namespace `nsp` with its CONNECT auth payload; it connects as soon as
    /// the connection is open. With `ask_auth`, every CONNECT (this one and each after a reconnection)
    /// waits for an auth_needed effect to be answered by a call with the payload, `ask_auth` again.
    void connect_socket(duration now, const std::string& nsp, boost::json::object auth = {}, bool ask_auth = false);
    /// Leaves `nsp` (DISCONNECT sent if connected); the connection closes when no namespace is left.
    void disconnect_socket(duration now, const std::string& nsp);
    /// Sends an event; while the namespace is not connected it is buffered (a volatile one is dropped).
    /// With `want_ack`, returns the ack id (and with a timeout, ack_timed_out follows if no answer).
    /// `data_json` is the JSON text of `[name, ...args]` (binary values as placeholders), written as
    /// given: the caller vouches for it (the JS API makes it with JSON.stringify and checks the name).
    std::optional<std::uint64_t> emit(duration now, const std::string& nsp, std::string_view data_json,
                                      std::vector<shared_bytes> attachments, bool want_ack = false,
                                      std::optional<duration> ack_timeout = {}, bool is_volatile = false);
    /// As above from JSON values; refuses (nullopt, nothing sent) what is not `[name, ...]` with a
    /// non-reserved name.
    std::optional<std::uint64_t> emit(duration now, const std::string& nsp, const boost::json::array& data,
                                      std::vector<shared_bytes> attachments, bool want_ack = false,
                                      std::optional<duration> ack_timeout = {}, bool is_volatile = false);
    /// Answers the server's ack request `id` with the JSON text of the argument array.
    void ack(const std::string& nsp, std::uint64_t id, std::string data_json, std::vector<shared_bytes> attachments);
    void ack(const std::string& nsp, std::uint64_t id, const boost::json::array& data,
             std::vector<shared_bytes> attachments);
    /// Closes everything (no reconnection).
    void close(duration now);

    bool is_connected(const std::string& nsp) const;
    std::string id_of(const std::string& nsp) const;

    // --- the transport and the clock ---------------------------------------------------------------

    /// A WebSocket text frame / binary frame from the server.
    void on_text(duration now, std::string_view frame);
    void on_binary(duration now, shared_bytes bytes);
    /// One packet of a polling payload (eio::decode_payload), binary ones included.
    void on_packet(duration now, eio::packet&& packet);
    /// The transport closed or failed (transport_close, transport_error, parse_error). Not called for
    /// a transport the manager itself asked to close.
    void on_transport_closed(duration now, sio::disconnect_reason reason);
    /// Time passed: ack timeouts, server silence, reconnection, the handshake timeout.
    void on_timer(duration now);
    /// When on_timer() next has something to do.
    std::optional<duration> next_deadline() const;

    /// The effects produced so far, oldest first (moves them out).
    std::vector<effect> take_effects() { return std::exchange(effects_, {}); }
    /// The same into the caller's buffer (cleared first), which the manager takes in exchange: a caller
    /// that keeps one buffer allocates nothing per batch. False when there was none.
    bool take_effects(std::vector<effect>& into) {
        into.clear();
        into.swap(effects_);
        return !into.empty();
    }

    /// The handshake of the current Engine.IO session, once open.
    const std::optional<eio::handshake>& handshake() const noexcept { return handshake_; }

private:
    enum class engine_state { closed, opening, open, waiting_to_reconnect };
    enum class socket_state { disconnected, connecting, connected };
    struct buffered {
        std::optional<std::uint64_t> ack_id;
        std::vector<eio::frame> frames;
    };
    struct socket {
        socket_state state = socket_state::disconnected;
        bool wanted = false;        ///< the application wants it connected (reconnect it)
        bool ask_auth = false;      ///< each CONNECT waits for the application's auth (auth_needed)
        bool awaiting_auth = false; ///< asked, not answered yet
        std::string id;
        boost::json::object auth;
        std::deque<buffered> buffer; ///< emits waiting for the connection
        // Connection state recovery (socket.io-client ≥ 4.6): the server's `pid`, and the offset of the
        // last event received (its last argument, a string, when it asked no ack); both go with the
        // next CONNECT. Events a recovery replays come before the CONNECT answer: held until it.
        std::string pid;
        std::string last_offset;
        std::vector<sio::raw_packet> early;
        struct awaiting {}; // the application keeps what to do with the answer; the manager, the deadline
        sio::ack_registry<awaiting> acks;
    };

    static backoff make_backoff(const options& o, std::uint64_t seed) {
        return backoff(o.reconnection_delay, o.reconnection_delay_max, o.randomization_factor, seed);
    }
    void send(std::vector<eio::frame> frames);
    void send(eio::frame frame);
    void send_packet(const sio::raw_packet& packet);
    result<std::vector<eio::frame>> encode(const sio::raw_packet& packet) const;
    /// An emit's frames go now, or wait in the socket's buffer (a volatile one is dropped instead).
    template <class Frames>
    void send_or_buffer(socket& s, std::optional<std::uint64_t> ack_id, Frames&& frames, bool is_volatile);
    /// A message through the custom parser (options.parser): false when it was not a packet.
    bool parse_message(std::string_view message, bool binary);
    void send_connect(const std::string& nsp, socket& s);
    /// Connects `s` now, or first asks for its auth.
    void start_connect(const std::string& nsp, socket& s);
    static std::optional<std::string> last_string_argument(std::string_view array);
    void on_engine_packet(duration now, eio::packet&& packet);
    /// An Engine.IO message's text (after its `4`): a Socket.IO packet, or a part of one.
    void on_message_text(duration now, std::string_view text);
    void on_socket_packet(sio::raw_packet&& packet);
    void transport_lost(duration now, sio::disconnect_reason reason);
    void schedule_reconnect(duration now);

    options options_;
    backoff backoff_;
    engine_state engine_ = engine_state::closed;
    std::optional<eio::handshake> handshake_;
    duration opened_at_{};        // when open_transport was asked (handshake timeout)
    duration last_heard_{};       // when the server last sent anything (silence detection)
    duration reconnect_at_{};     // when waiting_to_reconnect ends
    std::uint32_t attempts_ = 0;  // reconnection attempts since the last good connection
    bool closed_by_user_ = false; // close(): no reconnection
    sio::raw_decoder decoder_;    // payloads stay text: the application parses them
    std::map<std::string, socket> sockets_;
    std::vector<effect> effects_;
};

} // namespace switchboard::client
