#pragma once
// The chat application, on the public Socket.IO API. Its events (the app's protocol) are listed in
// the README ("The chat's events"); every request is answered through its ack with {ok:true, …} or
// {ok:false, error:"…"}.

#include "chat_store.hpp"

#include <switchboard/io/io.hpp>

namespace switchboard::chat {

struct chat_limits {
    std::size_t max_nickname = 32;               ///< characters
    std::size_t max_room = 32;                   ///< characters
    std::size_t max_text = 2000;                 ///< characters
    std::size_t history_page = 50;               ///< messages sent on join and per history request
    std::size_t rate_messages = 10;              ///< at most this many messages …
    std::chrono::milliseconds rate_window{5000}; ///< … per window, per user
};

/// Serves the chat on the main namespace of `io`, storing messages in `store`. Both must outlive the
/// server's run().
void serve_chat(io::server& io, chat_store& store, chat_limits limits = {});

} // namespace switchboard::chat
