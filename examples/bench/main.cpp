// examples/bench: the server the benchmarks drive (bench/, scripts/bench), on the public C++ API. The
// Node.js reference (bench/reference/server.mjs) runs the same three handlers on "/":
//   echo      acknowledges with its arguments
//   join      joins the room named by its argument
//   broadcast {room, msg}: emits "msg" with msg to everyone in the room but the sender
//   scripts/run --example bench [FLAGS]
#include <switchboard/io/io.hpp>
#include <switchboard/server/server.hpp>

#include <iostream>

using namespace switchboard;

int main(int argc, char** argv) {
    server::server_config config;
    switch (server::parse_command_line(argc, argv, config, std::cout, std::cerr, "bench")) {
    case server::cli_action::exit_success: return 0;
    case server::cli_action::exit_failure: return 2;
    case server::cli_action::run: break;
    }
    try {
        server::server http(config);
        io::server io(http);
        io.on_connection([](io::socket& socket) {
            socket.on("echo", [](io::event& e) {
                if (e.ack) e.ack(std::move(e.args));
            });
            socket.on("join", [socket](io::event& e) {
                if (const auto* room = e.args[0].if_string()) socket.join(std::string(*room));
            });
            socket.on("broadcast", [socket](io::event& e) {
                const auto* o = e.args[0].if_object();
                const auto* room = o ? o->if_contains("room") : nullptr;
                const auto* name = room ? room->if_string() : nullptr;
                const auto* msg = o ? o->if_contains("msg") : nullptr;
                if (name && msg) socket.to(std::string(*name)).emit("msg", *msg);
            });
        });
        http.run();
    } catch (const std::exception& e) {
        std::cerr << "bench: " << e.what() << '\n';
        return 1;
    }
    return 0;
}
