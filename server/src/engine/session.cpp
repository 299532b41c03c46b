#include "session.hpp"

#include "../http/query.hpp"
#include "../metrics/counters.hpp"
#include "../util/log.hpp"
#include "../util/random_id.hpp"

#include <algorithm>
#include <cctype>
#include <type_traits>

namespace switchboard::server {

namespace {
std::size_t frame_bytes(std::span<const eio::frame> frames) noexcept {
    std::size_t n = 0;
    for (const auto& f : frames) n += f.bytes ? f.bytes->size() : 0;
    return n;
}
} // namespace

namespace {
/// Empty lists with their storage, kept by each I/O thread for the sessions it runs: a session borrows
/// its output and effect lists while it works and gives them back when done, so an idle session holds
/// neither (48 bytes each) and a busy one allocates neither. Bounded: past `keep`, storage is freed.
struct spare_lists {
    // A pass's recipients of a broadcast, most of them: at most ~150 KB kept per I/O thread, which a
    // server that served a crowd once keeps (past it, storage comes from the allocator's thread cache).
    static constexpr std::size_t keep = 1024;
    std::vector<std::vector<eio::frame>> outputs;
    std::vector<std::vector<eio::server_effect>> effects;
};
thread_local spare_lists spares;

template <class List>
void keep_spare(std::vector<List>& kept, List&& list) {
    if (list.capacity() != 0 && kept.size() < spare_lists::keep) kept.push_back(std::move(list));
}
} // namespace

std::atomic<std::size_t> engine_session::live_{0};
std::atomic<std::uint64_t> engine_session::next_timer_id_{1};
thread_local engine_session* engine_session::current_ = nullptr;

engine_session::engine_session(engine_endpoint& endpoint, strand_type strand, request_head request,
                               eio::transport_kind transport)
    : endpoint_(endpoint), strand_(std::move(strand)),
      machine_(random_session_id(), transport, endpoint.session_options()),
      remote_address_(std::move(request.remote_address)), request_block_(std::move(request.block)),
      heartbeat_slot_(endpoint.heartbeats().acquire(this)), transport_(transport) {
    ++live_;
}

engine_session::~engine_session() {
    release_heartbeat(); // a session that never finished
    --live_;
}

namespace {
// pack_request's markers of a known header name (names are HTTP tokens: never these bytes).
constexpr char known_name = '\x01';            // as Beast spells it
constexpr char known_name_lower_case = '\x02'; // the same in lower case

std::string lower_case(std::string_view name) {
    std::string out(name);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool is_lower_case_of(std::string_view name, std::string_view spelled) noexcept {
    if (name.size() != spelled.size()) return false;
    for (std::size_t i = 0; i < name.size(); ++i)
        if (name[i] != static_cast<char>(std::tolower(static_cast<unsigned char>(spelled[i])))) return false;
    return true;
}

/// The marker that stands for this header's name, or 0 when it is kept as written.
char marker_of(const http::fields::value_type& field) noexcept {
    if (field.name() == http::field::unknown) return 0;
    const auto spelled = http::to_string(field.name());
    if (field.name_string() == spelled) return known_name;
    if (is_lower_case_of(field.name_string(), spelled)) return known_name_lower_case;
    return 0;
}
} // namespace

std::string pack_request(const http::request<http::string_body>& req) {
    std::size_t size = req.target().size() + 1;
    for (const auto& field : req)
        size += (marker_of(field) != 0 ? 3 : field.name_string().size() + 1) + field.value().size() + 1;
    std::string block;
    block.reserve(size); // exactly: the block is kept for the session's life
    block.append(req.target()).push_back('\0');
    for (const auto& field : req) {
        if (const char marker = marker_of(field); marker != 0) {
            const auto code = static_cast<unsigned>(field.name());
            block.push_back(marker);
            block.push_back(static_cast<char>(code >> 8));
            block.push_back(static_cast<char>(code & 0xff));
        } else {
            block.append(field.name_string()).push_back('\0');
        }
        block.append(field.value()).push_back('\0');
    }
    return block;
}

const request_info& engine_session::request() const noexcept {
    std::call_once(request_once_, [this] {
        request_ = std::make_unique<request_info>();
        std::string_view block = request_block_;
        const auto next = [&block] { // the next field of the block
            const auto end = block.find('\0');
            const auto field = block.substr(0, end);
            block.remove_prefix(end == std::string_view::npos ? block.size() : end + 1);
            return field;
        };
        request_->remote_address = remote_address_;
        request_->url = next();
        while (!block.empty()) {
            std::string name;
            if ((block[0] == known_name || block[0] == known_name_lower_case) && block.size() >= 3) {
                const auto code = static_cast<unsigned>(static_cast<unsigned char>(block[1])) << 8 |
                                  static_cast<unsigned char>(block[2]);
                const auto spelled = http::to_string(static_cast<http::field>(code));
                name = block[0] == known_name ? std::string(spelled) : lower_case(spelled);
                block.remove_prefix(3);
            } else {
                name = next();
            }
            request_->headers.emplace_back(std::move(name), next());
        }
        request_block_ = std::string();
        request_->query = parse_query(request_->url);
    });
    return *request_;
}

void engine_session::borrow_lists() noexcept {
    if (!machine_.has_effect_storage() && !spares.effects.empty()) {
        machine_.lend_effect_storage(std::move(spares.effects.back()));
        spares.effects.pop_back();
    }
    if (!machine_.has_output_storage() && !spares.outputs.empty()) {
        machine_.lend_output_storage(std::move(spares.outputs.back()));
        spares.outputs.pop_back();
    }
}

void engine_session::return_lists() noexcept {
    if (running_effects_) return; // the effects being carried out are in the list
    keep_spare(spares.effects, machine_.take_effect_storage());
    keep_spare(spares.outputs, machine_.take_output_storage());
}

std::chrono::milliseconds engine_session::now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch());
}

