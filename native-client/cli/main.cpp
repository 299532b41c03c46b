// switchboard-cli: a command-line Socket.IO client on the native client (the wscat of Socket.IO).
// Connects, emits what it is told, prints what happens as JSON lines on stdout, and exits; with
// --listen it stays and prints every event until interrupted (or --count events).
#include <switchboard/base64.hpp>
#include <switchboard/client/client.hpp>
#include <switchboard/json.hpp>
#include <switchboard/sio/packet.hpp>

#include <boost/json/serialize.hpp>
#include <fmt/core.h>

#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace sb = switchboard::client;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

constexpr const char* usage = R"(usage: switchboard-cli URL [options]
  URL                      http(s)://host:port[/namespace][?query], or ws(s)://
  --nsp /name              the namespace (default: the URL's path, else /)
  --auth JSON              the CONNECT auth object
  --emit EVENT [JSON...]   emit EVENT with these arguments once connected (repeatable, in order);
                           {"$binary":"<base64>"} is a binary argument
  --ack                    ask for an acknowledgement of each emit and print it
  --timeout MS             how long an ack may take (default 5000)
  --reply [JSON...]        answer every acknowledgement the server asks for with these arguments
  --listen                 stay connected and print events until interrupted
  --count N                with --listen: exit after N events
  --transport NAME         polling or websocket; repeat to allow both (default: polling, then websocket)
  --no-upgrade             stay on the first transport
  --no-reconnect           do not reconnect when the connection is lost
  --reconnect-delay MS     the first reconnection delay (default 1000; at most 5 times that)
  --parser msgpack         socket.io-msgpack-parser's packets
  --header 'Name: value'   an HTTP header for every request (repeatable)
  --insecure               do not verify the server's TLS certificate
  --ca FILE                trust the certificates in this PEM file
  --wait MS                how long connecting may take (default 20000)
Prints one JSON object per line: connect, event, ack, connect_error, disconnect, reconnect_attempt,
reconnect, transport, error. Exit status: 0 done, 1 refused / timed out / failed, 2 bad usage.
)";

struct emit_spec {
    std::string event;
    std::vector<std::string> args; // JSON texts
};

struct settings {
    std::string url;
    std::string nsp;
    std::string auth;
    std::vector<emit_spec> emits;
    std::optional<std::vector<std::string>> reply; // JSON texts
    bool ack = false;
    std::chrono::milliseconds timeout{5000};
    bool listen = false;
    long count = -1;
    sb::connection_options options;
    std::chrono::milliseconds wait{20000};
};

[[noreturn]] void bad_usage(std::string_view why) {
    fmt::print(stderr, "switchboard-cli: {}\n{}", why, usage);
    std::exit(2);
}

std::optional<json::value> parse(std::string_view text) {
    auto v = switchboard::parse_json(text, 64);
    if (!v) return std::nullopt;
    return std::move(*v);
}

long number(std::string_view flag, const char* text) {
    char* end = nullptr;
    const long n = std::strtol(text, &end, 10);
    if (!*text || *end || n < 0) bad_usage(fmt::format("{} wants a number, not '{}'", flag, text));
    return n;
}

