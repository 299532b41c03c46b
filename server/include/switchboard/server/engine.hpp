#pragma once
/// @file
/// The Engine.IO layer as the layers above see it: one `engine_socket` per session, whatever its
/// transport (HTTP long-polling, WebSocket, or polling upgraded to WebSocket).

#include <switchboard/bytes.hpp>
#include <switchboard/eio/packet.hpp>
#include <switchboard/eio/session.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::server {

/// What the handshake request carried (for authentication and logs).
struct request_info {
    std::string remote_address;
    std::string url;                                          ///< path and query of the handshake
    std::vector<std::pair<std::string, std::string>> headers; ///< as received
    std::vector<std::pair<std::string, std::string>> query;   ///< decoded query parameters
};

/// Hears a session's events: the Socket.IO layer, or an application on Engine.IO directly. The calls
/// run on the session's strand, one at a time, in the order of the session's events. An exception
/// thrown by one of them closes the session and is logged; it never reaches the server's threads.
class engine_listener {
public:
    virtual ~engine_listener() = default;
    virtual void on_text(std::string_view text) = 0;     ///< a text message
    virtual void on_binary(shared_bytes bytes) = 0;      ///< a binary message
    virtual void on_close(eio::close_reason reason) = 0; ///< the session ended (called once, last)
    /// The unsent bytes passed the high-water mark and have fallen to the low-water mark (half of it).
    virtual void on_drain() {}
};

/// One Engine.IO session. Shared: the server holds it while it is open; the layers above may too.
class engine_socket {
public:
    virtual ~engine_socket() = default;

    /// The session id (`sid` of the handshake).
    virtual const std::string& id() const noexcept = 0;
    /// The handshake request (its headers and query are unpacked on the first call).
    virtual const request_info& request() const noexcept = 0;
    /// The peer's address, as request().remote_address, without unpacking the request (for logs).
    virtual const std::string& remote_address() const noexcept = 0;

    /// Queues frames to send, in order, as one unit (a Socket.IO packet and its attachments).
    /// Callable from any thread. A `droppable` send is dropped when the transport cannot take it at
    /// once (Socket.IO's `volatile`). A session whose queue exceeds max_queue_bytes is closed.
    virtual void send(std::vector<eio::frame> frames, bool droppable = false) = 0;
    /// The same for frames other sessions get too (a broadcast's one encoding): the frames are queued
    /// by reference to their bytes, without a list made per recipient.
    virtual void send_shared(std::span<const eio::frame> frames, bool droppable = false) {
        send(std::vector<eio::frame>(frames.begin(), frames.end()), droppable);
    }
    /// Queues frames as one unit that may be dropped later: when the queue passes max_queue_bytes, the
    /// oldest such units still queued go first (latest wins). By default, a volatile send.
    virtual void send_replaceable(std::vector<eio::frame> frames) { send(std::move(frames), true); }
    /// Closes the session (reason `forced close`): queued frames are sent first, then a close packet.
    virtual void close() = 0;

    /// Runs `task` on the session's strand (from any thread), later, unless the session has ended by then.
    virtual void post(std::function<void()> task) = 0;
    /// Runs `task` now if the caller is on the session's strand, else as post() does.
    virtual void dispatch(std::function<void()> task) = 0;
    /// Runs `task` on the session's strand even if the session has ended (a completion that must be
    /// delivered, such as an ack callback's error).
    virtual void execute(std::function<void()> task) = 0;
    /// Runs `task` on the session's strand after `delay`, unless the session has ended by then or
    /// the timer was cancelled. The timer does not keep the session alive. Returns the timer's id.
    virtual std::uint64_t post_after(std::chrono::milliseconds delay, std::function<void()> task) = 0;
    /// Cancels a post_after() timer (from any thread); nothing happens if it already ran.
    virtual void cancel_timer(std::uint64_t timer_id) = 0;
    /// "polling" or "websocket": the transport in use now (any thread).
    virtual std::string_view transport_name() const noexcept { return "websocket"; }
    /// Bytes queued and not yet written to the peer (any thread; as of the session's last step).
    virtual std::size_t buffered_amount() const noexcept { return 0; }

    /// Sets who hears the session's events; the connection handler calls it before it returns. The
    /// session holds the listener until it has called on_close, so a listener may hold its session
    /// (the close breaks that cycle). One listener object per session, not four callbacks: a session
    /// is kept per connection.
    void listen(std::shared_ptr<engine_listener> listener) noexcept { listener_ = std::move(listener); }
    /// The same from functions (any may be empty).
    void listen(std::function<void(std::string_view text)> on_text,
                std::function<void(shared_bytes bytes)> on_binary = {},
                std::function<void(eio::close_reason)> on_close = {}, std::function<void()> on_drain = {});

protected:
    std::shared_ptr<engine_listener> listener_; ///< for the implementations: dropped at the close
};

namespace detail {
class function_listener final : public engine_listener {
public:
    std::function<void(std::string_view)> text;
    std::function<void(shared_bytes)> binary;
    std::function<void(eio::close_reason)> close;
    std::function<void()> drain;
    void on_text(std::string_view t) override {
        if (text) text(t);
    }
    void on_binary(shared_bytes b) override {
        if (binary) binary(std::move(b));
    }
    void on_close(eio::close_reason r) override {
        if (close) close(r);
    }
    void on_drain() override {
        if (drain) drain();
    }
};
} // namespace detail

inline void engine_socket::listen(std::function<void(std::string_view text)> on_text,
                                  std::function<void(shared_bytes bytes)> on_binary,
                                  std::function<void(eio::close_reason)> on_close, std::function<void()> on_drain) {
    auto listener = std::make_shared<detail::function_listener>();
    listener->text = std::move(on_text);
    listener->binary = std::move(on_binary);
    listener->close = std::move(on_close);
    listener->drain = std::move(on_drain);
    listen(std::move(listener));
}

using engine_handler = std::function<void(const std::shared_ptr<engine_socket>&)>;

} // namespace switchboard::server
