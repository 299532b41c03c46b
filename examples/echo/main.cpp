// examples/echo: the servers the protocol's public test suites assume, on one port.
//  - /engine.io/: bare Engine.IO; every message goes back as it came (text as text, binary as binary).
//  - /socket.io/ (--path): Socket.IO with namespaces "/" and "/custom". On connection the server emits
//    "auth" with the handshake's auth payload; "message" is answered by "message-back" with the same
//    arguments; "message-with-ack" is acknowledged with the same arguments. "join" (room, ack) joins a
//    room and acknowledges with the socket's rooms; "to" (room, event, ...args) is
//    io.to(room).emit(event, ...args) in the socket's namespace (a socket id is a room too),
//    acknowledged once sent. Other namespaces are refused ("Invalid namespace").
//    With --recovery-window any client can try connection state recovery against it: a recovered
//    socket's "auth" event has a second argument, "recovered".
//   scripts/run --example echo --ping-interval 300 --ping-timeout 200 --connect-timeout 1000
#include <switchboard/io/io.hpp>
#include <switchboard/server/server.hpp>

#include <iostream>

using namespace switchboard;

namespace {

void serve_engine_echo(server::server& http) {
    http.engine("/engine.io/", [](const std::shared_ptr<server::engine_socket>& socket) {
        // Raw pointers: the listener belongs to the socket, so it must not own it.
        auto* s = socket.get();
        s->listen([s](std::string_view text) { s->send({eio::make_text_frame(eio::packet_type::message, text)}); },
                  [s](shared_bytes bytes) { s->send({eio::make_binary_frame(std::move(bytes))}); });
    });
}

void serve_socketio_echo(io::server& io) {
    auto on_connection = [&io](io::socket& socket) {
        if (socket.recovered())
            socket.emit("auth", socket.handshake().auth, "recovered");
        else
            socket.emit("auth", socket.handshake().auth);
        socket.on("message", [socket](io::event& e) { socket.emit_args("message-back", std::move(e.args)); });
        socket.on("message-with-ack", [](io::event& e) {
            if (e.ack) e.ack(std::move(e.args));
        });
        socket.on("join", [](io::socket& self, io::event& e) {
            if (const auto room = e.arg<std::string>(0)) self.join(*room);
            if (e.ack) {
                boost::json::array rooms;
                for (const auto& r : self.rooms()) rooms.emplace_back(r);
                e.ack(std::move(rooms));
            }
        });
        socket.on("to", [&io](io::socket& self, io::event& e) {
            const auto room = e.arg<std::string>(0);
            const auto name = e.arg<std::string>(1);
            std::error_code ec = make_error_code(std::errc::invalid_argument);
            if (room && name) {
                auto args = std::move(e.args);
                args.values.erase(args.values.begin(), args.values.begin() + 2);
                ec = io.of(self.nsp_name()).to(*room).emit_args(*name, std::move(args));
            }
            if (e.ack) e.ack(ec ? boost::json::value(ec.message()) : boost::json::value(nullptr));
        });
    };
    io.on_connection(on_connection);
    io.of("/custom").on_connection(on_connection);
}

} // namespace

int main(int argc, char** argv) {
    server::server_config config;
    switch (server::parse_command_line(argc, argv, config, std::cout, std::cerr, "echo")) {
    case server::cli_action::exit_success: return 0;
    case server::cli_action::exit_failure: return 2;
    case server::cli_action::run: break;
    }
    try {
        server::server http(config);
        serve_engine_echo(http);
        io::server io(http);
        serve_socketio_echo(io);
        http.run();
    } catch (const std::exception& e) {
        std::cerr << "echo: " << e.what() << '\n';
        return 1;
    }
    return 0;
}
