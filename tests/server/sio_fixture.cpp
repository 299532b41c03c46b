// The Socket.IO test server: the public C++ API, driven by the tests' clients through events, so that
// a test can ask for any broadcast or operator and check, client by client, who received what.
//
// Namespaces: "/" (the commands below), "/admin" (middleware: auth.token must be "secret"),
// "/slow" (a middleware that accepts after 50 ms, from another thread), and the dynamic family
// /dyn-<digits> (greets with "welcome" and serves the same commands).
#include <switchboard/io/io.hpp>
#include <switchboard/json.hpp>
#include <switchboard/server/server.hpp>

#include <algorithm>
#include <iostream>
#include <map>
#include <mutex>
#include <regex>
#include <stdexcept>
#include <thread>

using namespace switchboard;
namespace json = boost::json;

namespace {

std::mutex records_mutex;
json::array records; // what "record" events carried, for every client

std::vector<std::string> strings(const json::value& v) {
    std::vector<std::string> out;
    if (v.is_string()) out.emplace_back(v.as_string());
    if (v.is_array())
        for (const auto& s : v.as_array())
            if (s.is_string()) out.emplace_back(s.as_string());
    return out;
}

json::array to_array(std::vector<std::string> items) {
    std::sort(items.begin(), items.end());
    json::array out;
    for (auto& s : items) out.emplace_back(s);
    return out;
}

/// The target a command names: {rooms?, except?, volatile?} on the namespace, or, with
/// {from_socket:true}, from the socket (everyone but itself).
io::broadcast_operator target(const io::nsp& nsp, const io::socket& socket, const json::value& spec) {
    const auto* o = spec.if_object();
    auto op = o && o->contains("from_socket") ? socket.broadcast() : nsp.all();
    if (!o) return op;
    if (const auto* r = o->if_contains("rooms")) op = op.to(strings(*r));
    if (const auto* e = o->if_contains("except")) op = op.except(strings(*e));
    if (const auto* v = o->if_contains("volatile"); v && v->is_bool() && v->as_bool()) op = op.volatile_();
    if (const auto* l = o->if_contains("local"); l && l->is_bool() && l->as_bool()) op = op.local();
    return op;
}

std::chrono::milliseconds ms(const json::value& v) {
    return std::chrono::milliseconds(v.is_number() ? v.to_number<std::int64_t>() : 0);
}

void serve_commands(const io::nsp& nsp, io::socket& socket) {
    socket.on_any([socket](const std::string& name, const io::arguments&) {
        auto& seen = socket.data().as_object()["incoming"].as_array();
        seen.emplace_back(name);
    });
    socket.on_any_outgoing([socket](const std::string& name, const io::arguments&) {
        auto& sent = socket.data().as_object()["outgoing"].as_array();
        sent.emplace_back(name);
    });
    socket.on_disconnecting([socket, nsp](std::string_view reason) {
        nsp.to("observers").emit("leaving", socket.id(), std::string(reason), to_array(socket.rooms()));
    });
    socket.on_disconnect([socket, nsp](std::string_view reason) {
        nsp.to("observers").emit("left", socket.id(), std::string(reason), to_array(socket.rooms()));
        socket.join("ghost"); // too late: a socket that has left joins nothing ("all-rooms" shows it)
    });
    socket.on("all-rooms", [nsp](io::event& e) {
        if (e.ack) e.ack(to_array(nsp.adapter()->all_rooms()));
    });
    // A numeric event name: 7 from a client reaches this handler, as with the Node server.
    socket.on("7", [](io::event& e) {
        if (e.ack) e.ack("seven");
    });
    // throw: [message?] -> the handler throws with the client's text (which reaches the log).
    socket.on("throw",
              [](io::event& e) { throw std::runtime_error(e.arg<std::string>(0).value_or("a handler that throws")); });
    // ask-and-record: the server asks this client a question it will never answer; what the callback
    // gets (errc::disconnected once the client leaves) goes to the records.
    socket.on("ask-and-record", [socket](io::event& e) {
        socket.timeout(std::chrono::minutes(1))
            .emit("question", "never answered", [](std::error_code ec, io::arguments) {
                std::lock_guard lock(records_mutex);
                records.emplace_back(ec ? ec.message() : "answered");
            });
        if (e.ack) e.ack(nullptr);
    });

    socket.on("join", [socket](io::event& e) {
        socket.join(strings(e.args[0]));
        if (e.ack) e.ack(to_array(socket.rooms()));
    });
    socket.on("leave", [socket](io::event& e) {
        for (auto& room : strings(e.args[0])) socket.leave(room);
        if (e.ack) e.ack(to_array(socket.rooms()));
    });
    socket.on("echo", [](io::event& e) {
        if (e.ack) e.ack(std::move(e.args));
    });
    socket.on("stats", [socket](io::event& e) {
        if (e.ack) e.ack(socket.data());
    });
    socket.on("handshake", [socket](io::event& e) {
        const auto& h = socket.handshake();
        json::object query;
        for (const auto& [k, v] : h.query) query[k] = v;
        const auto* ua = h.header("user-agent");
        json::array headers; // [name, value] as received
        for (const auto& [name, value] : h.headers)
            headers.push_back(json::array{json::string(name), json::string(value)});
        if (e.ack)
            e.ack(json::object{{"id", socket.id()},
                               {"nsp", socket.nsp_name()},
                               {"auth", h.auth},
                               {"query", query},
                               {"address", h.address},
                               {"userAgent", ua ? *ua : ""},
                               {"headers", std::move(headers)}});
    });
    // emit: [spec, event, ...args] -> the broadcast; ack(null) once queued.
    socket.on("emit", [socket, nsp](io::event& e) {
        auto args = std::move(e.args);
        const auto spec = args.values.at(0);
        const std::string name(args.values.at(1).as_string());
        args.values.erase(args.values.begin(), args.values.begin() + 2);
        const auto ec = target(nsp, socket, spec).emit_args(name, std::move(args));
        if (e.ack) e.ack(ec ? json::value(ec.message()) : json::value(nullptr));
    });
    // emit-to-self: [event, volatile?] -> this socket only (a reserved name reports the error).
    // (These two use the handler form that is handed its socket, and typed argument access.)
    socket.on("emit-to-self", [](io::socket& self, io::event& e) {
        const auto name = e.arg<std::string>(0).value_or("");
        const bool is_volatile = e.arg<bool>(1).value_or(false);
        const auto ec = (is_volatile ? self.volatile_() : self).emit(name, "self");
        if (e.ack) e.ack(ec ? json::value(ec.message()) : json::value(nullptr));
    });
    // burst: [n, volatile?] -> n events "burst" to this socket in one go, then the ack.
    socket.on("burst", [](io::socket& self, io::event& e) {
        const auto n = e.arg<int>(0).value_or(0);
        const bool is_volatile = e.arg<bool>(1).value_or(false);
        const auto target = is_volatile ? self.volatile_() : self;
        for (int i = 0; i < n; ++i) target.emit("burst", i);
        if (e.ack) e.ack(n);
    });
    // ask: [timeout ms] -> the server asks this client "question" and reports {err, reply}.
    socket.on("ask", [socket](io::event& e) {
        auto ack = e.ack;
        socket.timeout(ms(e.args[0])).emit("question", "what?", [ack](std::error_code ec, io::arguments reply) {
            ack(json::object{{"err", ec ? json::value(ec.message()) : json::value(nullptr)}, {"reply", reply.values}});
        });
    });
    // ask-all: [spec, timeout ms] -> a broadcast with ack; reports {err, replies}.
    socket.on("ask-all", [socket, nsp](io::event& e) {
        auto ack = e.ack;
        target(nsp, socket, e.args[0])
            .timeout(ms(e.args[1]))
            .emit("question", "all of you?", [ack](std::error_code ec, std::vector<io::arguments> replies) {
                json::array all;
                for (auto& r : replies) all.push_back(r.values.empty() ? json::value(nullptr) : r.values[0]);
                std::sort(all.begin(), all.end(),
                          [](const json::value& a, const json::value& b) { return stringify(a) < stringify(b); });
                ack(json::object{{"err", ec ? json::value(ec.message()) : json::value(nullptr)}, {"replies", all}});
            });
    });
    // Operators: [spec, rooms] / [spec, close] / [spec].
    socket.on("sockets-join", [socket, nsp](io::event& e) {
        target(nsp, socket, e.args[0]).sockets_join(strings(e.args[1]));
        if (e.ack) e.ack(nullptr);
    });
    socket.on("sockets-leave", [socket, nsp](io::event& e) {
        target(nsp, socket, e.args[0]).sockets_leave(strings(e.args[1]));
        if (e.ack) e.ack(nullptr);
    });
    socket.on("disconnect-sockets", [socket, nsp](io::event& e) {
        if (e.ack) e.ack(nullptr);
        target(nsp, socket, e.args[0])
            .disconnect_sockets(e.args.size() > 1 && e.args[1].is_bool() && e.args[1].as_bool());
    });
    socket.on("fetch-sockets", [socket, nsp](io::event& e) {
        auto ack = e.ack;
        target(nsp, socket, e.args[0]).fetch_sockets([ack](std::error_code, std::vector<io::remote_socket> sockets) {
            json::array out;
            for (auto& s : sockets) out.push_back(json::object{{"id", s.id()}, {"rooms", to_array(s.rooms())}});
            std::sort(out.begin(), out.end(), [](const json::value& a, const json::value& b) {
                return a.at("id").as_string() < b.at("id").as_string();
            });
            ack(out);
        });
    });
    // record: [value] -> kept by the server; records -> every value recorded so far, in order.
    socket.on("record", [](io::event& e) {
        std::lock_guard lock(records_mutex);
        records.push_back(e.args.values.empty() ? json::value(nullptr) : e.args[0]);
    });
    socket.on("records", [](io::event& e) {
        std::lock_guard lock(records_mutex);
        if (e.ack) e.ack(records);
    });
    // flood: [count, bytes, policy ("refuse" | "disconnect" | "drop-oldest" | "")] -> the server emits `count` "blob"
    // events of `bytes` to this socket at once, and records what the emits returned; once the queue
    // drains it records "drained" and emits "drained" with the bytes then buffered.
    socket.on("flood", [socket](io::event& e) {
        const auto count = e.arg<std::int64_t>(0).value_or(0);
        const auto bytes = static_cast<std::size_t>(e.arg<std::int64_t>(1).value_or(0));
        const auto policy = e.arg<std::string>(2).value_or("");
        const auto target = socket.when_full(policy == "refuse"        ? io::overflow::refuse
                                             : policy == "disconnect"  ? io::overflow::disconnect
                                             : policy == "drop-oldest" ? io::overflow::drop_oldest
                                                                       : io::overflow::server_default);
        const std::string blob(bytes, 'z');
        std::map<std::string, int> results;
        for (std::int64_t i = 0; i < count; ++i) {
            const auto ec = target.emit("blob", i, blob);
            ++results[!ec                               ? "ok"
                      : ec == io::errc::over_high_water ? "high"
                      : ec == io::errc::queue_full      ? "full"
                                                        : ec.message()];
        }
        json::object summary{{"flood", true}, {"buffered", socket.buffered_amount()}};
        for (const auto& [k, v] : results) summary[k] = v;
        {
            std::lock_guard lock(records_mutex);
            records.push_back(summary);
        }
        socket.on_drain([socket] {
            {
                std::lock_guard lock(records_mutex);
                records.push_back(json::object{{"drained", socket.buffered_amount()}});
            }
            socket.emit("drained", socket.buffered_amount());
        });
    });
    // disconnect-me: [close] -> the server disconnects this socket (or the whole connection).
    socket.on("disconnect-me", [socket](io::event& e) {
        socket.disconnect(e.args.size() > 0 && e.args[0].is_bool() && e.args[0].as_bool());
    });
}

/// The data the commands keep (beside what a middleware put there: the token's claims, with --jwt-*).
void init_data(io::socket& socket) {
    auto& data = socket.data();
    if (!data.is_object()) data = json::object{};
    data.as_object()["incoming"] = json::array{};
    data.as_object()["outgoing"] = json::array{};
}

void on_connection(const io::nsp& nsp, io::socket& socket) {
    init_data(socket);
    serve_commands(nsp, socket);
}

} // namespace

