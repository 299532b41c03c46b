// The native load generator: real Socket.IO v5 clients over WebSocket (Beast), speaking through the
// native client's protocol core (the shared client::manager), answering pings. Drives any Socket.IO server with the
// bench handlers (examples/bench, bench/reference/server.mjs).
//
//   loadgen --url http://127.0.0.1:3000 --scenario echo --clients 50 --inflight 16 --seconds 5 [--pid PID]
//   loadgen --url http://127.0.0.1:3000 --scenario fanout --clients 1000 --rate 200 --seconds 5 [--pid PID]
//
// Scenario `echo`: every client keeps `inflight` ack'd `echo` events outstanding for `seconds`; reports
// round trips/s, latency p50/p99/p99.9, and (with --pid) the server's CPU time per round trip from
// /proc. Scenario `fanout`: `clients` receivers join one room, one more client broadcasts `rate`
// messages/s to it; reports deliveries/s, end-to-end latency, lost deliveries and server CPU per
// delivery. Scenario `churn`: `clients` lanes each connect, do one ack'd echo and disconnect, over and
// over for `seconds` (after a one-second warm-up); reports sessions/s and the server's RSS fresh, after
// the warm-up and after the churn (each settled for a second). Scenario
// `idle`: `clients` connections (source addresses spread over 127.0.0.x past 20,000, so the ephemeral
// ports of one address never run out) held for `seconds` answering pings; reports the connect rate,
// the server's RSS per connection and its CPU use at rest. `echo --rate R` paces R round trips/s in
// all (open loop) instead of keeping `inflight` outstanding, for latency at a fixed load. A cluster
// (fanout only): `--also-url URL` (repeatable) adds nodes; the receivers are spread over the nodes in
// turn and the sender is on the first; `--also-pid PID` adds a node's CPU time to the server's. Output:
// one JSON line.
#include <switchboard/client/manager.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/container/flat_map.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <deque>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

struct settings {
    std::string host = "127.0.0.1";
    std::string port = "3000";
    std::string scenario = "echo";
    int clients = 50;
    int inflight = 16;
    int rate = 0;   // fanout: broadcasts per second (default 200); echo: round trips per second (paced)
    int window = 0; // fanout flat out: at most this many broadcasts not yet delivered everywhere
    double seconds = 5;
    int pid = 0;
    std::vector<std::pair<std::string, std::string>> other_nodes; // fanout over a cluster: host, port
    std::vector<int> other_pids;
    std::string label = "server";

    bool paced_echo() const { return scenario == "echo" && rate > 0; }
};

struct results {
    std::vector<double> latencies_us;
    std::uint64_t round_trips = 0;    // echo: acks; fanout: deliveries
    std::uint64_t sent = 0;           // fanout: broadcasts sent while measuring
    std::uint64_t pings = 0;          // pings answered
    std::uint64_t all_deliveries = 0; // fanout: every delivery, warm-up included
    int connected = 0;
    int failed = 0;
    int dropped = 0; // connections the server closed (or lost) after the Socket.IO connect
};

/// One Socket.IO client: the native client's protocol core (the sans-I/O client::manager: handshake,
/// CONNECT to "/", pongs, packets and acks) over one Beast WebSocket of its own, then ack'd echoes
/// while `running`. The generator keeps its own sockets (it binds source addresses for 19,000
/// connections and runs thousands on one thread) and no timer: a bench needs no reconnection.
class client : public std::enable_shared_from_this<client> {
public:
    client(net::io_context& ioc, const settings& s, results& r, const bool& running, const bool& measuring)
        : ws_(ioc), settings_(s), results_(r), running_(running), measuring_(measuring), manager_(manager_options()) {
        manager_.connect_socket(now(), "/"); // asks for the transport, which start() opens
        manager_.take_effects();
    }

