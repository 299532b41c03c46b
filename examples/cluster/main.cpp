// examples/cluster: a cluster node whose events any client can drive (and the cluster tests do), on the
// namespaces "/" and "/chat". Run several with --redis redis://127.0.0.1:6379 (beside Node.js nodes on
// @socket.io/redis-adapter, same Redis, same --redis-key) and what one node's clients ask reaches the
// clients of every node.
//
//   client emits                  the node does
//   join (room, ack)              joins room, acks true
//   leave (room, ack)             leaves room, acks true
//   to (room, event, ...args)     nsp.to(room).emit(event, ...args)       across the cluster
//   all (event, ...args)          nsp.emit(event, ...args)                across the cluster
//   others (event, ...args)       socket.broadcast.emit(event, ...args)   across the cluster
//   fetch (room, ack)             acks [{id, rooms}] (sorted by id) of nsp.in(room).fetchSockets()
//   ask-all (event, ms, ack)      nsp.timeout(ms).emit(event, cb); acks {timedOut, replies}
//   server-side (payload)         nsp.serverSideEmit("note", payload); a node that hears "note"
//                                 does nsp.local.emit("note-seen", payload)
//   move (fromRoom, toRoom)       nsp.in(fromRoom).socketsJoin(toRoom)
//   kick (room)                   nsp.in(room).disconnectSockets(true)
// and, beyond the table the Node twin shares:
//   poll (payload, ack)           nsp.serverSideEmit("poll", payload, cb): acks {timedOut, answers}
//                                 (each node answers "poll" with "pong:<payload>")
//   poke (room, event)            emits event to each socket fetchSockets() found in room (RemoteSocket.emit)
//   rooms (ack)                   acks the sorted rooms of every node (adapter.allRooms())
//   whoami (ack)                  acks this node's id in the cluster
//   fetch-partial (room, ack)     as fetch with partial results: acks {timedOut, sockets, silent}
//
//   scripts/run --example cluster --port 3001 --redis redis://127.0.0.1:6379
#include <switchboard/io/io.hpp>
#include <switchboard/server/server.hpp>

#include <algorithm>
#include <iostream>
#include <mutex>

using namespace switchboard;
namespace json = boost::json;

namespace {

/// The arguments from `first` on (binary values keep their bytes).
io::arguments from(const io::arguments& args, std::size_t first) {
    io::arguments out;
    out.attachments = args.attachments;
    for (std::size_t i = first; i < args.values.size(); ++i) out.values.push_back(args.values[i]);
    return out;
}

json::array strings(std::vector<std::string> items) {
    std::sort(items.begin(), items.end());
    return json::array(items.begin(), items.end());
}

/// [{id, rooms}], sorted by id.
json::array sockets_json(const std::vector<io::remote_socket>& sockets) {
    std::vector<const io::remote_socket*> sorted;
    for (const auto& s : sockets) sorted.push_back(&s);
    std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->id() < b->id(); });
    json::array out;
    for (const auto* s : sorted) out.push_back(json::object{{"id", s->id()}, {"rooms", strings(s->rooms())}});
    return out;
}

/// The first value of each answer (what crosses the cluster of each client's ack).
json::array first_values(const std::vector<io::arguments>& answers) {
    json::array out;
    for (const auto& a : answers) out.push_back(a.values.empty() ? json::value(nullptr) : a.values[0]);
    return out;
}

