// The cluster adapter's Redis connection against a real redis-server (Debian's, started here on a
// loopback port): commands, binary-safe pub/sub, and a Redis restart with reconnection.
#include "adapter/redis/connection.hpp"
#include "adapter/redis/subscriber.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <fcntl.h>
#include <random>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>

using namespace switchboard::server;
using namespace std::chrono_literals;

extern char** environ;

namespace {

/// redis-server on 127.0.0.1 and a free port, stopped (and waited for) when the object goes.
class redis_process {
public:
    redis_process() {
        std::mt19937 rng(std::random_device{}());
        for (int attempt = 0; attempt < 10 && pid_ <= 0; ++attempt) {
            port_ = 20000 + static_cast<int>(rng() % 12000);
            start();
        }
        REQUIRE(pid_ > 0);
    }
    ~redis_process() { stop(); }
    redis_process(const redis_process&) = delete;
    redis_process& operator=(const redis_process&) = delete;

    int port() const { return port_; }

    /// Starts it (again) on the same port; waits until it accepts connections.
    void start() {
        const std::string port = std::to_string(port_);
        const char* argv[] = {"redis-server", "--port", port.c_str(), "--bind",  "127.0.0.1", "--save", "",
                              "--appendonly", "no",     "--loglevel", "warning", nullptr};
        pid_t pid = 0;
        posix_spawn_file_actions_t quiet; // its banner and warnings are not the test's output
        posix_spawn_file_actions_init(&quiet);
        posix_spawn_file_actions_addopen(&quiet, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&quiet, 2, "/dev/null", O_WRONLY, 0);
        const int spawned = posix_spawnp(&pid, "redis-server", &quiet, nullptr, const_cast<char**>(argv), environ);
        posix_spawn_file_actions_destroy(&quiet);
        if (spawned != 0) return;
        for (int i = 0; i < 100; ++i) {                        // up to 5 s
            if (waitpid(pid, nullptr, WNOHANG) == pid) return; // it exited (the port was taken)
            boost::asio::io_context ioc;
            tcp::socket probe(ioc);
            beast::error_code ec;
            probe.connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port_)}, ec);
            if (!ec) {
                pid_ = pid;
                return;
            }
            std::this_thread::sleep_for(50ms);
        }
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
    }
    void stop() {
        if (pid_ <= 0) return;
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
        pid_ = 0;
    }

private:
    int port_ = 0;
    pid_t pid_ = 0;
};

/// Runs the loop until `done()` or the deadline; true if done.
template <class Done>
bool run_until(net::io_context& ioc, Done done, std::chrono::milliseconds limit = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
        ioc.restart();
        ioc.run_for(10ms);
    }
    return done();
}

struct pubsub_pair {
    net::io_context ioc;
    std::shared_ptr<redis::connection> commands;
    std::shared_ptr<redis::subscriber> subscriber;
    std::vector<redis::reply> pushes;
    int subscriber_connects = 0, losses = 0;

    explicit pubsub_pair(int port) {
        const redis::address at{"127.0.0.1", port};
        commands = std::make_shared<redis::connection>(net::make_strand(ioc), at, redis::connection::events{});
        redis::subscriber::events on;
        on.connected = [this] {
            ++subscriber_connects;
            subscriber->send({"SUBSCRIBE", "news"});
            subscriber->send({"PSUBSCRIBE", "room#*"});
            subscriber->send({"SSUBSCRIBE", "shard#1#"});
        };
        on.lost = [this](std::string_view) { ++losses; };
        on.push = [this](const redis::reply& r) { pushes.push_back(r); };
        subscriber = std::make_shared<redis::subscriber>(net::make_strand(ioc), at, on);
        commands->start();
        subscriber->start();
    }
    ~pubsub_pair() {
        commands->close();
        subscriber->close();
        ioc.restart();
        ioc.run_for(100ms); // the cancelled waits complete and release the connections
    }
    /// The messages received so far, as "channel=data" (pattern messages as "pattern>channel=data").
    std::vector<std::string> messages() const {
        std::vector<std::string> out;
        for (const auto& r : pushes) {
            if (r.elements.size() == 3 && r.elements[0].text == "message")
                out.push_back(r.elements[1].text + "=" + r.elements[2].text);
            if (r.elements.size() == 3 && r.elements[0].text == "smessage")
                out.push_back("sharded:" + r.elements[1].text + "=" + r.elements[2].text);
            if (r.elements.size() == 4 && r.elements[0].text == "pmessage")
                out.push_back(r.elements[1].text + ">" + r.elements[2].text + "=" + r.elements[3].text);
        }
        return out;
    }
    bool subscribed() const {
        int n = 0;
        for (const auto& r : pushes)
            if (!r.elements.empty() && (r.elements[0].text == "subscribe" || r.elements[0].text == "psubscribe" ||
                                        r.elements[0].text == "ssubscribe"))
                ++n;
        return n >= 3 * subscriber_connects && subscriber_connects > 0;
    }
    void publish(std::string_view channel, std::string_view data, std::string_view command = "PUBLISH") {
        std::optional<redis::reply> answer;
        REQUIRE(commands->command({command, channel, data}, [&](std::optional<redis::reply> r) { answer = r; }));
        REQUIRE(run_until(ioc, [&] { return answer.has_value(); }));
    }
};

} // namespace