    /// Connects from `source` (an address on the loopback; unspecified: the kernel's choice).
    void start(const tcp::endpoint& server, const net::ip::address& source = {}) {
        auto& socket = beast::get_lowest_layer(ws_).socket();
        if (!source.is_unspecified()) {
            beast::error_code ec;
            socket.open(tcp::v4(), ec);
#ifdef IP_BIND_ADDRESS_NO_PORT
            // Pick the port at connect(), per (source, destination): not one unique port per bind().
            const int one = 1;
            ::setsockopt(socket.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
#endif
            if (!ec) socket.bind(tcp::endpoint(source, 0), ec);
            if (ec) return fail();
        }
        socket.async_connect(server, [self = shared_from_this()](beast::error_code ec) {
            if (ec) return self->fail();
            beast::get_lowest_layer(self->ws_).socket().set_option(tcp::no_delay(true));
            self->ws_.async_handshake(self->settings_.host + ":" + self->settings_.port,
                                      "/socket.io/?EIO=4&transport=websocket", [self](beast::error_code ec) {
                                          if (ec) return self->fail();
                                          self->read();
                                      });
        });
    }

    /// fanout: one broadcast to the room, stamped with the send time.
    void broadcast(bool measured) {
        const auto now_ns =
            std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now().time_since_epoch()).count();
        emit("[\"broadcast\",{\"room\":\"fan\",\"msg\":{\"t\":" + std::to_string(now_ns) +
                 ",\"m\":" + (measured ? "1" : "0") + "}}]",
             false);
    }

    std::function<void()> on_done;      // churn: the session did its one exchange
    std::function<void()> on_connected; // the Socket.IO connect arrived

    /// echo --rate: one ack'd echo now.
    void emit_paced() { emit_echo(clock_type::now()); }

    void stop() {
        beast::error_code ignored;
        beast::get_lowest_layer(ws_).socket().close(ignored);
    }

private:
    static switchboard::client::options manager_options() {
        switchboard::client::options o;
        o.reconnection = false;
        return o;
    }
    static switchboard::client::duration now() {
        return std::chrono::duration_cast<switchboard::client::duration>(clock_type::now().time_since_epoch());
    }
    /// The manager's clock: the last message's arrival (the generator arms no timer from it).
    switchboard::client::duration manager_time() const {
        return std::chrono::duration_cast<switchboard::client::duration>(received_at_.time_since_epoch());
    }

    void fail() {
        if (!failed_) ++results_.failed;
        failed_ = true;
    }

