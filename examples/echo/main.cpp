// examples/echo: a bare Engine.IO server at /engine.io/ that sends every message back as it came
// (text as text, binary as binary): the server the protocol's public test suite assumes.
//   scripts/run --example echo --ping-interval 300 --ping-timeout 200 --cors-origin '*'
#include <switchboard/server/server.hpp>

#include <iostream>

using namespace switchboard;

int main(int argc, char** argv) {
    server::server_config config;
    switch (server::parse_command_line(argc, argv, config, std::cout, std::cerr, "echo")) {
    case server::cli_action::exit_success: return 0;
    case server::cli_action::exit_failure: return 2;
    case server::cli_action::run: break;
    }
    try {
        server::server srv(config);
        srv.engine("/engine.io/", [](const std::shared_ptr<server::engine_socket>& socket) {
            // Raw pointers: the callbacks belong to the socket, so they must not own it.
            auto* s = socket.get();
            s->on_text = [s](std::string_view text) {
                s->send({eio::make_text_frame(eio::packet_type::message, text)});
            };
            s->on_binary = [s](shared_bytes bytes) { s->send({eio::make_binary_frame(std::move(bytes))}); };
        });
        srv.run();
    } catch (const std::exception& e) {
        std::cerr << "echo: " << e.what() << '\n';
        return 1;
    }
    return 0;
}