void engine_session::start() {
    machine_.open(now());
    endpoint_.add(shared_from_this());
    metrics::add(metrics::counter::sessions_opened);
    SB_LOG(debug, "{} session {} open ({})", remote_address_, id(), eio::to_string(transport()));
    if (const auto& handler = endpoint_.handler())
        guarded("the connection handler", [&] { handler(shared_from_this()); });
    settle();
}

// --- the layer above ---------------------------------------------------------------------------------

// Frames from the layer above. On the session's strand, or on the server's only I/O loop (where no
// strand can be running anywhere else), they are queued now; from another thread they hop to the
// strand. Queued from outside the strand, they leave at the end of the loop's pass (flush_given), in
// one write with whatever else the pass gives this session: a room broadcast costs each recipient a
// queue append and its share of one write, no task of its own.
void engine_session::send(std::vector<eio::frame> frames, bool droppable) {
    if (in_own_turn() || endpoint_.on_the_only_loop()) return queue(frames, droppable);
    post_turn([self = shared_from_this(), frames = std::move(frames), droppable]() mutable {
        self->queue(frames, droppable);
    });
}

void engine_session::send_shared(std::span<const eio::frame> frames, bool droppable) {
    if (in_own_turn() || endpoint_.on_the_only_loop()) return queue(frames, droppable);
    post_turn([self = shared_from_this(), frames = std::vector<eio::frame>(frames.begin(), frames.end()),
               droppable]() mutable { self->queue(frames, droppable); });
}

template <class Frames>
void engine_session::queue(Frames& frames, bool droppable) {
    borrow_lists();
    const bool was_closed = machine_.closed();
    const auto count = frames.size();
    const auto bytes = frame_bytes(frames);
    eio::server_session::send_outcome outcome;
    if constexpr (std::is_same_v<Frames, std::vector<eio::frame>>)
        outcome = machine_.send(std::move(frames), droppable);
    else
        outcome = machine_.send(frames, droppable);
    if (outcome.queued) {
        metrics::add(metrics::counter::packets_out, count);
        metrics::add(metrics::counter::bytes_out, bytes);
    } else if (!was_closed) {
        metrics::add(metrics::counter::dropped_volatile);
    }
    if (outcome.replaced) metrics::add(metrics::counter::dropped_replaced, outcome.replaced);
    if (!was_closed && machine_.closed()) metrics::add(metrics::counter::refused_queue);
    // Now, not at the end of the step: a handler that emits in a loop sees its queue grow.
    buffered_.store(machine_.closed() ? 0 : machine_.unsent_bytes(), std::memory_order_relaxed);
    given();
}