    void read() {
        ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) {
                if (self->sio_connected_ && self->running_) ++self->results_.dropped;
                return;
            }
            const auto data = self->buffer_.cdata();
            const std::string_view frame(static_cast<const char*>(data.data()), data.size());
            // One clock reading per message: the manager's time (milliseconds) and an ack's arrival.
            self->received_at_ = clock_type::now();
            if (self->ws_.got_text()) {
                if (frame == "2") ++self->results_.pings; // the manager answers it
                self->manager_.on_text(self->manager_time(), frame);
            } else {
                self->manager_.on_binary(self->manager_time(), switchboard::copy_shared_bytes(frame));
            }
            self->buffer_.consume(self->buffer_.size());
            self->run();
            self->read();
        });
    }

    /// Carries out the manager's effects.
    void run() {
        // One batch buffer per client, swapped with the manager's: no allocation per batch. Handling a
        // batch may produce more (an ack's answer emits the next echo): the loop takes those next.
        if (in_run_) return;
        in_run_ = true;
        while (manager_.take_effects(batch_))
            for (auto& effect : batch_) std::visit([this](auto& e) { on(e); }, effect);
        in_run_ = false;
    }
    void on(switchboard::client::send_frames& e) {
        for (auto& f : e.frames) queue_.push_back(std::move(f.bytes));
        if (!writing_) write_next();
    }
    void on(switchboard::client::socket_connected&) {
        ++results_.connected;
        sio_connected_ = true;
        if (on_connected) on_connected();
        if (settings_.scenario == "idle" || settings_.paced_echo()) return; // idle, or echo paced from outside
        if (settings_.scenario == "fanout") return emit("[\"join\",\"fan\"]", false);
        if (settings_.scenario == "churn") return emit_echo(clock_type::now());
        for (int i = 0; i < settings_.inflight; ++i) emit_echo(clock_type::now());
    }
    void on(switchboard::client::event_received& e) {
        // fanout: ["msg",{"t":<ns sent>,"m":<measured>}]
        ++results_.all_deliveries;
        const auto& data = e.packet.data;
        const auto t = data.find("\"t\":");
        if (t == std::string::npos || data.find("\"m\":1") == std::string::npos) return;
        const auto sent_ns = std::strtoll(data.c_str() + t + 4, nullptr, 10);
        const auto now_ns =
            std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now().time_since_epoch()).count();
        results_.latencies_us.push_back(static_cast<double>(now_ns - sent_ns) / 1000.0);
        ++results_.round_trips;
    }
    void on(switchboard::client::ack_received& e) {
        const auto it = sent_at_.find(e.id);
        if (it == sent_at_.end()) return;
        if (measuring_) {
            results_.latencies_us.push_back(
                std::chrono::duration<double, std::micro>(received_at_ - it->second).count());
            ++results_.round_trips;
        }
        sent_at_.erase(it);                  // the oldest, nearly always: acks come back in order
        if (settings_.scenario == "churn") { // counted above
            stop();
            if (on_done) on_done();
            return;
        }
        // The next echo goes out now, while handling this ack: its send time is the ack's arrival (a
        // clock reading saved; the latency counted includes this handling, never less).
        if (running_ && !settings_.paced_echo()) emit_echo(received_at_);
    }
    void on(switchboard::client::socket_disconnected&) { stop(); }
    void on(switchboard::client::connect_failed&) { fail(); }
    template <class Other>
    void on(Other&) {} // open/close_transport (the socket is ours), reconnection, timeouts: not in a bench

    /// Emits `data_json`; with `want_ack`, its round trip is timed from `sent_at`.
    void emit(std::string_view data_json, bool want_ack, clock_type::time_point sent_at = {}) {
        const auto id = manager_.emit(manager_time(), root_nsp_, data_json, {}, want_ack);
        if (id) sent_at_.emplace_hint(sent_at_.end(), *id, sent_at);
        run();
    }
    void emit_echo(clock_type::time_point now) {
        // ["echo",<n>,"payload"], written into a buffer on the stack: the manager copies it into the frame.
        char text[64] = "[\"echo\",";
        constexpr std::size_t prefix = sizeof "[\"echo\"," - 1;
        char* end = std::to_chars(text + prefix, text + sizeof text, next_echo_++).ptr;
        constexpr std::string_view suffix = ",\"payload\"]";
        end = std::copy(suffix.begin(), suffix.end(), end);
        emit(std::string_view(text, static_cast<std::size_t>(end - text)), true, now);
    }

    // One writer: frames wait in `queue_` while a write is in flight.
    void write_next() {
        if (queue_.empty()) return;
        writing_ = true;
        ws_.text(true);
        ws_.async_write(net::buffer(*queue_.front()), [self = shared_from_this()](beast::error_code ec, std::size_t) {
            self->writing_ = false;
            self->queue_.pop_front();
            if (ec) return self->fail();
            self->write_next();
        });
    }

    websocket::stream<beast::tcp_stream> ws_;
    beast::flat_buffer buffer_;
    const settings& settings_;
    results& results_;
    const bool& running_;
    const bool& measuring_;
    switchboard::client::manager manager_;
    const std::string root_nsp_ = "/";
    clock_type::time_point received_at_ = clock_type::now();
    std::vector<switchboard::client::effect> batch_;
    bool in_run_ = false;
    // Ack ids are handed out in order and come back (nearly) in order: a flat map appends and erases at
    // its front, without a node per emit.
    boost::container::flat_map<std::uint64_t, clock_type::time_point> sent_at_;
    std::uint64_t next_echo_ = 0;
    std::deque<switchboard::shared_bytes> queue_;
    bool writing_ = false;
    bool failed_ = false;
    bool sio_connected_ = false;
};