void serve(const io::nsp& nsp) {
    nsp.on_server_side("note", [nsp](io::event& e) { nsp.local().emit_args("note-seen", e.args); });
    nsp.on_server_side("poll", [](io::event& e) {
        const auto payload = e.arg<std::string>(0);
        if (e.ack) e.ack("pong:" + payload.value_or(""));
    });

    nsp.on_connection([nsp](io::socket& socket) {
        socket.on("join", [](io::socket& self, io::event& e) {
            if (auto room = e.arg<std::string>(0)) self.join(*room);
            if (e.ack) e.ack(true);
        });
        socket.on("leave", [](io::socket& self, io::event& e) {
            if (auto room = e.arg<std::string>(0)) self.leave(*room);
            if (e.ack) e.ack(true);
        });
        socket.on("to", [nsp](io::event& e) {
            const auto room = e.arg<std::string>(0);
            const auto event = e.arg<std::string>(1);
            if (room && event) nsp.to(*room).emit_args(*event, from(e.args, 2));
        });
        socket.on("all", [nsp](io::event& e) {
            if (const auto event = e.arg<std::string>(0)) nsp.all().emit_args(*event, from(e.args, 1));
        });
        socket.on("others", [](io::socket& self, io::event& e) {
            if (const auto event = e.arg<std::string>(0)) self.broadcast().emit_args(*event, from(e.args, 1));
        });
        socket.on("fetch", [nsp](io::event& e) {
            const auto room = e.arg<std::string>(0);
            if (!room || !e.ack) return;
            nsp.in(*room).fetch_sockets([ack = e.ack](std::error_code ec, std::vector<io::remote_socket> found) {
                if (ec) return ack(json::object{{"error", ec.message()}});
                ack(sockets_json(found));
            });
        });
        socket.on("fetch-partial", [nsp](io::event& e) {
            const auto room = e.arg<std::string>(0);
            if (!room || !e.ack) return;
            auto silent = std::make_shared<std::vector<std::string>>();
            nsp.in(*room)
                .partial([silent](const io::cluster_answers& answers) { *silent = answers.silent; })
                .fetch_sockets([ack = e.ack, silent](std::error_code ec, std::vector<io::remote_socket> found) {
                    ack(json::object{
                        {"timedOut", bool(ec)}, {"sockets", sockets_json(found)}, {"silent", strings(*silent)}});
                });
        });
        socket.on("ask-all", [nsp](io::event& e) {
            const auto event = e.arg<std::string>(0);
            const auto ms = e.arg<std::int64_t>(1);
            if (!event || !ms || !e.ack) return;
            nsp.timeout(std::chrono::milliseconds(*ms))
                .emit(*event, [ack = e.ack](std::error_code ec, std::vector<io::arguments> replies) {
                    ack(json::object{{"timedOut", bool(ec)}, {"replies", first_values(replies)}});
                });
        });
        socket.on("server-side", [nsp](io::event& e) { nsp.server_side_emit_args("note", e.args); });
        socket.on("poll", [nsp](io::event& e) {
            if (!e.ack) return;
            nsp.server_side_emit("poll", e.arg<std::string>(0).value_or(""),
                                 [ack = e.ack](std::error_code ec, std::vector<io::arguments> answers) {
                                     ack(json::object{{"timedOut", bool(ec)}, {"answers", first_values(answers)}});
                                 });
        });
        socket.on("move", [nsp](io::event& e) {
            const auto from_room = e.arg<std::string>(0);
            const auto to_room = e.arg<std::string>(1);
            if (from_room && to_room) nsp.in(*from_room).sockets_join({*to_room});
        });
        socket.on("kick", [nsp](io::event& e) {
            if (const auto room = e.arg<std::string>(0)) nsp.in(*room).disconnect_sockets(true);
        });
        socket.on("poke", [nsp](io::event& e) {
            const auto room = e.arg<std::string>(0);
            const auto event = e.arg<std::string>(1);
            if (!room || !event) return;
            nsp.in(*room).fetch_sockets([event = *event](std::error_code, std::vector<io::remote_socket> found) {
                for (const auto& s : found) s.emit(event);
            });
        });
        socket.on("rooms", [nsp](io::event& e) {
            if (!e.ack) return;
            nsp.fetch_rooms([ack = e.ack](std::error_code ec, std::vector<std::string> rooms) {
                if (ec) return ack(json::object{{"error", ec.message()}});
                ack(strings(std::move(rooms)));
            });
        });
        socket.on("whoami", [nsp](io::event& e) {
            if (e.ack) e.ack(nsp.adapter() ? nsp.adapter()->node_id() : std::string());
        });
    });
}

} // namespace

int main(int argc, char** argv) {
    server::server_config config;
    switch (server::parse_command_line(argc, argv, config, std::cout, std::cerr, "cluster")) {
    case server::cli_action::exit_success: return 0;
    case server::cli_action::exit_failure: return 2;
    case server::cli_action::run: break;
    }
    try {
        server::server http(config);
        io::server io(http); // --redis: the namespaces' adapters join the cluster
        serve(io.main());
        serve(io.of("/chat"));
        http.run();
    } catch (const std::exception& e) {
        std::cerr << "cluster: " << e.what() << '\n';
        return 1;
    }
    return 0;
}