void engine_session::given() {
    if (in_own_turn()) return run_effects();
    if (flush_due_) return; // this pass's flush takes it too
    flush_due_ = true;
    endpoint_.flush_after_this_pass(shared_from_this());
}

void engine_session::flush_given() {
    flush_due_ = false;
    // The sends' effects (a held long-poll answered, the close of an overfull queue), then what they
    // queued, written now rather than in yet another task (write_soon).
    running_effects_ = true;
    while (auto e = machine_.next_effect()) std::visit([this](auto& effect) { apply(effect); }, *e);
    running_effects_ = false;
    write_now();
    settle();
}

void engine_session::send_replaceable(std::vector<eio::frame> frames) {
    const auto replace = [](engine_session& self, std::vector<eio::frame>& frames) {
        self.borrow_lists();
        const bool was_closed = self.machine_.closed();
        if (!was_closed) {
            metrics::add(metrics::counter::packets_out, frames.size());
            metrics::add(metrics::counter::bytes_out, frame_bytes(frames));
        }
        const auto dropped = self.machine_.send_replaceable(std::move(frames));
        if (!was_closed && self.machine_.closed()) metrics::add(metrics::counter::refused_queue);
        if (dropped) metrics::add(metrics::counter::dropped_replaced, dropped);
        if (dropped)
            SB_LOG(trace, "{} session {}: {} older replaceable packet(s) dropped (queue full)", self.remote_address_,
                   self.id(), dropped);
        self.buffered_.store(self.machine_.closed() ? 0 : self.machine_.unsent_bytes(), std::memory_order_relaxed);
        self.given();
    };
    if (in_own_turn() || endpoint_.on_the_only_loop()) return replace(*this, frames);
    post_turn([self = shared_from_this(), frames = std::move(frames), replace]() mutable { replace(*self, frames); });
}

void engine_session::close() {
    on_strand([self = shared_from_this()] {
        self->machine_.close(now());
        self->run_effects();
    });
}

void engine_session::post(std::function<void()> task) {
    post_turn([self = shared_from_this(), task = std::move(task)] {
        if (!self->machine_.closed()) self->guarded("a task", task);
    });
}

void engine_session::dispatch(std::function<void()> task) {
    if (!in_own_turn()) return post(std::move(task));
    if (!machine_.closed()) guarded("a task", task);
}

void engine_session::execute(std::function<void()> task) {
    post_turn([self = shared_from_this(), task = std::move(task)] { self->guarded("a task", task); });
}

std::uint64_t engine_session::post_after(std::chrono::milliseconds delay, std::function<void()> task) {
    const auto id = next_timer_id_.fetch_add(1, std::memory_order_relaxed);
    on_strand([self = shared_from_this(), id, delay, task = std::move(task)]() mutable {
        if (self->machine_.closed()) return;
        auto timer = std::make_shared<strand_timer>(self->strand_, delay);
        self->rare().timers.emplace_back(id, timer);
        // The timer holds the session weakly; the close cancels it, so nothing of an ended session
        // (a make_shared allocation that weak references keep) waits for a long timeout to pass.
        timer->async_wait([id, weak = self->weak_from_this(), task = std::move(task)](beast::error_code ec) {
            auto s = weak.lock();
            if (!s) return;
            const turn in_turn(*s);
            if (s->rare_) std::erase_if(s->rare_->timers, [id](const auto& t) { return t.first == id; });
            s->rare_done(); // an idle session keeps no list (the connect timeout's)
            if (!ec && !s->machine_.closed()) s->guarded("a timer task", task);
        });
    });
    return id;
}

void engine_session::cancel_timer(std::uint64_t timer_id) {
    on_strand([self = shared_from_this(), timer_id] {
        if (self->rare_)
            for (auto& [id, timer] : self->rare_->timers)
                if (id == timer_id) timer->cancel(); // its handler removes it
    });
}

// --- effects -----------------------------------------------------------------------------------------

void engine_session::run_effects() {
    if (running_effects_) return; // the loop below takes what a callback's input added
    running_effects_ = true;
    while (auto e = machine_.next_effect()) std::visit([this](auto& effect) { apply(effect); }, *e);
    running_effects_ = false;
    settle();
}