/// utime + stime of a process, in microseconds (from /proc/PID/stat).
double cpu_us(int pid) {
    if (pid <= 0) return 0;
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(in, line);
    const auto close = line.rfind(')');                                  // the command name may hold spaces
    if (close == std::string::npos || close + 2 > line.size()) return 0; // no such process (any more)
    std::istringstream fields(line.substr(close + 2));
    std::string skip;
    for (int i = 3; i < 14; ++i) fields >> skip; // fields 3..13
    double utime = 0, stime = 0;
    fields >> utime >> stime;
    return (utime + stime) * 1e6 / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double percentile(std::vector<double>& v, double p) {
    if (v.empty()) return 0;
    const auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k];
}

void report_fanout_failure(const results& r, const settings& s) {
    std::fprintf(stderr, "loadgen: only %d of %d clients connected\n", r.connected, s.clients + 1);
    std::exit(1);
}

bool parse(int argc, char** argv, settings& s) {
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string key = argv[i], value = argv[i + 1];
        if (key == "--url") {
            auto rest = value.substr(value.find("//") + 2);
            const auto colon = rest.find(':');
            s.host = rest.substr(0, colon);
            s.port = colon == std::string::npos ? "80" : rest.substr(colon + 1, rest.find('/', colon) - colon - 1);
        } else if (key == "--scenario") {
            s.scenario = value;
        } else if (key == "--clients") {
            s.clients = std::stoi(value);
        } else if (key == "--inflight") {
            s.inflight = std::stoi(value);
        } else if (key == "--seconds") {
            s.seconds = std::stod(value);
        } else if (key == "--pid") {
            s.pid = std::stoi(value);
        } else if (key == "--also-url") {
            auto rest = value.substr(value.find("//") + 2);
            const auto colon = rest.find(':');
            s.other_nodes.emplace_back(
                rest.substr(0, colon),
                colon == std::string::npos ? "80" : rest.substr(colon + 1, rest.find('/', colon) - colon - 1));
        } else if (key == "--also-pid") {
            s.other_pids.push_back(std::stoi(value));
        } else if (key == "--rate") {
            s.rate = std::stoi(value);
        } else if (key == "--window") {
            s.window = std::stoi(value);
        } else if (key == "--label") {
            s.label = value;
        } else {
            std::cerr << "loadgen: unknown flag " << key << '\n';
            return false;
        }
    }
    if (s.scenario != "echo" && s.scenario != "fanout" && s.scenario != "churn" && s.scenario != "idle") {
        std::cerr << "loadgen: scenarios: echo, fanout, churn, idle\n";
        return false;
    }
    if (s.scenario == "fanout" && s.rate == 0) s.rate = 200;
    return true;
}

} // namespace

/// The server's address (the first the resolver gives).
tcp::endpoint server_endpoint(net::io_context& ioc, const settings& s) {
    tcp::resolver resolver(ioc);
    return *resolver.resolve(s.host, s.port).begin();
}

/// CPU time of the server, summed over the nodes of a cluster.
double servers_cpu_us(const settings& s) {
    double total = cpu_us(s.pid);
    for (const int pid : s.other_pids) total += cpu_us(pid);
    return total;
}

/// A field of /proc/PID/status in KiB: "VmRSS:" (resident memory) or "RssAnon:" (its anonymous part:
/// the heap and stacks, without the program's code and files paged in).
long status_kib(int pid, std::string_view field) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);)
        if (line.rfind(field, 0) == 0) return std::strtol(line.c_str() + field.size(), nullptr, 10);
    return 0;
}
long rss_kib(int pid) { return status_kib(pid, "VmRSS:"); }

