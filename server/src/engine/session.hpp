#pragma once
// One Engine.IO session's glue (private to server/): the protocol is eio::server_session (shared/,
// sans-I/O); this class feeds it what its transports receive and the time, carries out its effects on
// the transports (polling.hpp, websocket.hpp), and runs the layer above's callbacks behind a barrier.

#include "../util/log.hpp"
#include "../util/net.hpp"
#include "endpoint.hpp"
#include "polling.hpp"
#include "websocket.hpp"

#include <switchboard/eio/server_session.hpp>
#include <switchboard/server/config.hpp>
#include <switchboard/server/engine.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace switchboard::server {

/// A handshake request as a session keeps it: the peer's address, and the rest as one block
/// (pack_request), unpacked into a request_info on the first call of request() (most sessions never need
/// it: an idle connection should not hold a string per header).
struct request_head {
    std::string remote_address;
    std::string block;
};

/// The target and headers of `req` in one block: "url\0", then per header "name\0value\0", where a
/// name HTTP knows (Host, Sec-WebSocket-Key, User-Agent…) written as Beast spells it, or in lower
/// case, is kept as a marker byte and its two-byte field code instead. The names come back exactly as
/// received; a browser's handshake takes a third less.
std::string pack_request(const http::request<http::string_body>& req);