void engine_session::apply(eio::deliver_text& e) {
    metrics::add(metrics::counter::packets_in);
    metrics::add(metrics::counter::bytes_in, e.text.size() + 1); // as sent: the type digit, then the text
    if (machine_.closed() || !listener_) return;
    const auto listener = listener_; // the call may end the session, and with it the session's hold
    guarded("a message handler", [&] { listener->on_text(e.text); });
}

void engine_session::apply(eio::deliver_binary& e) {
    metrics::add(metrics::counter::packets_in);
    metrics::add(metrics::counter::bytes_in, e.bytes ? e.bytes->size() : 0);
    if (machine_.closed() || !listener_) return;
    const auto listener = listener_;
    guarded("a message handler", [&] { listener->on_binary(std::move(e.bytes)); });
}

void engine_session::apply(eio::answer_poll& e) { polling_.answer(std::move(e.payload)); }

void engine_session::apply(eio::probe_send& e) {
    const auto probe_transport = probe();
    if (!probe_transport) return;
    if (probe_transport->write({&e.packet, 1}) == websocket_transport::write_state::failed)
        machine_.on_probe_closed(now());
}

void engine_session::apply(eio::probe_drop&) {
    if (const auto dropped = take_probe()) dropped->abort();
}

void engine_session::apply(eio::upgraded&) {
    ws_ = take_probe();
    transport_ = eio::transport_kind::websocket;
    SB_LOG(debug, "{} session {} upgraded to websocket", remote_address_, id());
    write_soon(); // if the 3probe is still being written, the output waits for it
    if (endpoint_.on_upgrade) guarded("an upgrade listener", [&] { endpoint_.on_upgrade(*this); });
}

void engine_session::apply(eio::close_transport& e) {
    if (!ws_) return;
    if (e.graceful && machine_.has_output()) {
        ws_->write(machine_.output());
        machine_.output_taken();
    }
    std::exchange(ws_, nullptr)->close(e.graceful);
}

void engine_session::apply(eio::session_closed& e) {
    metrics::add(metrics::counter::sessions_closed);
    if (!e.cause.empty()) {
        SB_LOG(warn, "{} session {} closed ({}): {}", remote_address_, id(), eio::to_string(e.reason), e.cause);
    } else if (e.reason == eio::close_reason::ping_timeout) {
        SB_LOG(info, "{} session {}: no pong within {} ms", remote_address_, id(), endpoint_.config().ping_timeout_ms);
    } else {
        SB_LOG(debug, "{} session {} closed ({})", remote_address_, id(), eio::to_string(e.reason));
    }
    if (rare_)
        for (auto& [timer_id, timer] : std::exchange(rare_->timers, {})) timer->cancel();
    rare_done();
    // Dropped: the listener may hold this session, which would keep it alive forever.
    if (const auto listener = std::move(listener_)) {
        try {
            listener->on_close(e.reason);
        } catch (...) {
            SB_LOG(warn, "{} session {}: the close handler threw ({})", remote_address_, id(),
                   describe_current_exception());
        }
    }
}

void engine_session::apply(eio::session_released&) {
    polling_.drop();
    release_heartbeat();
    endpoint_.remove(id());
}

// --- output and time ---------------------------------------------------------------------------------

void engine_session::settle() {
    if (ws_ && machine_.has_output()) write_soon();
    // Backpressure: the unsent bytes for emitters to see, and `drain` once they fall back.
    const auto unsent = machine_.closed() ? 0 : machine_.unsent_bytes();
    buffered_.store(unsent, std::memory_order_relaxed);
    const auto high = endpoint_.config().high_water_bytes;
    if (high != 0 && unsent >= high) {
        over_high_water_ = true;
    } else if (over_high_water_ && unsent <= high / 2) {
        over_high_water_ = false;
        if (const auto listener = listener_) guarded("a drain handler", [&] { listener->on_drain(); });
    }
    return_lists();
    const auto deadline = machine_.next_deadline();
    const auto wanted = deadline.value_or(not_armed);
    if (wanted == armed_for_ || heartbeat_slot_ == no_slot) return;
    armed_for_ = wanted;
    if (deadline) endpoint_.heartbeats().schedule(heartbeat_slot_, std::chrono::steady_clock::time_point(*deadline));
}

