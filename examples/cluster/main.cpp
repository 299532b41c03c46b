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
//
//   scripts/run --example cluster --port 3001 --redis redis://127.0.0.1:6379
#include <switchboard/io/io.hpp>
#include <switchboard/server/server.hpp>

#include <iostream>

using namespace switchboard;

namespace {

/// The arguments from `first` on (binary values keep their bytes).
io::arguments from(const io::arguments& args, std::size_t first) {
    io::arguments out;
    out.attachments = args.attachments;
    for (std::size_t i = first; i < args.values.size(); ++i) out.values.push_back(args.values[i]);
    return out;
}

void serve(const io::nsp& nsp) {
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
