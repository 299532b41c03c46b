// The switchboard binary: the chat server on its flags and SWITCHBOARD_* environment variables.
// Socket.IO at --path with the chat application (history in SQLite at --db, or with --redis in that
// Redis, shared by the nodes), the page at /, and the WASM client at /switchboard/.
#include "chat.hpp"

#include <switchboard/io/io.hpp>
#include <switchboard/server/server.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string_view>
#include <system_error>

namespace {

/// The page and the WASM client: installed beside the binary (PREFIX/share/switchboard/{web,client}
/// for PREFIX/bin/switchboard), else those of the source tree it was built from.
std::string default_dir(std::string_view installed, const char* built) {
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        const auto candidate = exe.parent_path().parent_path() / "share" / "switchboard" / installed;
        if (std::filesystem::is_directory(candidate, ec)) return candidate.string();
    }
    return built;
}

} // namespace

int main(int argc, char** argv) {
    namespace sb = switchboard;
    sb::server::server_config config;
    config.static_dir = default_dir("web", SWITCHBOARD_DEFAULT_STATIC);
    config.client_dir = default_dir("client", SWITCHBOARD_DEFAULT_CLIENT);
    config.db_path = "data/chat.db";
    config.events_per_second = 50; // a person types far slower; a script that floods the chat is slowed, then cut
    switch (sb::server::parse_command_line(argc, argv, config, std::cout, std::cerr)) {
    case sb::server::cli_action::exit_success: return 0;
    case sb::server::cli_action::exit_failure: return 2;
    case sb::server::cli_action::run: break;
    }
    // Connection state recovery, on for the chat (Socket.IO's 2-minute window) unless asked otherwise
    // (or on sharded pub/sub, which it does not support): a page whose connection drops comes back with
    // its nickname and rooms, and gets what it missed without fetching history, on any node.
    const bool recovery_asked =
        std::getenv("SWITCHBOARD_RECOVERY_WINDOW") != nullptr || std::any_of(argv + 1, argv + argc, [](const char* a) {
            return std::string_view(a).starts_with("--recovery-window");
        });
    if (!recovery_asked && !config.redis_sharded) config.recovery_window_ms = 120000;
    try {
        // One node: the history in SQLite. Several (--redis): in that Redis, which every node reaches.
        std::unique_ptr<sb::chat::chat_store> store;
        if (const auto redis = sb::server::redis_endpoint(config)) {
            store =
                std::make_unique<sb::chat::redis_chat_store>(redis->first, redis->second, config.redis_key + ":chat:");
        } else {
            store = std::make_unique<sb::chat::sqlite_chat_store>(config.db_path);
        }
        sb::server::server http(config);
        sb::io::server io(http);
        sb::chat::chat_service chat(io, *store);
        http.run();
    } catch (const std::exception& e) {
        std::cerr << "switchboard: " << e.what() << '\n';
        return 1;
    }
    return 0;
}