/// `lanes` lanes of connect, one ack'd echo, disconnect, for `seconds`; `r` counts the sessions.
/// Returns the elapsed time.
double churn_for(settings s, int lanes, double seconds, results& r) {
    s.scenario = "churn"; // also idle's warm-up
    net::io_context ioc;
    const tcp::endpoint server = server_endpoint(ioc, s);
    bool running = true;
    bool measuring = true;
    const auto start = clock_type::now();
    const auto until = start + std::chrono::microseconds(static_cast<std::int64_t>(seconds * 1e6));
    std::function<void()> lane = [&] {
        if (clock_type::now() >= until) return;
        auto c = std::make_shared<client>(ioc, s, r, running, measuring);
        c->on_done = [&] { net::post(ioc, lane); };
        c->start(server);
    };
    for (int i = 0; i < lanes; ++i) lane();
    ioc.run();
    const double elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
    // Let the server see every close and free what it can before its memory is read again.
    std::this_thread::sleep_for(std::chrono::seconds(1));
    return elapsed;
}

/// churn: `clients` lanes of connect, one ack'd echo, disconnect, for `seconds`.
int run_churn(const settings& s) {
    const long rss_fresh = s.pid > 0 ? rss_kib(s.pid) : 0;
    // A warm-up first: the first sessions page in code and size the server's pools once; what the
    // measured churn must give back is what it took after that.
    results warm;
    churn_for(s, s.clients, std::min(1.0, s.seconds), warm);
    const long rss_before = s.pid > 0 ? rss_kib(s.pid) : 0;
    results r;
    const double elapsed = churn_for(s, s.clients, s.seconds, r);
    const long rss_after = s.pid > 0 ? rss_kib(s.pid) : 0;
    std::printf("{\"scenario\":\"churn\",\"server\":\"%s\",\"lanes\":%d,\"seconds\":%.2f,\"sessions\":%llu,"
                "\"failed\":%d,\"sessions_per_s\":%.0f,\"rss_fresh_kib\":%ld,\"rss_before_kib\":%ld,"
                "\"rss_after_kib\":%ld}\n",
                s.label.c_str(), s.clients, elapsed, static_cast<unsigned long long>(r.round_trips),
                r.failed + warm.failed, static_cast<double>(r.round_trips) / elapsed, rss_fresh, rss_before, rss_after);
    return r.failed + warm.failed == 0 ? 0 : 1;
}

