#pragma once
// The chat application, on the public Socket.IO API. Its events (the app's protocol) are listed in
// the README ("The chat's events"); every request is answered through its ack with {ok:true, …} or
// {ok:false, error:"…"}.

#include "chat_store.hpp"

#include <switchboard/io/io.hpp>

#include <memory>

namespace switchboard::chat {

struct chat_limits {
    std::size_t max_nickname = 32;                   ///< characters
    std::size_t max_room = 32;                       ///< characters
    std::size_t max_text = 2000;                     ///< characters
    std::size_t history_page = 50;                   ///< messages sent on join and per history request
    std::size_t max_rooms = 50;                      ///< rooms one user may be in
    std::size_t max_mentions = 10;                   ///< distinct nicknames one message notifies
    std::size_t rate_messages = 10;                  ///< at most this many messages …
    std::chrono::milliseconds rate_window{5000};     ///< … per window, per user
    double events_per_second = 20;                   ///< every chat event of a user (bursts of 5x), across reconnects
    std::chrono::milliseconds nickname_grace{30000}; ///< a nickname stays its owner's this long after a disconnect
    std::chrono::milliseconds leave_grace{3000};     ///< "X left" waits this long for them to come back (a reload)
    std::chrono::milliseconds presence_delay{200};   ///< a room's presence goes out at most this often
};

/// The chat on the main namespace of `io`, storing messages in `store`. Create it after `io` (so it
/// goes first) and keep it while the server runs; `io` and `store` must outlive it.
class store_worker;

class chat_service {
public:
    /// `store_thread` false: the store's work runs inline (tests that play every strand on one thread).
    chat_service(io::server& io, chat_store& store, chat_limits limits = {}, bool store_thread = true);
    ~chat_service();
    chat_service(const chat_service&) = delete;
    chat_service& operator=(const chat_service&) = delete;

    class impl;

private:
    std::shared_ptr<impl> impl_; // shared with the cluster queries still under way
    // Shared with impl_ (replies that come back late may still post to it); stopped first, in the
    // destructor: its queued tasks finish while impl_ lives, later posts are dropped.
    std::shared_ptr<store_worker> worker_;
};

} // namespace switchboard::chat