int main(int argc, char** argv) {
    server::server_config config;
    switch (server::parse_command_line(argc, argv, config, std::cout, std::cerr, "sio_fixture")) {
    case server::cli_action::exit_success: return 0;
    case server::cli_action::exit_failure: return 2;
    case server::cli_action::run: break;
    }
    server::server http(config);
    io::server io(http);
    // allowRequest: a handshake whose query has refuse=yes is turned away (HTTP 403).
    http.allow_request([](const server::request_info& r) {
        return std::none_of(r.query.begin(), r.query.end(),
                            [](const auto& q) { return q.first == "refuse" && q.second == "yes"; });
    });

    auto main_nsp = io.main();
    io.on_connection([main_nsp](io::socket& s) { on_connection(main_nsp, s); });
    // With --recovery-window: a session whose client did not come back is announced to "observers".
    io.on_session_expired([main_nsp](const io::expired_session& s) {
        main_nsp.to("observers").emit("expired", s.id, s.nsp, to_array(s.rooms));
    });

    auto admin = io.of("/admin");
    admin.use([](io::socket& s, io::next_fn next) {
        const auto* token = s.handshake().auth.if_contains("token");
        if (token && token->is_string() && token->as_string() == "secret") return next({});
        next(io::connect_error{"not authorized", json::object{{"code", 403}}});
    });
    admin.on_connection([admin](io::socket& s) {
        on_connection(admin, s);
        s.emit("welcome", s.nsp_name());
    });

    // A middleware that decides later, on another thread (as one that checks a database would).
    auto slow = io.of("/slow");
    slow.use([](io::socket&, io::next_fn next) {
        std::thread([next] {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            next({});
        }).detach();
    });
    slow.on_connection([slow](io::socket& s) { s.emit("welcome", s.nsp_name()); });

    const std::regex dynamic("^/dyn-[0-9]+$");
    auto family =
        io.of([dynamic](const std::string& name, const json::object&) { return std::regex_match(name, dynamic); });
    family.on_connection([](io::socket& s) {
        // Each child is its own namespace: commands address the socket's namespace.
        init_data(s);
        s.emit("welcome", s.nsp_name());
    });
    family.on_connection([&io](io::socket& s) { serve_commands(io.of(s.nsp_name()), s); });

    // family-emit: [event, payload] from "/" -> every dynamic namespace at once.
    io.on_connection([family](io::socket& s) {
        s.on("family-emit", [family](io::event& e) {
            auto args = std::move(e.args);
            const std::string name(args.values.at(0).as_string());
            args.values.erase(args.values.begin());
            family.all().emit_args(name, std::move(args));
            if (e.ack) e.ack(nullptr);
        });
    });

    http.run();
    return 0;
}
