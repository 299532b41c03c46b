#pragma once
// The changes a recovery journal (SQLite: sqlite_journal.hpp, Redis: redis_journal.hpp) queues for its
// writer thread besides stored packets and sessions: one definition for both.

#include <cstdint>
#include <string>
#include <vector>

namespace switchboard::server::recovery::journal_change {

/// A session ended for good (recovered elsewhere, expired): forget it.
struct drop {
    std::string pid;
};
/// Packets up to and including this offset left the buffer's window: forget them.
struct purge {
    std::uint64_t through;
};
/// The rooms a disconnected session was in (restored with it).
struct rooms {
    std::string pid;
    std::vector<std::string> list;
};

} // namespace switchboard::server::recovery::journal_change
