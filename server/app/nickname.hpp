#pragma once
// Nicknames as people type them, made safe to show and to compare (the chat's, private to app/):
// NFKC-normalised (a fullwidth "ｂｏｂ" is "bob"), without control, invisible, bidi-control,
// private-use or unassigned characters, and compared through ICU's confusable skeleton after case
// folding, so that "alice", "Alice" and "аlice" (a Cyrillic а) are one nickname.

#include <optional>
#include <string>
#include <string_view>

namespace switchboard::chat {

/// Loads ICU's data (normalisation, confusables) now: call it before the threads that use the functions
/// below start, so that ICU's lazy, once-only initialisation is behind them.
void prepare_nicknames();

/// `raw` normalised for display, or nothing with the reason in `why` (for the client).
std::optional<std::string> normalize_nickname(std::string_view raw, std::size_t max_characters, std::string& why);

/// What makes two nicknames the same: "@" + the skeleton of the case-folded NFKC form. The Socket.IO
/// room of the user who holds it (private messages and mentions go there).
std::string nickname_key(std::string_view nickname);

} // namespace switchboard::chat
