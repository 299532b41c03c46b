// examples/echo: the servers the protocol's public test suites assume, on one port.
//  - /engine.io/: bare Engine.IO; every message goes back as it came (text as text, binary as binary).
//  - /socket.io/ (--path): Socket.IO with namespaces "/" and "/custom". On connection the server emits
//    "auth" with the handshake's auth payload; "message" is answered by "message-back" with the same
//    arguments; "message-with-ack" is acknowledged with the same arguments. Other namespaces are
//    refused ("Invalid namespace").
//   scripts/run --example echo --ping-interval 300 --ping-timeout 200 --connect-timeout 1000
#include <switchboard/io/io.hpp>
#include <switchboard/server/server.hpp>

#include <iostream>

using namespace switchboard;

namespace {

void serve_engine_echo(server::server& http) {
    http.engine("/engine.io/", [](const std::shared_ptr<server::engine_socket>& socket) {
        // Raw pointers: the callbacks belong to the socket, so they must not own it.
        auto* s = socket.get();
        s->on_text = [s](std::string_view text) { s->send({eio::make_text_frame(eio::packet_type::message, text)}); };
        s->on_binary = [s](shared_bytes bytes) { s->send({eio::make_binary_frame(std::move(bytes))}); };
    });
}

void serve_socketio_echo(io::server& io) {
    auto on_connection = [](io::socket& socket) {
        socket.emit("auth", socket.handshake().auth);
        socket.on("message", [socket](io::event& e) { socket.emit_args("message-back", std::move(e.args)); });
        socket.on("message-with-ack", [](io::event& e) {
            if (e.ack) e.ack(std::move(e.args));
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