settings read_arguments(int argc, char** argv) {
    settings s;
    s.options.transports.clear();
    const auto is_flag = [](std::string_view a) { return a.size() > 2 && a.substr(0, 2) == "--"; };
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        const auto value = [&]() -> const char* {
            if (i + 1 >= argc) bad_usage(fmt::format("{} wants a value", a));
            return argv[++i];
        };
        if (a == "-h" || a == "--help") {
            fmt::print("{}", usage);
            std::exit(0);
        } else if (a == "--nsp") {
            s.nsp = value();
        } else if (a == "--auth") {
            s.auth = value();
        } else if (a == "--emit") {
            emit_spec e{value(), {}};
            while (i + 1 < argc && !is_flag(argv[i + 1])) e.args.emplace_back(argv[++i]);
            s.emits.push_back(std::move(e));
        } else if (a == "--reply") {
            s.reply.emplace();
            while (i + 1 < argc && !is_flag(argv[i + 1])) s.reply->emplace_back(argv[++i]);
        } else if (a == "--ack") {
            s.ack = true;
        } else if (a == "--timeout") {
            s.timeout = std::chrono::milliseconds(number(a, value()));
        } else if (a == "--listen") {
            s.listen = true;
        } else if (a == "--count") {
            s.count = number(a, value());
        } else if (a == "--transport") {
            const std::string t = value();
            if (t != "polling" && t != "websocket") bad_usage("--transport is polling or websocket");
            s.options.transports.push_back(t);
        } else if (a == "--no-upgrade") {
            s.options.upgrade = false;
        } else if (a == "--reconnect-delay") {
            s.options.reconnection_delay = std::chrono::milliseconds(number(a, value()));
            s.options.reconnection_delay_max = 5 * s.options.reconnection_delay;
        } else if (a == "--no-reconnect") {
            s.options.reconnection = false;
        } else if (a == "--parser") {
            s.options.parser = value();
            if (s.options.parser != "msgpack" && s.options.parser != "default")
                bad_usage("--parser is msgpack or default");
        } else if (a == "--header") {
            const std::string_view h = value();
            const auto colon = h.find(':');
            if (colon == std::string_view::npos || colon == 0) bad_usage("--header wants 'Name: value'");
            auto v = h.substr(colon + 1);
            while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
            s.options.extra_headers.emplace_back(std::string(h.substr(0, colon)), std::string(v));
        } else if (a == "--insecure") {
            s.options.reject_unauthorized = false;
        } else if (a == "--ca") {
            s.options.ca_file = value();
        } else if (a == "--wait") {
            s.wait = std::chrono::milliseconds(number(a, value()));
        } else if (is_flag(a) || !s.url.empty()) {
            bad_usage(fmt::format("unknown argument '{}'", a));
        } else {
            s.url = a;
        }
    }
    if (s.url.empty()) bad_usage("no URL");
    if (s.options.transports.empty()) s.options.transports = {"polling", "websocket"};
    return s;
}

/// A JSON argument with {"$binary": base64} anywhere turned into attachments.
json::value with_attachments(json::value v, sb::arguments& args) {
    if (auto* o = v.if_object()) {
        if (o->size() == 1 && o->contains("$binary") && (*o)["$binary"].is_string()) {
            const auto bytes = switchboard::base64_decode((*o)["$binary"].get_string());
            if (!bytes) bad_usage("$binary is not base64");
            return args.attach(switchboard::make_shared_bytes(*bytes));
        }
        for (auto& [k, x] : *o) x = with_attachments(std::move(x), args);
    } else if (auto* a = v.if_array()) {
        for (auto& x : *a) x = with_attachments(std::move(x), args);
    }
    return v;
}

/// The other way: placeholders printed as {"$binary": base64}.
json::value printable(const json::value& v, const sb::arguments& args) {
    if (auto bytes = args.bytes_of(v)) {
        std::string text;
        switchboard::base64_encode(text, *bytes);
        return json::object{{"$binary", text}};
    }
    if (const auto* o = v.if_object()) {
        json::object out;
        for (const auto& [k, x] : *o) out[k] = printable(x, args);
        return out;
    }
    if (const auto* a = v.if_array()) {
        json::array out;
        for (const auto& x : *a) out.push_back(printable(x, args));
        return out;
    }
    return v;
}

json::array printable(const sb::arguments& args) { return printable(json::value(args.values), args).as_array(); }

std::mutex print_mutex;
void print(const json::object& line) {
    std::lock_guard lock(print_mutex);
    std::string text;
    switchboard::stringify(text, line);
    fmt::print("{}\n", text);
    std::fflush(stdout);
}

/// What the I/O thread tells the main thread.
struct progress {
    std::mutex mutex;
    std::condition_variable changed;
    bool connected = false;
    bool failed = false;
    long events = 0;
    std::size_t acks = 0;
    bool ack_failed = false;

    template <class F>
    void update(F f) {
        {
            std::lock_guard lock(mutex);
            f(*this);
        }
        changed.notify_all();
    }
};

} // namespace