/// fanout: `clients` receivers and one sender; paced broadcasts, then the count of what arrived.
int run_fanout(const settings& s) {
    net::io_context ioc;
    std::vector<tcp::endpoint> nodes{server_endpoint(ioc, s)};
    for (const auto& [host, port] : s.other_nodes) {
        tcp::resolver resolver(ioc);
        nodes.push_back(*resolver.resolve(host, port).begin());
    }
    results r;
    bool running = true;
    bool measuring = false;
    std::vector<std::shared_ptr<client>> clients;
    for (int i = 0; i <= s.clients; ++i) { // the last one sends, from the first node
        clients.push_back(std::make_shared<client>(ioc, s, r, running, measuring));
        clients.back()->start(i == s.clients ? nodes.front() : nodes[static_cast<std::size_t>(i) % nodes.size()]);
    }
    auto& sender = *clients.back();

    net::steady_timer timer(ioc);
    const auto tick = std::chrono::milliseconds(5);
    double due = 0; // broadcasts owed by the pacing
    std::uint64_t sent_all = 0;
    double cpu_start = 0;
    double cpu_measured = 0;
    auto phase_start = clock_type::now();
    enum class phase { connecting, settling, warming, measuring, draining } state = phase::connecting;
    std::function<void()> step = [&] {
        const auto now = clock_type::now();
        const double in_phase = std::chrono::duration<double>(now - phase_start).count();
        auto next = [&](phase p) {
            state = p;
            phase_start = now;
        };
        switch (state) {
        case phase::connecting:
            if (r.connected == s.clients + 1) next(phase::settling);
            if (in_phase > 30) return report_fanout_failure(r, s);
            break;
        case phase::settling: // the joins reach the server
            if (in_phase >= 0.3) next(phase::warming);
            break;
        case phase::warming:
        case phase::measuring:
            if (s.window > 0) { // flat out: keep `window` broadcasts on their way
                const auto receivers = static_cast<std::uint64_t>(s.clients);
                while ((sent_all + 1) * receivers - r.all_deliveries <=
                       static_cast<std::uint64_t>(s.window) * receivers) {
                    sender.broadcast(state == phase::measuring);
                    ++sent_all;
                    if (state == phase::measuring) ++r.sent;
                }
            } else {
                due += s.rate * std::chrono::duration<double>(tick).count();
                for (; due >= 1; due -= 1) {
                    sender.broadcast(state == phase::measuring);
                    ++sent_all;
                    if (state == phase::measuring) ++r.sent;
                }
            }
            if (state == phase::warming && in_phase >= 0.5) {
                next(phase::measuring);
                cpu_start = servers_cpu_us(s);
            } else if (state == phase::measuring && in_phase >= s.seconds) {
                cpu_measured = servers_cpu_us(s) - cpu_start;
                next(phase::draining);
            }
            break;
        case phase::draining:
            if (in_phase >= 3.0 || r.all_deliveries >= sent_all * static_cast<std::uint64_t>(s.clients)) {
                const auto expected = r.sent * static_cast<std::uint64_t>(s.clients);
                std::printf(
                    "{\"scenario\":\"fanout\",\"server\":\"%s\",\"nodes\":%zu,\"receivers\":%d,\"rate\":%d,"
                    "\"window\":%d,\"seconds\":%.2f,"
                    "\"connected\":%d,\"failed\":%d,\"sent\":%llu,\"deliveries\":%llu,\"lost\":%lld,"
                    "\"deliveries_per_s\":%.0f,\"p50_us\":%.0f,\"p99_us\":%.0f,\"server_cpu_us_per_op\":%.2f}\n",
                    s.label.c_str(), nodes.size(), s.clients, s.window > 0 ? 0 : s.rate, s.window, s.seconds,
                    r.connected, r.failed, static_cast<unsigned long long>(r.sent),
                    static_cast<unsigned long long>(r.round_trips),
                    static_cast<long long>(expected) - static_cast<long long>(r.round_trips),
                    static_cast<double>(r.round_trips) / s.seconds, percentile(r.latencies_us, 0.5),
                    percentile(r.latencies_us, 0.99),
                    s.pid > 0 && r.round_trips ? cpu_measured / static_cast<double>(r.round_trips) : 0.0);
                running = false;
                for (auto& c : clients) c->stop();
                return;
            }
            break;
        }
        timer.expires_after(tick);
        timer.async_wait([&](beast::error_code ec) {
            if (!ec) step();
        });
    };
    step();
    ioc.run();
    return r.connected == s.clients + 1 && r.failed == 0 ? 0 : 1;
}

/// The soft limit on open files raised to the hard one (each connection is a descriptor).
void raise_fd_limit() {
    rlimit fds{};
    if (::getrlimit(RLIMIT_NOFILE, &fds) == 0 && fds.rlim_cur < fds.rlim_max) {
        fds.rlim_cur = fds.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &fds);
    }
}

