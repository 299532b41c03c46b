// The switchboard binary: the server on its flags and SWITCHBOARD_* environment variables.
// Socket.IO is served at --path and the page at /; the chat application's events arrive with the
// chat issue (until then clients can connect to any static namespace they are given: "/" only).
#include <switchboard/io/io.hpp>
#include <switchboard/server/server.hpp>

#include <iostream>

int main(int argc, char** argv) {
    switchboard::server::server_config config;
    config.static_dir = SWITCHBOARD_DEFAULT_STATIC;
    config.client_dir = SWITCHBOARD_DEFAULT_CLIENT;
    switch (switchboard::server::parse_command_line(argc, argv, config, std::cout, std::cerr)) {
    case switchboard::server::cli_action::exit_success: return 0;
    case switchboard::server::cli_action::exit_failure: return 2;
    case switchboard::server::cli_action::run: break;
    }
    try {
        switchboard::server::server server(config);
        switchboard::io::server io(server);
        server.run();
    } catch (const std::exception& e) {
        std::cerr << "switchboard: " << e.what() << '\n';
        return 1;
    }
    return 0;
}
