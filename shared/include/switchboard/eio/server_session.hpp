#pragma once
/// @file
/// The server's Engine.IO session, sans-I/O: both transports, the upgrade, the heartbeat, the output
/// queue and the close. The caller owns the sockets, the HTTP requests and the clock: it feeds in what
/// arrived and the time, takes the frames to write, and carries out the effects the session returns.
///
/// ```
///   s.open(now)                          -> the open packet waits in the output
///   long-poll GET        -> s.on_poll(now)          -> hold it; answer_poll when there is output
///   POST body            -> s.on_post(now, body)    -> deliver_text / deliver_binary …
///   WebSocket frame      -> s.on_text(now, text)    -> deliver_text …; take_output() to write
///   probe WebSocket      -> s.on_probe(now), s.on_probe_text(now, "2probe") -> probe_send, then upgraded
///   timer at s.next_deadline() -> s.on_timer(now)   -> a ping in the output, or the session closes
/// ```
///
/// Everything a peer can send is an input: out-of-order, duplicated or malformed packets end the session
/// (or the probe) with the protocol's reason; nothing throws.

#include <switchboard/bytes.hpp>
#include <switchboard/eio/packet.hpp>
#include <switchboard/eio/session.hpp>
#include <switchboard/limits.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace switchboard::eio {

enum class transport_kind : std::uint8_t { polling, websocket };

/// "polling", "websocket".
std::string_view to_string(transport_kind kind) noexcept;

struct server_session_options {
    using duration = std::chrono::milliseconds;
    duration ping_interval{25000};
    duration ping_timeout{20000};
    duration upgrade_timeout{10000}; ///< a probe that does not finish the upgrade in time is dropped
    duration write_timeout{30000};   ///< a peer that takes no bytes this long while a write waits is closed
    std::uint64_t max_payload = 1000000;
    std::size_t max_queue_bytes = 8u << 20; ///< more unsent bytes than this close the session
    bool allow_upgrades = true;             ///< a polling session may upgrade to WebSocket
};

// --- effects: what the caller must do, in order -------------------------------------------------------

struct deliver_text {
    std::string text; ///< a text message for the layer above
};
struct deliver_binary {
    shared_bytes bytes; ///< a binary message for the layer above
};
/// Answer the held long-poll GET with this payload (it is no longer held).
struct answer_poll {
    std::string payload;
};
/// Write this frame on the probe WebSocket (the `3probe`).
struct probe_send {
    frame packet;
};
/// Close and forget the probe WebSocket (it failed, broke the upgrade's rules, or the session ended).
struct probe_drop {};
/// The probe WebSocket is now the session's transport: the output goes there from now on.
struct upgraded {};
/// Close the WebSocket transport: `graceful`, after what was taken from the output is written (a
/// WebSocket close handshake); otherwise at once (what is unwritten is lost).
struct close_transport {
    bool graceful = false;
};
/// The session ended: tell the layer above (once).
struct session_closed {
    close_reason reason = close_reason::transport_close;
    std::string cause; ///< set when the peer broke a rule or was too slow (worth a warning in the log)
};
/// The session id can be forgotten: no request will be answered for it any more.
struct session_released {};

using server_effect = std::variant<deliver_text, deliver_binary, answer_poll, probe_send, probe_drop, upgraded,
                                   close_transport, session_closed, session_released>;

class server_session {
public:
    using duration = std::chrono::milliseconds; ///< time since any fixed origin of a monotonic clock

    /// `options` is shared by the sessions of an endpoint: it must outlive them.
    server_session(std::string sid, transport_kind transport, const server_session_options& options);

    const std::string& sid() const noexcept { return sid_; }
    transport_kind transport() const noexcept { return transport_; }
    /// True once the session has ended (it may still wait for a last long-poll, see session_released).
    bool closed() const noexcept { return closed_; }
    bool upgrading() const noexcept { return probe_ != probe_state::none; }

    /// The handshake: the open packet goes into the output; the heartbeat starts.
    void open(duration now);

    // --- the layer above ---------------------------------------------------------------------------

    /// Queues frames, in order, as one unit. A `droppable` unit is dropped unless the transport can
    /// take it at once (Socket.IO's volatile). More than max_queue_bytes unsent drops queued
    /// replaceable units (oldest first), then, if that is not enough, closes the session.
    /// Returns what became of it: queued (false: dropped as volatile, or the session is closed) and how
    /// many replaceable units it pushed out.
    struct send_outcome {
        bool queued = false;
        std::size_t replaced = 0;
    };
    send_outcome send(std::vector<frame> frames, bool droppable = false);
    /// The same for frames shared with other sessions (a broadcast's one encoding): each is copied by
    /// reference (its bytes are shared), no list is built.
    send_outcome send(std::span<const frame> frames, bool droppable = false);
    /// Queues a unit that may be dropped later: while more than max_queue_bytes are unsent, the oldest
    /// such units still queued are dropped (latest wins: positions, progress), this one included if
    /// need be; only then does the session close as send() would. Returns the units dropped.
    std::size_t send_replaceable(std::vector<frame> frames);
    /// Ends the session gracefully (`forced close`): what is queued is sent first, then a close packet.
    void close(duration now);

    // --- HTTP long-polling -------------------------------------------------------------------------

    enum class poll_decision {
        hold,   ///< keep the request; answer_poll says when and with what
        refuse, ///< answer this request with 400 (a second long-poll while one is held: the session ends)
    };
    /// A long-poll GET arrived.
    poll_decision on_poll(duration now);
    /// The client gave up the held long-poll (closed its connection).
    void on_poll_aborted(duration now);