/// idle: `clients` connections opened (a bounded number at a time), held for `seconds`, then closed; the
/// server's RSS is read before, once connected, and 3 s after the last one left.
int run_idle(const settings& s) {
    raise_fd_limit();
    net::io_context ioc;
    const tcp::endpoint server = server_endpoint(ioc, s);
    results r;
    bool running = true;
    bool measuring = false;
    // One source address has ~28,000 ephemeral ports towards one server port: spread past 20,000.
    constexpr int per_source = 20000;
    const int sources = (s.clients + per_source - 1) / per_source;
    constexpr int connecting_at_once = 256; // within the server's listen backlog
    std::vector<std::shared_ptr<client>> clients;
    clients.reserve(static_cast<std::size_t>(s.clients));

    // A warm-up first (as churn's): the first sessions page in the server's code and size its pools
    // once, which is not memory per connection. What is measured is what the crowd adds after that.
    const long rss_fresh = rss_kib(s.pid);
    results warm;
    churn_for(s, 64, 1.0, warm);
    const long rss_before = rss_kib(s.pid);
    const long anon_before = status_kib(s.pid, "RssAnon:");
    long anon_connected = 0;
    long rss_held = 0;
    const auto start = clock_type::now();
    double connect_s = 0, cpu_start = 0, cpu_us_at_rest = 0;
    long rss_connected = 0;
    std::uint64_t pings_before_hold = 0;
    auto phase_start = start;
    enum class phase { connecting, settling, holding, leaving } state = phase::connecting;
    double hold_s = 0;
    net::steady_timer timer(ioc);
    std::function<void()> step = [&] {
        const auto now = clock_type::now();
        const double in_phase = std::chrono::duration<double>(now - phase_start).count();
        switch (state) {
        case phase::connecting: {
            const int launched = static_cast<int>(clients.size());
            for (int i = launched; i < s.clients && i - r.connected - r.failed < connecting_at_once; ++i) {
                const auto source =
                    sources > 1
                        ? net::ip::address(net::ip::address_v4(0x7f000001u + static_cast<unsigned>(i % sources)))
                        : net::ip::address();
                clients.push_back(std::make_shared<client>(ioc, s, r, running, measuring));
                clients.back()->start(server, source);
            }
            if (r.connected + r.failed == s.clients) {
                connect_s = std::chrono::duration<double>(now - start).count();
                state = phase::settling;
                phase_start = now;
            } else if (in_phase > 300) {
                std::fprintf(stderr, "loadgen: %d of %d connected after 300 s\n", r.connected, s.clients);
                std::exit(1);
            }
            break;
        }
        case phase::settling: // the server's allocations of the last connections settle
            if (in_phase >= 2) {
                rss_connected = rss_kib(s.pid);
                anon_connected = status_kib(s.pid, "RssAnon:");
                cpu_start = cpu_us(s.pid);
                pings_before_hold = r.pings;
                state = phase::holding;
                phase_start = now;
            }
            break;
        case phase::holding:
            if (in_phase >= s.seconds) {
                cpu_us_at_rest = cpu_us(s.pid) - cpu_start;
                rss_held = rss_kib(s.pid); // after the hold's heartbeats: the buffers of the handshake given back
                hold_s = in_phase;
                running = false;
                for (auto& c : clients) c->stop(); // every client leaves; the server's memory should follow
                state = phase::leaving;
                phase_start = now;
            }
            break;
        case phase::leaving:
            if (in_phase >= 3) {
                const long rss_left = rss_kib(s.pid);
                const auto per_conn = [&](long before, long after) {
                    return r.connected ? static_cast<double>(after - before) * 1024.0 / r.connected : 0.0;
                };
                std::printf("{\"scenario\":\"idle\",\"server\":\"%s\",\"clients\":%d,\"source_addresses\":%d,"
                            "\"connected\":%d,\"failed\":%d,\"dropped\":%d,\"connect_s\":%.2f,\"connects_per_s\":%.0f,"
                            "\"rss_fresh_kib\":%ld,\"rss_before_kib\":%ld,\"rss_connected_kib\":%ld,"
                            "\"rss_per_conn_bytes\":%.0f,\"anon_per_conn_bytes\":%.0f,\"rss_held_kib\":%ld,"
                            "\"held_per_conn_bytes\":%.0f,"
                            "\"hold_s\":%.1f,\"pings_per_conn\":%.2f,\"server_cpu_pct_at_rest\":%.2f,"
                            "\"rss_left_kib\":%ld}\n",
                            s.label.c_str(), s.clients, sources, r.connected, r.failed + warm.failed, r.dropped,
                            connect_s, connect_s > 0 ? r.connected / connect_s : 0.0, rss_fresh, rss_before,
                            rss_connected, per_conn(rss_before, rss_connected), per_conn(anon_before, anon_connected),
                            rss_held, per_conn(rss_before, rss_held), hold_s,
                            r.connected ? static_cast<double>(r.pings - pings_before_hold) / r.connected : 0.0,
                            cpu_us_at_rest / (hold_s * 1e6) * 100.0, rss_left);
                return;
            }
            break;
        }
        timer.expires_after(std::chrono::milliseconds(5));
        timer.async_wait([&](beast::error_code ec) {
            if (!ec) step();
        });
    };
    step();
    ioc.run();
    return r.connected == s.clients && r.dropped == 0 ? 0 : 1;
}

