#include "chat.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>

namespace switchboard::chat {

namespace json = boost::json;

namespace {

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// Characters, not bytes (UTF-8 continuation bytes do not count).
std::size_t characters(std::string_view s) {
    return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string lowercase(std::string s) {
    for (auto& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

json::object ok(json::object fields = {}) {
    fields["ok"] = true;
    return fields;
}

json::object refuse(std::string_view why) { return {{"ok", false}, {"error", why}}; }

// What a client sends is read with the non-throwing accessors only: any JSON may arrive here.
const json::value* field(const io::event& e, std::string_view key) {
    const auto* o = e.args[0].if_object();
    return o ? o->if_contains(key) : nullptr;
}

const json::string* string_field(const io::event& e, std::string_view key) {
    const auto* v = field(e, key);
    return v ? v->if_string() : nullptr;
}

/// A JSON number that is a whole number JavaScript holds exactly (1, 1.0, not 1.5, 1e300 or -0.5).
std::optional<std::int64_t> whole_number(const json::value& v) {
    constexpr std::int64_t max_safe = (std::int64_t{1} << 53) - 1;
    if (const auto* i = v.if_int64(); i && *i >= -max_safe && *i <= max_safe) return *i;
    if (const auto* u = v.if_uint64(); u && *u <= static_cast<std::uint64_t>(max_safe))
        return static_cast<std::int64_t>(*u);
    if (const auto* d = v.if_double(); d && std::isfinite(*d) && std::trunc(*d) == *d && std::fabs(*d) <= max_safe)
        return static_cast<std::int64_t>(*d);
    return std::nullopt;
}

json::object to_json(const stored_message& m) {
    return {{"id", m.id}, {"room", m.room}, {"author", m.author}, {"text", m.text}, {"ts", m.ts}};
}

/// Socket.IO room of a chat room (socket ids are rooms too: keep the names apart).
std::string room_key(const std::string& room) { return "#" + room; }

bool valid_room(std::string_view room, std::size_t max) {
    if (room.empty() || room.size() > max) return false;
    return std::all_of(room.begin(), room.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    });
}

bool valid_nickname(std::string_view nick, std::size_t max) {
    const auto n = characters(nick);
    if (n == 0 || n > max) return false;
    if (nick.front() == ' ' || nick.back() == ' ') return false;
    return std::none_of(nick.begin(), nick.end(),
                        [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == '@'; });
}

struct user {
    std::string nickname;
    io::socket socket;
    std::set<std::string> rooms;
    std::deque<std::int64_t> recent; // send times within the rate window
};

} // namespace

/// Who is online, and where. One mutex: the handlers of different connections may run on different
/// I/O threads.
class chat_service::impl {
public:
    impl(io::server& io, chat_store& store, chat_limits limits) : io_(io), store_(store), limits_(limits) {}

    void on_connection(io::socket& socket) {
        auto self = this;
        socket.on("hello", [self, socket](io::event& e) { self->answer(e, self->hello(socket, e)); });
        socket.on("join", [self, socket](io::event& e) { self->answer(e, self->join(socket, e)); });
        socket.on("leave", [self, socket](io::event& e) { self->answer(e, self->leave(socket, e)); });
        socket.on("message", [self, socket](io::event& e) { self->answer(e, self->message(socket, e)); });
        socket.on("private", [self, socket](io::event& e) { self->answer(e, self->private_message(socket, e)); });
        socket.on("history", [self, socket](io::event& e) { self->answer(e, self->history(socket, e)); });
        socket.on("rooms", [self](io::event& e) { self->answer(e, self->room_list()); });
        socket.on("typing", [self, socket](io::event& e) { self->typing(socket, e); });
        socket.on_disconnect([self, id = socket.id()](std::string_view) { self->gone(id); });
    }

private:
    static void answer(io::event& e, json::object reply) {
        if (e.ack) e.ack(std::move(reply));
    }

    json::object hello(const io::socket& socket, const io::event& e) {
        const auto* nick = string_field(e, "nickname");
        if (!nick || !valid_nickname(*nick, limits_.max_nickname))
            return refuse("a nickname is 1 to 32 characters, without '@' or control characters");
        std::lock_guard lock(mutex_);
        if (users_.count(socket.id())) return refuse("you already have a nickname");
        const auto key = lowercase(std::string(*nick));
        if (by_nickname_.count(key)) return refuse("that nickname is taken");
        users_.emplace(socket.id(), user{std::string(*nick), socket, {}, {}});
        by_nickname_[key] = socket.id();
        return ok({{"nickname", *nick}});
    }

    json::object join(const io::socket& socket, const io::event& e) {
        const auto* room = string_field(e, "room");
        if (!room || !valid_room(*room, limits_.max_room))
            return refuse("a room name is 1 to 32 letters, digits, '-' or '_'");
        const std::string name(*room);
        std::string nickname;
        {
            std::lock_guard lock(mutex_);
            auto* u = find(socket.id());
            if (!u) return refuse("say hello with a nickname first");
            u->rooms.insert(name);
            rooms_[name].insert(u->nickname);
            nickname = u->nickname;
        }
        socket.join(room_key(name));
        json::array history;
        for (const auto& m : store_.page(name, 0, static_cast<int>(limits_.history_page)))
            history.push_back(to_json(m));
        socket.to(room_key(name))
            .emit("notification", json::object{{"kind", "joined"}, {"room", name}, {"nickname", nickname}});
        publish_presence(name);
        return ok({{"room", name}, {"history", std::move(history)}, {"members", members(name)}});
    }

    json::object leave(const io::socket& socket, const io::event& e) {
        const auto* room = string_field(e, "room");
        if (!room) return refuse("which room?");
        const std::string name(*room);
        std::string nickname;
        {
            std::lock_guard lock(mutex_);
            auto* u = find(socket.id());
            if (!u || !u->rooms.erase(name)) return refuse("you are not in that room");
            nickname = u->nickname;
            drop_member(name, nickname);
        }
        socket.leave(room_key(name));
        io_.to(room_key(name))
            .emit("notification", json::object{{"kind", "left"}, {"room", name}, {"nickname", nickname}});
        publish_presence(name);
        return ok({{"room", name}});
    }

    json::object message(const io::socket& socket, const io::event& e) {
        const auto* room = string_field(e, "room");
        const auto* text = string_field(e, "text");
        if (!room || !text) return refuse("a message needs a room and a text");
        const auto length = characters(*text);
        if (length == 0 || length > limits_.max_text) return refuse("a message is 1 to 2000 characters");
        const std::string name(*room);
        std::string author;
        const auto ts = now_ms();
        {
            std::lock_guard lock(mutex_);
            auto* u = find(socket.id());
            if (!u) return refuse("say hello with a nickname first");
            if (!u->rooms.count(name)) return refuse("join the room first");
            while (!u->recent.empty() && ts - u->recent.front() >= limits_.rate_window.count()) u->recent.pop_front();
            if (u->recent.size() >= limits_.rate_messages) return refuse("too many messages: at most 10 per 5 seconds");
            u->recent.push_back(ts);
            author = u->nickname;
        }
        // On disk before anyone hears of it: an acknowledged message survives a crash.
        const auto stored = store_.append(name, author, std::string(*text), ts);
        if (!stored) return refuse("the message could not be stored");
        io_.to(room_key(name)).emit("message", to_json(*stored));
        notify_mentions(*stored);
        return ok({{"id", stored->id}, {"ts", stored->ts}});
    }

    json::object private_message(const io::socket& socket, const io::event& e) {
        const auto* to = string_field(e, "to");
        const auto* text = string_field(e, "text");
        if (!to || !text) return refuse("a private message needs a recipient and a text");
        const auto length = characters(*text);
        if (length == 0 || length > limits_.max_text) return refuse("a message is 1 to 2000 characters");
        std::optional<io::socket> target;
        std::string from;
        {
            std::lock_guard lock(mutex_);
            auto* u = find(socket.id());
            if (!u) return refuse("say hello with a nickname first");
            from = u->nickname;
            const auto it = by_nickname_.find(lowercase(std::string(*to)));
            auto* recipient = it == by_nickname_.end() ? nullptr : find(it->second);
            if (!recipient) return refuse("nobody by that nickname is online");
            target = recipient->socket;
        }
        const auto ts = now_ms();
        json::object pm{{"from", from}, {"to", *to}, {"text", *text}, {"ts", ts}};
        target->emit("private", pm);
        target->emit("notification", json::object{{"kind", "private"}, {"from", from}, {"text", *text}});
        return ok({{"ts", ts}});
    }

    json::object history(const io::socket&, const io::event& e) {
        const auto* room = string_field(e, "room");
        if (!room || !valid_room(*room, limits_.max_room)) return refuse("which room?");
        std::int64_t before = 0; // 0: the newest page
        if (const auto* b = field(e, "before"); b && !b->is_null()) {
            const auto id = whole_number(*b);
            if (!id || *id < 0) return refuse("'before' is the id of a message");
            before = *id;
        }
        json::array messages;
        for (const auto& m : store_.page(std::string(*room), before, static_cast<int>(limits_.history_page)))
            messages.push_back(to_json(m));
        return ok({{"room", *room}, {"messages", std::move(messages)}});
    }

    json::object room_list() {
        std::lock_guard lock(mutex_);
        json::array rooms;
        for (const auto& [name, members] : rooms_)
            rooms.push_back(json::object{{"name", name}, {"members", members.size()}});
        return ok({{"rooms", std::move(rooms)}});
    }

    void typing(const io::socket& socket, const io::event& e) {
        const auto* room = string_field(e, "room");
        if (!room) return;
        std::string nickname;
        {
            std::lock_guard lock(mutex_);
            auto* u = find(socket.id());
            if (!u || !u->rooms.count(std::string(*room))) return;
            nickname = u->nickname;
        }
        // Volatile: a stale "is typing" is worth nothing, so it is never queued behind real traffic.
        socket.volatile_()
            .to(room_key(std::string(*room)))
            .emit("typing", json::object{{"room", *room}, {"nickname", nickname}});
    }

    void gone(const std::string& id) {
        std::string nickname;
        std::set<std::string> rooms;
        {
            std::lock_guard lock(mutex_);
            const auto it = users_.find(id);
            if (it == users_.end()) return;
            nickname = it->second.nickname;
            rooms = std::move(it->second.rooms);
            by_nickname_.erase(lowercase(nickname));
            users_.erase(it);
            for (const auto& room : rooms) drop_member(room, nickname);
        }
        for (const auto& room : rooms) {
            io_.to(room_key(room))
                .emit("notification", json::object{{"kind", "left"}, {"room", room}, {"nickname", nickname}});
            publish_presence(room);
        }
    }

    void notify_mentions(const stored_message& m) {
        std::vector<io::socket> mentioned;
        {
            std::lock_guard lock(mutex_);
            for (std::size_t at = m.text.find('@'); at != std::string::npos; at = m.text.find('@', at + 1)) {
                std::size_t end = at + 1;
                while (end < m.text.size() && m.text[end] != ' ' && m.text[end] != ',' && m.text[end] != '.' &&
                       m.text[end] != ':' && m.text[end] != '!' && m.text[end] != '?')
                    ++end;
                const auto it = by_nickname_.find(lowercase(m.text.substr(at + 1, end - at - 1)));
                if (auto* u = it == by_nickname_.end() ? nullptr : find(it->second)) mentioned.push_back(u->socket);
            }
        }
        for (auto& s : mentioned)
            s.emit("notification",
                   json::object{{"kind", "mention"}, {"room", m.room}, {"from", m.author}, {"text", m.text}});
    }

    void publish_presence(const std::string& room) {
        io_.to(room_key(room)).emit("presence", json::object{{"room", room}, {"members", members(room)}});
    }

    json::array members(const std::string& room) {
        std::lock_guard lock(mutex_);
        json::array out;
        if (const auto it = rooms_.find(room); it != rooms_.end())
            for (const auto& nick : it->second) out.emplace_back(nick);
        return out;
    }

    // Callers hold mutex_.
    user* find(const std::string& id) {
        const auto it = users_.find(id);
        return it == users_.end() ? nullptr : &it->second;
    }
    void drop_member(const std::string& room, const std::string& nickname) {
        const auto it = rooms_.find(room);
        if (it == rooms_.end()) return;
        it->second.erase(nickname);
        if (it->second.empty()) rooms_.erase(it);
    }

    io::server& io_;
    chat_store& store_;
    chat_limits limits_;
    std::mutex mutex_;
    std::map<std::string, user> users_;                  // by socket id
    std::map<std::string, std::string> by_nickname_;     // lowercase nickname -> socket id
    std::map<std::string, std::set<std::string>> rooms_; // room -> nicknames
};

chat_service::chat_service(io::server& io, chat_store& store, chat_limits limits)
    : impl_(std::make_unique<impl>(io, store, limits)) {
    io.on_connection([a = impl_.get()](io::socket& socket) { a->on_connection(socket); });
}

chat_service::~chat_service() = default;

} // namespace switchboard::chat