// Frames queued by the handlers that run on this strand now (broadcasts posted here from other
// sessions, a timer's emit) leave together: the write waits for the end of the strand's current
// batch of handlers. What a read's handlers send leaves at the end of that read (cork) instead.
void engine_session::write_soon() {
    if (corked_ || write_posted_ || !ws_ || ws_->writing()) return; // the uncork or the write in flight takes it
    write_posted_ = true;
    post_turn([self = shared_from_this()] {
        self->write_posted_ = false;
        self->write_now();
    });
}

void engine_session::write_now() {
    if (!ws_ || ws_->writing() || corked_ || !machine_.has_output()) return;
    const auto state = ws_->write(machine_.output());
    machine_.output_taken();
    on_write_state(state);
}

void engine_session::on_write_state(websocket_transport::write_state state) {
    using ws_state = websocket_transport::write_state;
    switch (state) {
    case ws_state::done: machine_.on_write_done(); break;
    case ws_state::waiting_progressed: machine_.on_write_waiting(now(), true); break;
    case ws_state::waiting_stalled: machine_.on_write_waiting(now(), false); break;
    case ws_state::failed: machine_.on_transport_closed(now(), eio::close_reason::transport_error); break;
    }
    run_effects();
}

void engine_session::heartbeat_due() {
    post_turn([self = shared_from_this()] { self->on_heartbeat(); });
}

void engine_session::on_heartbeat() {
    armed_for_ = not_armed; // that wake-up is used up: settle() asks for the next one
    borrow_lists();
    machine_.on_timer(now());
    run_effects();
}

void engine_session::release_heartbeat() {
    if (heartbeat_slot_ != no_slot) endpoint_.heartbeats().release(std::exchange(heartbeat_slot_, no_slot));
}

// --- WebSocket: the transport's events -----------------------------------------------------------------

void engine_session::open_websocket(std::shared_ptr<websocket_transport> ws) {
    on_strand([self = shared_from_this(), ws = std::move(ws)]() mutable {
        self->ws_ = std::move(ws);
        self->ws_->start(self->weak_from_this());
        self->start();
    });
}

void engine_session::on_probe(std::shared_ptr<websocket_transport> ws) {
    on_strand([self = shared_from_this(), ws = std::move(ws)]() mutable {
        if (!self->machine_.on_probe(now())) return ws->abort();
        auto& probe = self->rare().probe;
        probe = std::move(ws);
        probe->start(self->weak_from_this());
        self->settle(); // the upgrade's deadline
    });
}

void engine_session::on_ws_read_begin(websocket_transport& t) {
    if (&t == ws_.get()) corked_ = true; // what the handlers send leaves in one write, after the read
}

void engine_session::on_ws_read_end(websocket_transport& t) {
    const turn in_turn(*this);
    corked_ = false;
    if (&t == ws_.get()) write_now();
}

bool engine_session::on_ws_message(websocket_transport& t, const ws::event& message) {
    const turn in_turn(*this);
    borrow_lists();
    const auto at = now();
    if (&t == ws_.get()) {
        if (message.type == ws::event::kind::text) {
            machine_.on_text(at, message.payload);
        } else {
            machine_.on_binary(at, copy_shared_bytes(message.payload));
        }
    } else if (&t == probe()) {
        if (message.type == ws::event::kind::text) {
            machine_.on_probe_text(at, message.payload);
        } else {
            machine_.on_probe_binary(at);
        }
    } else {
        return false; // a transport already let go
    }
    run_effects();
    return &t == ws_.get() || &t == probe();
}

void engine_session::on_ws_closed(websocket_transport& t, eio::close_reason reason, std::string cause) {
    const turn in_turn(*this);
    if (&t == ws_.get()) {
        machine_.on_transport_closed(now(), reason, std::move(cause));
    } else if (&t == probe()) {
        machine_.on_probe_closed(now());
    } else {
        return;
    }
    run_effects();
}

void engine_session::on_ws_write(websocket_transport& t, websocket_transport::write_state state) {
    if (&t != ws_.get()) return; // a probe's 3probe, or a transport let go
    const turn in_turn(*this);
    on_write_state(state);
}

} // namespace switchboard::server