class engine_session final : public engine_socket,
                             public websocket_transport::listener,
                             public std::enable_shared_from_this<engine_session> {
public:
    engine_session(engine_endpoint& endpoint, strand_type strand, request_head request, eio::transport_kind transport);
    ~engine_session() override;

    // engine_socket
    const std::string& id() const noexcept override { return machine_.sid(); }
    const request_info& request() const noexcept override;
    const std::string& remote_address() const noexcept override { return remote_address_; }
    void send(std::vector<eio::frame> frames, bool droppable = false) override;
    void send_shared(std::span<const eio::frame> frames, bool droppable = false) override;
    void send_replaceable(std::vector<eio::frame> frames) override;
    void close() override;
    void post(std::function<void()> task) override;
    void dispatch(std::function<void()> task) override;
    void execute(std::function<void()> task) override;
    std::uint64_t post_after(std::chrono::milliseconds delay, std::function<void()> task) override;
    void cancel_timer(std::uint64_t timer_id) override;
    std::size_t buffered_amount() const noexcept override { return buffered_.load(std::memory_order_relaxed); }
    std::string_view transport_name() const noexcept override { return eio::to_string(transport()); }

    /// The current transport (readable from any thread).
    eio::transport_kind transport() const noexcept { return transport_.load(); }
    const strand_type& executor() const noexcept { return strand_; }

    // The entry points of the HTTP layer (any thread; they run on the session's strand).
    /// Opens a polling session: the handshake GET gets the open packet (and anything the handler sent).
    void open_polling(responder r);
    /// Opens a session whose transport is the accepted WebSocket.
    void open_websocket(std::shared_ptr<websocket_transport> ws);
    /// A long-poll GET.
    void on_poll_request(responder r);
    /// The client gave up the held long-poll (closed the connection).
    void on_poll_aborted();
    /// A POST of a polling payload.
    void on_post_request(std::string body, responder r);
    /// An accepted WebSocket that may replace polling (the upgrade: 2probe, 3probe, 5).
    void on_probe(std::shared_ptr<websocket_transport> ws);

    /// (The only I/O loop, at the end of a pass) writes what was queued from outside the strand.
    void flush_given();

    /// Sessions alive (not yet destroyed), for the graceful shutdown's wait.
    static std::size_t live_count() noexcept { return live_.load(); }

private:
    // websocket_transport::listener
    void on_ws_read_begin(websocket_transport& t) override;
    void on_ws_read_end(websocket_transport& t) override;
    bool on_ws_message(websocket_transport& t, const ws::event& message) override;
    void on_ws_closed(websocket_transport& t, eio::close_reason reason, std::string cause) override;
    void on_ws_write(websocket_transport& t, websocket_transport::write_state state) override;

    /// This session's turn: marks the thread as running this session's handler while it lives. With
    /// one I/O thread every session shares the loop's strand (a strand each would cost a connection
    /// 112 bytes and serialize nothing more), so "on my strand" no longer says "in my handler": the
    /// mark does. Every handler of the session runs inside a turn (post_turn, the transport's events).
    class turn {
    public:
        explicit turn(engine_session& s) noexcept : previous_(std::exchange(current_, &s)) {}
        ~turn() { current_ = previous_; }
        turn(const turn&) = delete;
        turn& operator=(const turn&) = delete;

    private:
        engine_session* previous_;
    };
    /// True inside this session's turn, or on its strand outside any session's turn (the connection
    /// that hands the session its transport): where the session's state may be touched now. Never
    /// inside another session's handler, where a send must not run this session's callbacks.
    bool in_own_turn() const noexcept {
        return current_ == this || (current_ == nullptr && strand_.running_in_this_thread());
    }
    /// Posts `f` to the strand, to run in a turn of this session (`f` holds the session alive).
    template <class F>
    void post_turn(F&& f) {
        net::post(strand_, [this, f = std::forward<F>(f)]() mutable {
            const turn t(*this);
            f();
        });
    }
    /// Runs `f` now when in_own_turn(), else posts it to a turn of its own. Never runs it inside
    /// another session's handler (Asio's dispatch would, when that strand is idle).
    template <class F>
    void on_strand(F&& f) {
        if (in_own_turn()) {
            const turn t(*this); // (already this session's turn, or the connection's handler: now its turn)
            f();
        } else {
            post_turn(std::forward<F>(f));
        }
    }
    /// Runs the application's code (`what` names it for the log): an exception closes this session
    /// and is logged; it never reaches the I/O loop.
    template <class F>
    void guarded(std::string_view what, F&& f) noexcept;
    void start(); // handshake done: run the handler, start the heartbeat
    /// Carries out what the state machine asked for, then writes and re-arms the timer.
    void run_effects();
    /// Queues frames (a vector, moved, or a span of shared frames), then given().
    template <class Frames>
    void queue(Frames& frames, bool droppable);
    /// Frames were queued: carried out now on the strand, else by this loop pass's flush.
    void given();
    void apply(eio::deliver_text& e);
    void apply(eio::deliver_binary& e);
    void apply(eio::answer_poll& e);
    void apply(eio::probe_send& e);
    void apply(eio::probe_drop& e);
    void apply(eio::upgraded& e);
    void apply(eio::close_transport& e);
    void apply(eio::session_closed& e);
    void apply(eio::session_released& e);
    void settle(); // after an input: output to the WebSocket soon, the timer re-armed
    // The output and effect lists' storage comes from the thread's spares while the session works
    // (before an input or a send) and goes back when they are drained (settle): see spare_lists.
    void borrow_lists() noexcept;
    void return_lists() noexcept;
    void write_soon(); // at the end of this strand's pass
    void write_now();
    void on_write_state(websocket_transport::write_state state);
    friend class heartbeat_scheduler; // calls heartbeat_due()
    void heartbeat_due();
    void on_heartbeat();
    void release_heartbeat();
    static std::chrono::milliseconds now();

    engine_endpoint& endpoint_;
    strand_type strand_;
    eio::server_session machine_;
    std::string remote_address_;
    mutable std::string request_block_;             // the request_head's block, until the first request()
    mutable std::unique_ptr<request_info> request_; // from then on
    mutable std::once_flag request_once_;
    // Small members together, without padding between them (a session is kept per connection).
    static constexpr std::uint32_t no_slot = ~std::uint32_t{0};
    std::uint32_t heartbeat_slot_;         // the machine's deadlines wake the session through it
    std::atomic<std::size_t> buffered_{0}; // the machine's unsent bytes, for buffered_amount()
    std::atomic<eio::transport_kind> transport_;
    bool over_high_water_ = false; // strand: a drain is due when the bytes fall to the low-water mark
    bool running_effects_ = false;
    bool flush_due_ = false;    // only loop: in the endpoint's list for the end of this pass
    bool corked_ = false;       // WebSocket: handling what one read brought; its replies go out in one write
    bool write_posted_ = false; // WebSocket: a write_now() is posted (write_soon)
    // The deadline the heartbeat scheduler holds for this session (a sentinel, not an optional: 8 bytes).
    static constexpr std::chrono::milliseconds not_armed = std::chrono::milliseconds::min();
    std::chrono::milliseconds armed_for_ = not_armed;

    polling_transport polling_;
    std::shared_ptr<websocket_transport> ws_; // the WebSocket transport
    // What a session has only now and then, apart (a session is kept per connection): post_after()
    // timers by id (the Socket.IO connect timeout, until a namespace is joined; cancelled at the close:
    // nothing of an ended session waits for them) and an upgrade's candidate WebSocket. Made by the
    // first of them, given back when neither is left.
    struct rare_state {
        std::vector<std::pair<std::uint64_t, std::shared_ptr<strand_timer>>> timers;
        std::shared_ptr<websocket_transport> probe; // the upgrade candidate
    };
    std::unique_ptr<rare_state> rare_;
    rare_state& rare() {
        if (!rare_) rare_ = std::make_unique<rare_state>();
        return *rare_;
    }
    void rare_done() { // gives the block back once nothing is in it
        if (rare_ && rare_->timers.empty() && !rare_->probe) rare_.reset();
    }
    websocket_transport* probe() const noexcept { return rare_ ? rare_->probe.get() : nullptr; }
    std::shared_ptr<websocket_transport> take_probe() {
        auto probe = rare_ ? std::exchange(rare_->probe, nullptr) : nullptr;
        rare_done();
        return probe;
    }
    static std::atomic<std::uint64_t> next_timer_id_; // post_after() ids, unique in the process

    static std::atomic<std::size_t> live_;
    static thread_local engine_session* current_; // the session whose turn this thread is running
};

template <class F>
void engine_session::guarded(std::string_view what, F&& f) noexcept {
    try {
        f();
    } catch (...) {
        SB_LOG(warn, "{} session {}: {} threw ({}); the session is closed", remote_address_, id(), what,
               describe_current_exception());
        machine_.close(now());
        run_effects(); // the close handler is the application's too: run_effects guards it
    }
}

} // namespace switchboard::server