int main(int argc, char** argv) {
    settings s;
    if (!parse(argc, argv, s)) return 2;
    if (s.scenario == "fanout") return run_fanout(s);
    if (s.scenario == "churn") return run_churn(s);
    if (s.scenario == "idle") return run_idle(s);
    net::io_context ioc;
    const tcp::endpoint server = server_endpoint(ioc, s);

    results r;
    bool running = true;
    bool measuring = false;
    std::vector<std::shared_ptr<client>> clients;
    std::vector<client*> ready; // echo --rate: connected clients, emitting in turn
    for (int i = 0; i < s.clients; ++i) {
        clients.push_back(std::make_shared<client>(ioc, s, r, running, measuring));
        clients.back()->on_connected = [&ready, c = clients.back().get()] { ready.push_back(c); };
        clients.back()->start(server);
    }
    net::steady_timer pacer(ioc);
    double due = 0;
    std::size_t turn = 0;
    auto paced_at = clock_type::now();
    std::function<void()> pace = [&] {
        const auto now = clock_type::now();
        due += s.rate * std::chrono::duration<double>(now - paced_at).count();
        paced_at = now;
        for (; due >= 1 && !ready.empty(); due -= 1) ready[turn++ % ready.size()]->emit_paced();
        if (!running) return;
        pacer.expires_after(std::chrono::microseconds(100)); // fine enough that requests seldom go out in bursts
        pacer.async_wait([&](beast::error_code ec) {
            if (!ec) pace();
        });
    };
    if (s.paced_echo()) pace();

    // Warm up for half a second, measure for `seconds`, then let the last acks drain and stop.
    double cpu_start = 0;
    auto start = clock_type::now();
    net::steady_timer warmup(ioc, std::chrono::milliseconds(500));
    net::steady_timer window(ioc);
    net::steady_timer drain(ioc);
    warmup.async_wait([&](beast::error_code) {
        measuring = true;
        cpu_start = cpu_us(s.pid);
        start = clock_type::now();
        window.expires_after(std::chrono::microseconds(static_cast<std::int64_t>(s.seconds * 1e6)));
        window.async_wait([&](beast::error_code) {
            measuring = false;
            running = false;
            const double elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
            const double cpu = cpu_us(s.pid) - cpu_start;
            drain.expires_after(std::chrono::milliseconds(200));
            drain.async_wait([&, elapsed, cpu](beast::error_code) {
                for (auto& c : clients) c->stop();
                const double rate = static_cast<double>(r.round_trips) / elapsed;
                std::printf("{\"scenario\":\"echo\",\"server\":\"%s\",\"clients\":%d,\"inflight\":%d,\"paced_rate\":%d,"
                            "\"seconds\":%.2f,"
                            "\"connected\":%d,\"failed\":%d,\"round_trips\":%llu,\"rate\":%.0f,\"p50_us\":%.0f,"
                            "\"p99_us\":%.0f,\"p999_us\":%.0f,\"server_cpu_us_per_op\":%.2f}\n",
                            s.label.c_str(), s.clients, s.paced_echo() ? 0 : s.inflight, s.rate, elapsed, r.connected,
                            r.failed, static_cast<unsigned long long>(r.round_trips), rate,
                            percentile(r.latencies_us, 0.5), percentile(r.latencies_us, 0.99),
                            percentile(r.latencies_us, 0.999),
                            s.pid > 0 && r.round_trips ? cpu / static_cast<double>(r.round_trips) : 0.0);
            });
        });
    });
    ioc.run();
    return r.connected == s.clients ? 0 : 1;
}
