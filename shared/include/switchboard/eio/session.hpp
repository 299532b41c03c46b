#pragma once
/// @file
/// Engine.IO session rules that both ends need, kept free of clocks and sockets: the close reasons,
/// and the server's heartbeat as a state machine whose time is an input.

#include <chrono>
#include <optional>
#include <string_view>

namespace switchboard::eio {

/// Why a session ended, as the reference implementation names it.
enum class close_reason {
    transport_close, ///< the peer closed the connection or sent a close packet
    transport_error, ///< the connection failed, or the peer broke the transport's rules
    parse_error,     ///< the peer sent a packet that does not decode
    forced_close,    ///< this side closed the session (e.g. server shutdown, disconnect())
    ping_timeout,    ///< no pong within pingTimeout of a ping
};

/// "transport close", "transport error", "parse error", "forced close", "ping timeout".
std::string_view to_string(close_reason reason) noexcept;

/// The server's half of the Engine.IO v4 heartbeat (engine.io-protocol, "Heartbeat"): a ping one
/// ping_interval after the handshake and after each pong; a ping unanswered for ping_timeout ends
/// the session. The caller owns the timer: it calls on_timer() at next_deadline(), and passes the
/// interval and the timeout with the calls that use them (they are the server's, the same for every
/// session: a heartbeat is kept per connection, and holds only its two times).
/// Times are durations since any fixed origin of a monotonic clock.
class server_heartbeat {
public:
    using duration = std::chrono::milliseconds;

    enum class action {
        none,      ///< nothing due yet (the timer fired early)
        send_ping, ///< send a ping packet now
        timed_out, ///< the last ping was not answered: close with close_reason::ping_timeout
    };

    /// The session is open (handshake sent) at `now`.
    void start(duration now, duration ping_interval) noexcept {
        next_ping_ = now + ping_interval;
        pong_deadline_ = no_pong_due;
    }
    /// A pong arrived at `now`.
    void on_pong(duration now, duration ping_interval) noexcept {
        pong_deadline_ = no_pong_due;
        next_ping_ = now + ping_interval;
    }
    /// What is due at `now`.
    action on_timer(duration now, duration ping_timeout) noexcept {
        if (awaiting_pong()) return now >= pong_deadline_ ? action::timed_out : action::none;
        if (now < next_ping_) return action::none;
        pong_deadline_ = now + ping_timeout;
        return action::send_ping;
    }
    /// When on_timer() next has something to do.
    duration next_deadline() const noexcept { return awaiting_pong() ? pong_deadline_ : next_ping_; }
    /// True while a ping awaits its pong.
    bool awaiting_pong() const noexcept { return pong_deadline_ != no_pong_due; }

private:
    duration next_ping_{};
    // A sentinel rather than an optional: a session holds one heartbeat, 8 bytes less.
    static constexpr duration no_pong_due = duration::min();
    duration pong_deadline_ = no_pong_due;
};

} // namespace switchboard::eio
