// The switchboard binary: the server on its flags and SWITCHBOARD_* environment variables.
// The Socket.IO layer and the chat application attach to the Engine.IO endpoint at --path as the
// next issues land; until then the endpoint accepts Engine.IO sessions and the page is served at /.
#include <switchboard/server/server.hpp>

#include <iostream>

int main(int argc, char** argv) {
    switchboard::server::server_config config;
    config.static_dir = SWITCHBOARD_DEFAULT_STATIC;
    switch (switchboard::server::parse_command_line(argc, argv, config, std::cout, std::cerr)) {
    case switchboard::server::cli_action::exit_success: return 0;
    case switchboard::server::cli_action::exit_failure: return 2;
    case switchboard::server::cli_action::run: break;
    }
    try {
        switchboard::server::server server(config);
        server.engine(config.path, [](const auto&) {});
        server.run();
    } catch (const std::exception& e) {
        std::cerr << "switchboard: " << e.what() << '\n';
        return 1;
    }
    return 0;
}
