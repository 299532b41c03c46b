#pragma once
// An in-memory Engine.IO session for the server-layer fuzz targets: the Socket.IO layer (and the chat
// above it) runs exactly as behind a network session, but messages are fed by the fuzzer, tasks and
// timers run when the fuzzer says so, and everything the server sends is checked to decode.
//
// One thread plays every session's strand. The fuzz input is a list of records, one per line:
//   a<text>  b<text>  c<text>   a Socket.IO text packet (without the Engine.IO `4`) from client a/b/c
//   A<bytes> B<bytes> C<bytes>  a binary message (an attachment) from client a/b/c
//   x / y / z                   client a/b/c's transport closes (a new session takes its place on its next message)
//   t                           every pending timer fires (ack timeouts, the connect timeout)
// Queued tasks run after every record, as the session's strand would run them.
#include <switchboard/server/engine.hpp>
#include <switchboard/server/server.hpp>
#include <switchboard/sio/packet.hpp>

#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace fuzz {

using namespace switchboard;

/// The tasks of every local session, run in order (one thread stands for every strand).
struct task_queue {
    std::deque<std::function<void()>> tasks;
    void run() {
        for (int guard = 0; !tasks.empty() && guard < 100000; ++guard) {
            auto task = std::move(tasks.front());
            tasks.pop_front();
            task(); // an exception here is a finding: the layers above must not let one out
        }
    }
};

class local_engine final : public server::engine_socket, public std::enable_shared_from_this<local_engine> {
public:
    local_engine(task_queue& queue, std::string id) : queue_(queue), id_(std::move(id)) {
        request_.remote_address = "127.0.0.1";
        request_.url = "/socket.io/?EIO=4&transport=websocket";
        request_.query = {{"EIO", "4"}, {"transport", "websocket"}};
    }

    const std::string& id() const noexcept override { return id_; }
    const server::request_info& request() const noexcept override { return request_; }
    const std::string& remote_address() const noexcept override { return request_.remote_address; }

    void send(std::vector<eio::frame> frames, bool) override {
        if (closed_) return;
        check_decodable(frames);
        sent_frames += frames.size();
    }
    void close() override { finish(eio::close_reason::forced_close); }
    void post(std::function<void()> task) override {
        queue_.tasks.push_back([self = shared_from_this(), task = std::move(task)] {
            if (!self->closed_) task();
        });
    }
    void dispatch(std::function<void()> task) override {
        if (!closed_) task();
    }
    void execute(std::function<void()> task) override { queue_.tasks.push_back(std::move(task)); }
    std::uint64_t post_after(std::chrono::milliseconds, std::function<void()> task) override {
        const auto id = ++next_timer_;
        timers_.emplace(id, std::move(task));
        return id;
    }
    void cancel_timer(std::uint64_t id) override { timers_.erase(id); }

    void receive_text(std::string_view text) {
        if (!closed_ && listener_) std::shared_ptr(listener_)->on_text(text);
    }
    void receive_binary(std::string_view bytes) {
        if (!closed_ && listener_) std::shared_ptr(listener_)->on_binary(make_shared_bytes(std::string(bytes)));
    }
    void fire_timers() {
        auto due = std::move(timers_);
        timers_.clear();
        for (auto& [id, task] : due)
            if (!closed_) task();
    }
    /// The transport closed (reason `transport close`), or the server closed it (`forced close`).
    void finish(eio::close_reason reason) {
        if (closed_) return;
        closed_ = true;
        timers_.clear();
        if (const auto listener = std::move(listener_)) listener->on_close(reason);
    }
    bool closed() const noexcept { return closed_; }

    std::size_t sent_frames = 0;

private:
    // Whatever the server sends must be a packet a client can decode (attachments checked for count).
    static void check_decodable(const std::vector<eio::frame>& frames) {
        if (frames.empty() || frames.front().binary) std::abort();
        const std::string_view first(*frames.front().bytes);
        if (first.empty() || first.front() != '4') std::abort();
        std::size_t attachments = 0;
        auto packet = sio::decode_text(first.substr(1), codec_limits{1u << 30, 1000, 1000}, attachments);
        if (!packet || attachments != frames.size() - 1) std::abort();
    }

    task_queue& queue_;
    std::string id_;
    server::request_info request_;
    bool closed_ = false;
    std::map<std::uint64_t, std::function<void()>> timers_;
    std::uint64_t next_timer_ = 0;
};

/// Plays a fuzz input (the record format above) against the Socket.IO endpoint of `http`.
inline void play(server::server& http, const std::uint8_t* data, std::size_t size) {
    task_queue queue;
    std::shared_ptr<local_engine> clients[3];
    int sessions = 0;
    const auto client = [&](int i) -> local_engine& {
        if (!clients[i] || clients[i]->closed()) {
            clients[i] = std::make_shared<local_engine>(queue, "session" + std::to_string(sessions++));
            http.accept_session(http.config().path, clients[i]);
            queue.run();
        }
        return *clients[i];
    };
    std::string_view input(reinterpret_cast<const char*>(data), size);
    while (!input.empty()) {
        const auto end = input.find('\n');
        const auto record = input.substr(0, end);
        input = end == std::string_view::npos ? std::string_view() : input.substr(end + 1);
        if (record.empty()) continue;
        const auto body = record.substr(1);
        switch (record.front()) {
        case 'a': client(0).receive_text(body); break;
        case 'b': client(1).receive_text(body); break;
        case 'c': client(2).receive_text(body); break;
        case 'A': client(0).receive_binary(body); break;
        case 'B': client(1).receive_binary(body); break;
        case 'C': client(2).receive_binary(body); break;
        case 'x': client(0).finish(eio::close_reason::transport_close); break;
        case 'y': client(1).finish(eio::close_reason::transport_close); break;
        case 'z': client(2).finish(eio::close_reason::transport_close); break;
        case 't':
            for (auto& c : clients)
                if (c) c->fire_timers();
            break;
        default: break;
        }
        queue.run();
    }
    // Every client leaves; what the sessions held must go with them (LeakSanitizer checks the rest).
    for (auto& c : clients)
        if (c) c->finish(eio::close_reason::transport_close);
    queue.run();
}

} // namespace fuzz
