#include "subscriber.hpp"

#include "../../util/log.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <hiredis/hiredis.h>

namespace switchboard::server::redis {

namespace {
constexpr std::chrono::milliseconds max_backoff{5000};
} // namespace

subscriber::subscriber(strand_type strand, address where, events on)
    : strand_(std::move(strand)), where_(std::move(where)), on_(std::move(on)), buffer_(16 * 1024) {}

subscriber::~subscriber() {
    if (reader_) redisReaderFree(reader_);
}

void subscriber::start() {
    net::post(strand_, [self = shared_from_this()] { self->connect(); });
}

void subscriber::close() {
    closed_ = true;
    connected_ = false;
    ++generation_;
    if (retry_) retry_->cancel();
    if (resolver_) resolver_->cancel();
    if (socket_) {
        beast::error_code ignored;
        socket_->close(ignored);
    }
}

void subscriber::connect() {
    if (closed_) return;
    const auto generation = ++generation_;
    if (reader_) redisReaderFree(reader_);
    reader_ = redisReaderCreate();
    out_.clear();
    writing_ = false;
    socket_.emplace(strand_);
    resolver_.emplace(strand_);
    resolver_->async_resolve(
        where_.host, std::to_string(where_.port),
        [self = shared_from_this(), generation](beast::error_code ec, tcp::resolver::results_type endpoints) {
            if (generation != self->generation_) return;
            if (ec) return self->lost(ec.message());
            net::async_connect(
                *self->socket_, endpoints, [self, generation](beast::error_code ec, const tcp::endpoint&) {
                    if (generation != self->generation_) return;
                    if (ec) return self->lost(ec.message());
                    self->connected_ = true;
                    self->backoff_ = std::chrono::milliseconds(100);
                    SB_LOG(info, "redis {}:{} connected (subscriptions)", self->where_.host, self->where_.port);
                    self->read();
                    if (self->on_.connected) self->on_.connected();
                });
        });
}

bool subscriber::send(const std::vector<std::string_view>& args) {
    if (!connected_) return false;
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    for (auto a : args) {
        argv.push_back(a.data());
        lengths.push_back(a.size());
    }
    char* formatted = nullptr;
    const int length = redisFormatCommandArgv(&formatted, static_cast<int>(argv.size()), argv.data(), lengths.data());
    if (length < 0) return false;
    out_.emplace_back(formatted, static_cast<std::size_t>(length));
    redisFreeCommand(formatted);
    write();
    return true;
}

void subscriber::write() {
    if (writing_ || out_.empty() || !connected_) return;
    writing_ = true;
    net::async_write(*socket_, net::buffer(out_.front()),
                     [self = shared_from_this(), generation = generation_](beast::error_code ec, std::size_t) {
                         if (generation != self->generation_) return;
                         self->writing_ = false;
                         if (ec) return self->lost(ec.message());
                         self->out_.pop_front();
                         self->write();
                     });
}

void subscriber::read() {
    socket_->async_read_some(net::buffer(buffer_), [self = shared_from_this(),
                                                    generation = generation_](beast::error_code ec, std::size_t n) {
        if (generation != self->generation_) return;
        if (ec) return self->lost(ec == net::error::eof ? "closed" : ec.message());
        if (redisReaderFeed(self->reader_, self->buffer_.data(), n) != REDIS_OK) return self->lost("unreadable reply");
        for (;;) {
            void* parsed = nullptr;
            if (redisReaderGetReply(self->reader_, &parsed) != REDIS_OK) return self->lost("unreadable reply");
            if (!parsed) break;
            auto r = copy_reply(static_cast<const redisReply*>(parsed));
            freeReplyObject(parsed);
            if (self->on_.push) self->on_.push(r);
            if (generation != self->generation_) return; // closed by the handler
        }
        self->read();
    });
}

void subscriber::lost(std::string why) {
    const bool was_connected = connected_;
    connected_ = false;
    ++generation_;
    if (socket_) {
        beast::error_code ignored;
        socket_->close(ignored);
    }
    if (closed_) return;
    SB_LOG(warn, "redis {}:{} (subscriptions): {}; reconnecting in {} ms", where_.host, where_.port, why,
           backoff_.count());
    if (was_connected && on_.lost) on_.lost(why);
    retry_.emplace(strand_, backoff_);
    backoff_ = std::min(backoff_ * 2, max_backoff);
    retry_->async_wait([weak = weak_from_this()](beast::error_code ec) {
        if (auto self = weak.lock(); self && !ec) self->connect();
    });
}

} // namespace switchboard::server::redis