int main(int argc, char** argv) {
    auto s = read_arguments(argc, argv);

    // SIGINT / SIGTERM are waited for by the main thread (blocked here, before any thread starts).
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    sb::socket_options socket_options;
    if (!s.auth.empty()) {
        auto auth = parse(s.auth);
        if (!auth || !auth->is_object()) bad_usage("--auth wants a JSON object");
        socket_options.auth = std::move(auth->as_object());
    }
    const auto arguments_of = [](std::string_view flag, const std::vector<std::string>& texts) {
        sb::arguments args;
        for (const auto& text : texts) {
            auto v = parse(text);
            if (!v) bad_usage(fmt::format("{}: '{}' is not JSON", flag, text));
            args.values.push_back(with_attachments(std::move(*v), args));
        }
        return args;
    };
    std::optional<sb::arguments> reply;
    if (s.reply) reply = arguments_of("--reply", *s.reply);
    std::vector<std::pair<std::string, sb::arguments>> emits;
    for (const auto& e : s.emits) {
        auto args = arguments_of("--emit " + e.event, e.args);
        if (switchboard::sio::is_reserved_event(e.event))
            bad_usage(fmt::format("\"{}\" is a reserved event name", e.event));
        emits.emplace_back(e.event, std::move(args));
    }

    progress state;
    int status = 0;
    try {
        sb::connection io(s.url, s.options);
        io.on_transport([](std::string_view name) {
              print({{"type", "transport"}, {"name", name}});
          })
            .on_error([&](std::string_view message) {
                print({{"type", "error"}, {"message", message}});
                if (!s.options.reconnection) state.update([](progress& p) { p.failed = true; });
            })
            .on_reconnect_attempt([](std::uint32_t n) {
                print({{"type", "reconnect_attempt"}, {"attempt", n}});
            })
            .on_reconnect([](std::uint32_t n) {
                print({{"type", "reconnect"}, {"attempts", n}});
            })
            .on_reconnect_failed([&] {
                print({{"type", "reconnect_failed"}});
                state.update([](progress& p) { p.failed = true; });
            });
        socket_options.auto_connect = false;
        auto socket = io.socket(s.nsp, socket_options);
        socket
            .on_connect([&, socket] {
                print({{"type", "connect"},
                       {"nsp", socket.nsp()},
                       {"id", socket.id()},
                       {"recovered", socket.recovered()}});
                state.update([](progress& p) { p.connected = true; });
            })
            .on_connect_error([&, socket](const sb::connect_error& e) {
                print({{"type", "connect_error"}, {"message", e.message}, {"data", e.data}});
                if (!socket.active()) state.update([](progress& p) { p.failed = true; });
            })
            .on_disconnect([&, socket](std::string_view reason) {
                print({{"type", "disconnect"}, {"reason", reason}});
                if (!socket.active()) state.update([](progress& p) { p.failed = true; });
            })
            .on_any([&](sb::event& e) {
                print({{"type", "event"}, {"name", e.name}, {"args", printable(e.args)}});
                if (reply && e.ack) e.ack(*reply);
                state.update([](progress& p) { ++p.events; });
            });
        socket.connect();

        // Waits until `done`, the deadline, or SIGINT / SIGTERM (after which no wait waits).
        bool interrupted = false;
        const auto wait_for = [&](auto deadline, auto done) {
            std::unique_lock lock(state.mutex);
            while (!done(state) && !interrupted && std::chrono::steady_clock::now() < deadline) {
                lock.unlock();
                timespec tick{0, 20'000'000};
                interrupted = sigtimedwait(&signals, nullptr, &tick) > 0;
                lock.lock();
            }
            return done(state);
        };

        const auto connect_deadline = std::chrono::steady_clock::now() + s.wait;
        if (!wait_for(connect_deadline, [](progress& p) { return p.connected || p.failed; }) || state.failed) {
            if (!state.failed) print({{"type", "error"}, {"message", "not connected in time"}});
            status = 1;
        } else {
            for (auto& [event, args] : emits) {
                if (!s.ack) {
                    socket.emit_args(event, std::move(args));
                    continue;
                }
                socket.timeout(s.timeout).emit_args(
                    event, std::move(args), [&, event](std::error_code ec, sb::arguments reply) {
                        if (ec)
                            print({{"type", "ack"}, {"event", event}, {"error", ec.message()}});
                        else
                            print({{"type", "ack"}, {"event", event}, {"args", printable(reply)}});
                        state.update([&](progress& p) {
                            ++p.acks;
                            p.ack_failed |= static_cast<bool>(ec);
                        });
                    });
            }
            const auto forever = std::chrono::steady_clock::time_point::max();
            if (s.ack && !wait_for(forever, [&](progress& p) { return p.acks == emits.size() || p.failed; }))
                status = 1;
            if (state.ack_failed || (s.ack && state.acks < emits.size())) status = 1;
            if (s.listen && status == 0)
                wait_for(forever, [&](progress& p) { return p.failed || (s.count >= 0 && p.events >= s.count); });
            if (state.failed && !s.listen) status = 1;
        }
        socket.disconnect();
    } catch (const std::exception& e) {
        fmt::print(stderr, "switchboard-cli: {}\n", e.what());
        return 1;
    }
    return status;
}
