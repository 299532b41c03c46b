#include "connection.hpp"

#include "../../util/log.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

namespace switchboard::server::redis {

namespace {

constexpr std::chrono::milliseconds max_backoff{5000};

} // namespace

reply copy_reply(const redisReply* r) {
    reply out;
    switch (r->type) {
    case REDIS_REPLY_STRING: out.type = reply::kind::string; break;
    case REDIS_REPLY_STATUS: out.type = reply::kind::status; break;
    case REDIS_REPLY_ERROR: out.type = reply::kind::error; break;
    case REDIS_REPLY_INTEGER: out.type = reply::kind::integer; break;
    case REDIS_REPLY_ARRAY: out.type = reply::kind::array; break;
    default: out.type = reply::kind::nil; break;
    }
    if (r->str) out.text.assign(r->str, r->len);
    out.integer = r->integer;
    out.elements.reserve(r->elements);
    for (std::size_t i = 0; i < r->elements; ++i) out.elements.push_back(copy_reply(r->element[i]));
    return out;
}

namespace {

connection* owner(const redisAsyncContext* ctx) { return static_cast<connection*>(ctx->data); }

} // namespace

connection::connection(strand_type strand, address where, events on)
    : strand_(std::move(strand)), where_(std::move(where)), on_(std::move(on)) {}

connection::~connection() {
    closed_ = true;
    if (ctx_) redisAsyncFree(std::exchange(ctx_, nullptr)); // pending handlers are called without a reply
}

void connection::start() {
    net::post(strand_, [self = shared_from_this()] {
        if (self->closed_ || self->ctx_) return;
        auto* ctx = redisAsyncConnect(self->where_.host.c_str(), self->where_.port);
        if (!ctx) return self->reconnect_later();
        if (ctx->err) {
            self->lost(ctx->errstr);
            redisAsyncFree(ctx);
            return;
        }
        self->ctx_ = ctx;
        ctx->data = self.get();
        ctx->ev.data = self.get();
        ctx->ev.addRead = add_read;
        ctx->ev.delRead = del_read;
        ctx->ev.addWrite = add_write;
        ctx->ev.delWrite = del_write;
        ctx->ev.cleanup = cleanup;
        self->socket_.emplace(self->strand_);
        beast::error_code ec;
        self->socket_->assign(tcp::v4(), ctx->c.fd, ec);
        redisAsyncSetConnectCallback(ctx, on_connect); // waits for writability: the connect's end
        redisAsyncSetDisconnectCallback(ctx, on_disconnect);
    });
}

void connection::close() {
    closed_ = true;
    connected_ = false;
    if (retry_) retry_->cancel();
    if (ctx_) redisAsyncFree(std::exchange(ctx_, nullptr));
}

bool connection::send(const std::vector<std::string_view>& args, void (*callback)(redisAsyncContext*, void*, void*),
                      void* privdata) {
    if (!ctx_ || !connected_) return false;
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    for (auto a : args) {
        argv.push_back(a.data());
        lengths.push_back(a.size());
    }
    return redisAsyncCommandArgv(ctx_, callback, privdata, static_cast<int>(argv.size()), argv.data(),
                                 lengths.data()) == REDIS_OK;
}

bool connection::command(const std::vector<std::string_view>& args, reply_handler done) {
    auto handler = std::make_unique<reply_handler>(std::move(done)); // then owned by the reply callback
    if (!send(args, on_reply, handler.get())) return false;
    handler.release();
    return true;
}

// --- hiredis's callbacks (on the strand: hiredis runs only inside our handlers) -----------------------

void connection::on_connect(const redisAsyncContext* ctx, int status) {
    auto* self = owner(ctx);
    if (status != REDIS_OK) {
        self->ctx_ = nullptr; // hiredis frees it after this callback
        self->lost(ctx->errstr ? ctx->errstr : "connection refused");
        return;
    }
    self->connected_ = true;
    self->backoff_ = std::chrono::milliseconds(100);
    SB_LOG(info, "redis {}:{} connected", self->where_.host, self->where_.port);
    if (self->on_.connected) self->on_.connected();
}

void connection::on_disconnect(const redisAsyncContext* ctx, int status) {
    auto* self = owner(ctx);
    self->ctx_ = nullptr; // freed by hiredis
    self->connected_ = false;
    if (self->closed_) return;
    self->lost(status == REDIS_OK ? "closed" : (ctx->errstr ? ctx->errstr : "connection lost"));
}

void connection::on_reply(redisAsyncContext*, void* r, void* privdata) {
    std::unique_ptr<reply_handler> handler(static_cast<reply_handler*>(privdata));
    if (!*handler) return;
    if (r) {
        (*handler)(copy_reply(static_cast<redisReply*>(r)));
    } else {
        (*handler)(std::nullopt);
    }
}

void connection::add_read(void* p) {
    auto* self = static_cast<connection*>(p);
    self->want_read_ = true;
    self->wait_read();
}
void connection::del_read(void* p) { static_cast<connection*>(p)->want_read_ = false; }
void connection::add_write(void* p) {
    auto* self = static_cast<connection*>(p);
    self->want_write_ = true;
    self->wait_write();
}
void connection::del_write(void* p) { static_cast<connection*>(p)->want_write_ = false; }

void connection::cleanup(void* p) {
    auto* self = static_cast<connection*>(p);
    self->want_read_ = self->want_write_ = false;
    if (self->socket_) {
        beast::error_code ignored;
        self->socket_->release(ignored); // hiredis closes its descriptor itself; pending waits are cancelled
        self->socket_.reset();
    }
}

void connection::wait_read() { wait(tcp::socket::wait_read, reading_, want_read_, redisAsyncHandleRead); }
void connection::wait_write() { wait(tcp::socket::wait_write, writing_, want_write_, redisAsyncHandleWrite); }

// Waits for readiness in one direction, lets hiredis handle it, and waits again while hiredis wants it
// (its hooks ask once, as for a level-triggered event loop).
void connection::wait(tcp::socket::wait_type direction, bool& waiting, const bool& wanted,
                      void (*handle)(redisAsyncContext*)) {
    if (waiting || !socket_) return;
    waiting = true;
    socket_->async_wait(direction,
                        [self = shared_from_this(), direction, &waiting, &wanted, handle](beast::error_code ec) {
                            waiting = false; // members of *self, which the handler holds
                            if (ec || !self->ctx_) return;
                            handle(self->ctx_);
                            if (wanted) self->wait(direction, waiting, wanted, handle);
                        });
}

void connection::lost(std::string why) {
    connected_ = false;
    SB_LOG(warn, "redis {}:{}: {}; reconnecting in {} ms", where_.host, where_.port, why, backoff_.count());
    if (on_.lost) on_.lost(why);
    reconnect_later();
}

void connection::reconnect_later() {
    if (closed_) return;
    retry_.emplace(strand_, backoff_);
    backoff_ = std::min(backoff_ * 2, max_backoff);
    retry_->async_wait([weak = weak_from_this()](beast::error_code ec) {
        if (auto self = weak.lock(); self && !ec) self->start();
    });
}

} // namespace switchboard::server::redis
