// The native client's API against a live server (the URL in SWITCHBOARD_TEST_URL, a server with the
// interop handlers: tests/server/sio_fixture, reference-server.mjs or python-server.py). Run by
// tests/interop/native-api.test.mjs, which starts each server; not a CTest test for that reason.
#define CATCH_CONFIG_MAIN
#include <switchboard/client/client.hpp>

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <thread>

namespace sb = switchboard::client;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

std::string url() {
    const char* u = std::getenv("SWITCHBOARD_TEST_URL");
    return u ? u : "http://127.0.0.1:3000";
}

template <class F>
bool eventually(F done, std::chrono::milliseconds within = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + within;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

/// Handlers run on the client's thread; the test reads what they saw under this lock.
struct seen {
    std::mutex mutex;
    std::vector<std::string> items;
    void add(std::string s) {
        std::lock_guard lock(mutex);
        items.push_back(std::move(s));
    }
    std::vector<std::string> get() {
        std::lock_guard lock(mutex);
        return items;
    }
    std::size_t size() {
        std::lock_guard lock(mutex);
        return items.size();
    }
};

sb::connection_options websocket_only() {
    sb::connection_options o;
    o.transports = {"websocket"};
    o.reconnection = false;
    return o;
}

/// The answer of an emit_with_ack, failing the test (not hanging it) when none comes in 10 s.
sb::arguments answer(std::future<sb::arguments> f) {
    REQUIRE(f.wait_for(10s) == std::future_status::ready);
    return f.get();
}

bool connected(const sb::socket& s) {
    return eventually([&] { return s.connected(); });
}

} // namespace

TEST_CASE("emit_with_ack returns the answer as a future, and errc::timeout when none comes") {
    sb::connection io(url(), websocket_only());
    auto s = io.socket();
    const auto reply =
        answer(s.emit_with_ack("echo", 1, "two", json::object{{"three", json::array{3, nullptr, true}}}));
    REQUIRE(reply.size() == 3);
    CHECK(reply.get<int>(0) == 1);
    CHECK(reply.get<std::string>(1) == "two");
    CHECK(json::serialize(reply[2]) == R"({"three":[3,null,true]})");
    auto late = s.timeout(100ms).emit_with_ack("no-such-handler");
    try {
        REQUIRE(late.wait_for(10s) == std::future_status::ready);
        late.get();
        FAIL("no timeout");
    } catch (const std::system_error& e) {
        CHECK(e.code() == sb::errc::timeout);
    }
    CHECK(s.connected());
}

TEST_CASE("a reserved event name is refused before anything is sent") {
    sb::connection io(url(), websocket_only());
    auto s = io.socket();
    for (const char* name :
         {"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"})
        CHECK(s.emit(name, 1) == sb::errc::reserved_name);
    CHECK(answer(s.emit_with_ack("echo", "still fine")).get<std::string>(0) == "still fine");
}

TEST_CASE("binary arguments both ways, nested") {
    sb::connection io(url(), websocket_only());
    auto s = io.socket();
    sb::arguments args;
    args.push(sb::binary{switchboard::make_shared_bytes(std::string("\x00\x01\xff", 3))});
    json::object nested{{"file", args.attach(switchboard::make_shared_bytes("\x09\x08"))}};
    args.push(std::move(nested));
    const auto reply = answer(s.emit_args_with_ack("echo", std::move(args)));
    REQUIRE(reply.size() == 2);
    REQUIRE(reply.bytes_at(0));
    CHECK(*reply.bytes_at(0) == std::string("\x00\x01\xff", 3));
    const auto* file = reply[1].as_object().if_contains("file");
    REQUIRE(file);
    REQUIRE(reply.bytes_of(*file));
    CHECK(*reply.bytes_of(*file) == "\x09\x08");
}

TEST_CASE("any-handlers come first (prepended ones before), off() removes, outgoing ones see emits") {
    sb::connection io(url(), websocket_only());
    auto s = io.socket();
    seen order;
    s.on("news", [&](sb::event& e) { order.add("on:" + e.arg<std::string>(0).value_or("?")); })
        .on_any([&](sb::event& e) { order.add("any:" + e.name); })
        .prepend_any([&](sb::event& e) { order.add("prepended:" + e.name); })
        .on_any_outgoing([&](const std::string& name, const sb::arguments&) { order.add("out:" + name); });
    REQUIRE(connected(s));
    answer(s.emit_with_ack("emit", json::object{}, "news", "first")); // to the whole namespace, this socket too
    REQUIRE(eventually([&] { return order.size() >= 4; }));
    CHECK(order.get() == std::vector<std::string>{"out:emit", "prepended:news", "any:news", "on:first"});
    s.off("news").off_any_outgoing();
    answer(s.emit_with_ack("emit", json::object{}, "news", "second"));
    REQUIRE(eventually([&] { return order.size() >= 6; }));
    CHECK(order.get() ==
          std::vector<std::string>{"out:emit", "prepended:news", "any:news", "on:first", "prepended:news", "any:news"});
}

TEST_CASE("the server's ack request is answered from the handler") {
    sb::connection io(url(), websocket_only());
    auto s = io.socket();
    s.on("question", [](sb::event& e) {
        REQUIRE(e.ack);
        e.ack("forty-two", 42);
    });
    const auto reply = answer(s.emit_with_ack("ask", 2000));
    CHECK(json::serialize(reply[0]) == R"({"err":null,"reply":["forty-two",42]})");
}