    enum class post_answer { ok, bad_request, unknown_sid };
    /// A POST of a payload: its packets are delivered; an undecodable payload ends the session.
    post_answer on_post(duration now, std::string_view body);

    // --- WebSocket (the session's transport) ---------------------------------------------------------

    void on_text(duration now, std::string_view text);
    void on_binary(duration now, shared_bytes bytes);
    /// The transport closed or broke: `transport_close` (the peer closed), `transport_error`, or
    /// `parse_error` (a frame that breaks the rules, e.g. invalid UTF-8), with the cause for the log.
    void on_transport_closed(duration now, close_reason reason, std::string cause = {});

    /// The output, for the WebSocket transport to move its frames out of; then output_taken(). Its
    /// bytes count as unsent until on_write_done() says all of it is out.
    std::span<frame> output() noexcept { return output_; }
    void output_taken() noexcept;
    bool has_output() const noexcept { return !output_.empty(); }
    /// A write waits for the socket to become writable; `progressed` when some bytes went out first.
    void on_write_waiting(duration now, bool progressed);
    /// Everything taken so far is written.
    void on_write_done();

    // --- the upgrade (polling → WebSocket) -----------------------------------------------------------

    /// A WebSocket asks to upgrade this session. False: refuse it (close that WebSocket).
    bool on_probe(duration now);
    void on_probe_text(duration now, std::string_view text);
    void on_probe_binary(duration now);
    void on_probe_closed(duration now);

    // --- time and effects ----------------------------------------------------------------------------

    /// Time passed: pings, the ping timeout, the upgrade timeout, the write timeout, the last long-poll
    /// of a closed session. Calling it early does nothing; late, it does what fell due.
    void on_timer(duration now);
    /// When on_timer() next has something to do (none once the session is released).
    std::optional<duration> next_deadline() const noexcept;

    /// Moves out the oldest effect not yet taken, if any. Effects an input adds while the caller carries
    /// out earlier ones (a handler that sends, say) come after them, in order.
    std::optional<server_effect> next_effect() {
        if (next_effect_ == effects_.size()) {
            effects_.clear();
            next_effect_ = 0;
            return std::nullopt;
        }
        return std::move(effects_[next_effect_++]);
    }

    // --- list storage ---------------------------------------------------------------------------------
    // An idle session needs neither its output list nor its effect list, yet a busy one should not
    // allocate them anew for every input and write. The caller may take their empty storage (its
    // capacity) once they are drained and lend storage back before the next input: a pool of its own
    // serves the sessions that are working, and idle ones hold none.

    /// The output list's storage, when the list is empty (else an empty vector; the list keeps it).
    std::vector<frame> take_output_storage() noexcept {
        return output_.empty() ? std::exchange(output_, {}) : std::vector<frame>{};
    }
    /// The effect list's storage, when every effect has been taken (else an empty vector).
    std::vector<server_effect> take_effect_storage() noexcept {
        return effects_.empty() ? std::exchange(effects_, {}) : std::vector<server_effect>{};
    }
    /// Whether the lists have storage (lend_* gives them some when not).
    bool has_output_storage() const noexcept { return output_.capacity() != 0; }
    bool has_effect_storage() const noexcept { return effects_.capacity() != 0; }
    /// Gives an empty list `storage` (ignored unless both are empty and the list has no capacity).
    void lend_output_storage(std::vector<frame>&& storage) noexcept {
        if (output_.capacity() == 0 && output_.empty() && storage.empty()) output_ = std::move(storage);
    }
    void lend_effect_storage(std::vector<server_effect>&& storage) noexcept {
        if (effects_.capacity() == 0 && effects_.empty() && storage.empty()) effects_ = std::move(storage);
    }

    /// Unsent bytes: in the output and taken but not yet written.
    std::size_t unsent_bytes() const noexcept { return queued_bytes_ + in_flight_bytes_; }

private:
    enum class probe_state : std::uint8_t { none, probing, upgrading };

    void on_packet(duration now, packet&& p);
    std::size_t make_room(); // drops the oldest replaceable units while over max_queue_bytes
    void enqueue(frame&& f);
    template <class Frames>
    send_outcome send_unit(Frames&& frames, bool droppable);
    void flush_poll();
    void answer_held_poll(std::string payload);
    void drop_probe();
    void finish(duration now, close_reason reason, std::string cause = {});
    void release();
    void clear_output();

    codec_limits limits() const noexcept;

    // The one-byte members sit together (no padding between them: a session is kept per connection).
    std::string sid_;
    const server_session_options& options_;
    server_heartbeat heartbeat_;
    transport_kind transport_;
    bool opened_ = false;
    bool closed_ = false;
    bool released_ = false;
    bool poll_held_ = false; // polling: a GET waits for output
    bool close_deferred_ =
        false; // polling: closed; the close packet waits for the client's next GET (polling_deadline_)
    probe_state probe_ = probe_state::none;
    bool write_waiting_ = false; // WebSocket: the caller's write waits for the socket (stalled_since_)
    // Polling, one at a time: while a probe is on, the upgrade's deadline; once closed with the close
    // packet deferred (close_deferred_), when it is released. (A probe is dropped at the close.)
    duration polling_deadline_{};
    duration stalled_since_{}; // WebSocket, while write_waiting_: since when the peer has taken nothing
    std::vector<frame> output_;
    std::size_t queued_bytes_ = 0;    // in output_
    std::size_t in_flight_bytes_ = 0; // taken, not yet written
    std::vector<server_effect> effects_;
    std::size_t next_effect_ = 0; // effects_ before it were taken
};

} // namespace switchboard::eio
