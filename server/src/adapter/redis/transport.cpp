#include "transport.hpp"

#include "../../metrics/counters.hpp"
#include "../../util/log.hpp"

namespace switchboard::server::redis {

pubsub_transport::pubsub_transport(const address& at)
    : ioc_(std::make_shared<net::io_context>(1)), strand_(net::make_strand(*ioc_)) {
    commands_ = std::make_shared<connection>(strand_, at, connection::events{});
    subscriber::events on;
    on.connected = [this] { resubscribe(); };
    on.push = [this](const reply& r) { on_push(r); };
    subscriber_ = std::make_shared<subscriber>(strand_, at, std::move(on));
}

void pubsub_transport::start() {
    commands_->start();
    subscriber_->start();
    // The thread holds the io_context: if the last owner lets go of this transport on that thread (a
    // task finishing there), the thread is detached rather than joined, and ends on its own.
    thread_ = std::thread([ioc = ioc_] {
        auto work = net::make_work_guard(*ioc);
        for (;;) {
            try {
                ioc->run();
                return;
            } catch (...) {
                SB_LOG(err, "redis thread: {} (going on)", describe_current_exception());
            }
        }
    });
}

void pubsub_transport::shutdown() {
    if (!thread_.joinable()) return;
    stopping_ = true; // what the closing connections drop is not a loss to report
    if (std::this_thread::get_id() == thread_.get_id()) {
        commands_->close();
        subscriber_->close();
        ioc_->stop();
        thread_.detach();
        return;
    }
    net::post(strand_, [this] {
        commands_->close();
        subscriber_->close();
    });
    // Let the cancelled waits complete, then stop.
    net::post(strand_, [this] { net::post(strand_, [this] { ioc_->stop(); }); });
    thread_.join();
}

std::function<void()> pubsub_transport::after(std::chrono::milliseconds delay, std::function<void()> task) {
    auto timer = std::make_shared<strand_timer>(strand_, delay);
    timer->async_wait([timer, task = std::move(task)](boost::system::error_code ec) {
        if (!ec) task();
    });
    return [timer] { timer->cancel(); };
}

void pubsub_transport::publish(std::string_view command, std::string channel, std::string bytes) {
    if (bytes.empty()) return;
    const auto started = std::chrono::steady_clock::now();
    net::post(strand_, [this, command, channel = std::move(channel), bytes = std::move(bytes), started] {
        // Refused (Redis is known to be away), or lost with the connection before Redis took it.
        const bool sent = commands_->command({command, channel, bytes}, [this, started](std::optional<reply> r) {
            if (!r) return unpublished();
            metrics::observe(metrics::histogram::adapter_publish, std::chrono::steady_clock::now() - started);
        });
        if (!sent) unpublished();
    });
}

void pubsub_transport::unpublished() {
    // What was meant for the other nodes reached this one only. Counted and logged, not buffered
    // without bound (pub/sub keeps nothing for an absent subscriber either).
    if (stopping_) return;
    const auto n = ++unpublished_;
    if ((n & (n - 1)) == 0) // 1, 2, 4, 8, …: a log line per doubling, not per message
        SB_LOG(warn, "redis unreachable: {} message(s) not published to the other nodes", n);
}

void pubsub_transport::count_subscribers(std::string_view command, std::string channel,
                                         std::function<void(std::optional<std::size_t>)> done) {
    net::post(strand_, [this, command, channel = std::move(channel), done = std::move(done)]() mutable {
        auto shared = std::make_shared<std::function<void(std::optional<std::size_t>)>>(std::move(done));
        const bool sent = commands_->command({"PUBSUB", command, channel}, [shared](std::optional<reply> r) {
            // [channel, count]
            if (r && r->elements.size() == 2 && r->elements[1].type == reply::kind::integer)
                return (*shared)(static_cast<std::size_t>(std::max(0LL, r->elements[1].integer)));
            (*shared)(std::nullopt);
        });
        if (!sent) (*shared)(std::nullopt);
    });
}

} // namespace switchboard::server::redis