TEST_CASE("an auth function is asked before every CONNECT") {
    sb::connection io(url(), websocket_only());
    std::atomic<int> asked = 0;
    sb::socket_options opts;
    opts.auth_fn = [&] { return json::object{{"n", ++asked}}; };
    auto s = io.socket("/", opts);
    const auto first = answer(s.emit_with_ack("handshake"));
    CHECK(json::serialize(first[0].as_object().at("auth")) == R"({"n":1})");
    s.disconnect();
    REQUIRE(eventually([&] { return !s.connected(); }));
    s.connect();
    const auto second = answer(s.emit_with_ack("handshake"));
    CHECK(json::serialize(second[0].as_object().at("auth")) == R"({"n":2})");
    CHECK(asked == 2);
}

TEST_CASE("namespaces share one connection; a refusal reaches only its socket") {
    sb::connection io(url(), websocket_only());
    auto main = io.socket("/");
    sb::socket_options secret;
    secret.auth = {{"token", "secret"}};
    auto admin = io.socket("/admin", secret);
    seen welcome;
    admin.on("welcome", [&](sb::event& e) { welcome.add(e.arg<std::string>(0).value_or("?")); });
    sb::socket_options wrong;
    wrong.auth = {{"token", "nope"}};
    auto refused = io.socket("/admin-refused-here", wrong); // not served: refused by the server
    auto admin_twice = io.socket("/admin");                 // the same socket
    CHECK(admin_twice == admin);
    REQUIRE(connected(main));
    REQUIRE(connected(admin));
    CHECK(eventually([&] { return welcome.size() == 1; }));
    CHECK(answer(admin.emit_with_ack("handshake"))[0].as_object().at("nsp") == "/admin");
    CHECK(answer(main.emit_with_ack("handshake"))[0].as_object().at("nsp") == "/");
    CHECK(io.transport() == "websocket");
    CHECK(eventually([&] { return !refused.active(); }));
    CHECK_FALSE(refused.connected());
    CHECK(main.connected());
}

TEST_CASE("acks in flight fail with errc::disconnected; emits buffered before connecting go out once") {
    sb::connection io(url(), websocket_only());
    sb::socket_options later;
    later.auto_connect = false;
    auto s = io.socket("/", later);
    // Before connecting: buffered (a volatile one is dropped).
    const std::string tag = "buffered-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
    s.volatile_().emit("record", tag + "-volatile");
    auto buffered = s.emit_with_ack("echo", tag);
    s.connect();
    CHECK(answer(std::move(buffered)).get<std::string>(0) == tag);
    const auto records = answer(s.emit_with_ack("records"));
    const auto text = json::serialize(records[0]);
    CHECK(text.find(tag + "-volatile") == std::string::npos);
    // Sent, unanswered, then disconnected.
    std::promise<std::error_code> outcome;
    s.emit("no-such-handler", [&](std::error_code ec, sb::arguments) { outcome.set_value(ec); });
    std::this_thread::sleep_for(50ms);
    s.disconnect();
    auto f = outcome.get_future();
    REQUIRE(f.wait_for(5s) == std::future_status::ready);
    CHECK(f.get() == sb::errc::disconnected);
    CHECK_FALSE(s.active());
}

TEST_CASE("a throwing handler is reported and the client keeps working") {
    sb::connection io(url(), websocket_only());
    auto s = io.socket();
    std::atomic<int> after = 0;
    s.on("news", [](sb::event&) { throw std::runtime_error("handler bug"); });
    s.on("news", [&](sb::event&) { ++after; }); // the next handler still runs
    REQUIRE(connected(s));
    answer(s.emit_with_ack("emit", json::object{}, "news", 1));
    CHECK(eventually([&] { return after == 1; }));
    CHECK(answer(s.emit_with_ack("echo", "alive")).get<std::string>(0) == "alive");
}

TEST_CASE("destroying the connection: disconnect handlers run, pending acks fail with errc::closed") {
    std::promise<std::error_code> outcome;
    seen reasons;
    {
        sb::connection io(url(), websocket_only());
        auto s = io.socket();
        s.on_disconnect([&](std::string_view reason) { reasons.add(std::string(reason)); });
        REQUIRE(connected(s));
        s.emit("no-such-handler", [&](std::error_code ec, sb::arguments) { outcome.set_value(ec); });
    }
    auto f = outcome.get_future();
    REQUIRE(f.wait_for(0s) == std::future_status::ready);
    const auto ec = f.get();
    CHECK((ec == sb::errc::closed || ec == sb::errc::disconnected));
    CHECK(reasons.get() == std::vector<std::string>{"io client disconnect"});
}

TEST_CASE("one event loop, many connections, emits from several threads at once") {
    sb::event_loop loop(2);
    constexpr int connections = 8;
    constexpr int per_thread = 50;
    std::vector<std::unique_ptr<sb::connection>> ios;
    std::vector<sb::socket> sockets;
    for (int i = 0; i < connections; ++i) {
        sb::connection_options o; // polling first, then the upgrade
        o.reconnection = false;
        ios.push_back(std::make_unique<sb::connection>(url(), o, &loop));
        sockets.push_back(ios.back()->socket());
    }
    std::atomic<int> answered = 0;
    std::atomic<int> wrong = 0;
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t)
        threads.emplace_back([&, t] {
            for (int n = 0; n < per_thread; ++n)
                for (int c = 0; c < connections; ++c)
                    sockets[c].emit("echo", t, n, [&, t, n](std::error_code ec, sb::arguments reply) {
                        if (ec || reply.get<int>(0) != t || reply.get<int>(1) != n) ++wrong;
                        ++answered;
                    });
        });
    for (auto& t : threads) t.join();
    CHECK(eventually([&] { return answered == 2 * per_thread * connections; }, 20s));
    CHECK(wrong == 0);
    ios.clear(); // before the loop
}