TEST_CASE("redis URLs", "[redis]") {
    auto a = redis::parse_url("redis://10.0.0.7:6380/0");
    REQUIRE(a);
    CHECK(a->host == "10.0.0.7");
    CHECK(a->port == 6380);
    CHECK(redis::parse_url("redis://localhost")->port == 6379);
    CHECK(redis::parse_url("redis://[::1]:7000")->host == "::1");
    CHECK_FALSE(redis::parse_url("http://localhost"));
    CHECK_FALSE(redis::parse_url("redis://h:99999"));
    CHECK_FALSE(redis::parse_url("redis://user:secret@h:6379")); // AUTH is not supported yet: said, not ignored
}

TEST_CASE("publish and subscribe (classic and sharded), binary-safe: NUMSUB and SHARDNUMSUB count subscribers",
          "[redis]") {
    redis_process server;
    pubsub_pair p(server.port());
    REQUIRE(run_until(p.ioc, [&] { return p.commands->connected() && p.subscribed(); }));

    const std::string binary("a\0b\xff", 4);
    p.publish("news", binary);
    p.publish("room#1#", "r");
    p.publish("shard#1#", binary, "SPUBLISH"); // sharded pub/sub (Redis 7)
    REQUIRE(run_until(p.ioc, [&] { return p.messages().size() == 3; }));
    CHECK(p.messages()[0] == "news=" + binary);
    CHECK(p.messages()[1] == "room#*>room#1#=r");
    CHECK(p.messages()[2] == "sharded:shard#1#=" + binary);

    std::optional<redis::reply> numsub;
    REQUIRE(p.commands->command({"PUBSUB", "NUMSUB", "news"}, [&](auto r) { numsub = r; }));
    REQUIRE(run_until(p.ioc, [&] { return numsub.has_value(); }));
    REQUIRE(numsub->type == redis::reply::kind::array);
    REQUIRE(numsub->elements.size() == 2);
    CHECK(numsub->elements[1].integer == 1);

    std::optional<redis::reply> shardnumsub;
    REQUIRE(p.commands->command({"PUBSUB", "SHARDNUMSUB", "shard#1#"}, [&](auto r) { shardnumsub = r; }));
    REQUIRE(run_until(p.ioc, [&] { return shardnumsub.has_value(); }));
    REQUIRE(shardnumsub->elements.size() == 2);
    CHECK(shardnumsub->elements[1].integer == 1);
}

TEST_CASE("Redis restarted: commands refused while it is away, then reconnected and resubscribed", "[redis]") {
    redis_process server;
    pubsub_pair p(server.port());
    REQUIRE(run_until(p.ioc, [&] { return p.commands->connected() && p.subscribed(); }));

    server.stop();
    REQUIRE(run_until(p.ioc, [&] { return !p.commands->connected() && p.losses > 0; }));
    CHECK_FALSE(p.commands->command({"PUBLISH", "news", "lost"})); // said, not queued without bound

    server.start();
    REQUIRE(run_until(p.ioc, [&] { return p.commands->connected() && p.subscriber_connects == 2 && p.subscribed(); }));
    p.publish("news", "back");
    REQUIRE(run_until(p.ioc, [&] { return !p.messages().empty(); }));
    CHECK(p.messages() == std::vector<std::string>{"news=back"});
}
