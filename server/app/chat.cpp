#include "chat.hpp"
#include "nickname.hpp"
#include "store_worker.hpp"

#include "../src/util/random_id.hpp" // the server's id generator (OS randomness): the tokens must be unguessable

#include <switchboard/server/server.hpp>
#include <switchboard/sio/event_budget.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <unordered_map>

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

/// Where two users' private messages are stored: their nickname keys ("@…"), in order. No room name
/// holds an '@', so no `history` request reaches it.
std::string conversation_key(const std::string& a, const std::string& b) { return a < b ? a + b : b + a; }

bool valid_room(std::string_view room, std::size_t max) {
    if (room.empty() || room.size() > max) return false;
    return std::all_of(room.begin(), room.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    });
}

std::chrono::milliseconds steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch());
}

/// A user as this node remembers them across reconnects (by nickname key; the chat's mutex guards it):
/// their rate, and for a grace period after they leave, their nickname, which a reconnect reclaims
/// with the token its hello got.
struct user_record {
    explicit user_record(double rate) : budget(rate) {}
    sio::event_budget budget;        // every chat event
    std::deque<std::int64_t> recent; // message send times within the rate window
    std::string token;               // proves that a reconnect is the same user
    std::int64_t reserved_until = 0; // steady ms; 0 while connected
    std::set<std::string> rooms;     // the rooms others were told they joined (not yet that they left)
    std::uint64_t departures = 0;    // disconnects so far: a pending "left" is told only after the latest
};

/// What this node keeps of one of its connections (their handlers' state; the socket's strand only).
struct local_user {
    explicit local_user(double rate) : budget(rate) {}
    std::string nickname;                // empty until hello succeeds
    std::string key;                     // nickname_key(nickname): the user in the store's read marks
    bool claiming = false;               // a hello is being checked across the cluster
    std::set<std::string> rooms;         // what on_disconnect must announce (rooms are left by then)
    sio::event_budget budget;            // before hello: the connection's own
    std::shared_ptr<user_record> record; // after hello: the user's, kept across reconnects
};

/// The nicknames of the sockets `found`, sorted, each once.
json::array nicknames(const std::vector<io::remote_socket>& found) {
    std::set<std::string> names;
    for (const auto& s : found)
        if (const auto* o = s.data().if_object())
            if (const auto* nick = o->if_contains("nickname"); nick && nick->is_string())
                names.emplace(nick->get_string());
    return json::array(names.begin(), names.end());
}

} // namespace

/// The chat's handlers. What is cluster-wide lives in Socket.IO itself, so that several nodes on one
/// adapter (--redis) serve one chat: a user's nickname is their socket's data() and the room
/// "@<nickname>" (presence and uniqueness come from fetch_sockets over every node), a chat room is
/// the Socket.IO room "#<room>", and the history is the shared store.
class chat_service::impl : public std::enable_shared_from_this<impl> {
public:
    impl(io::server& io, chat_store& store, chat_limits limits, std::shared_ptr<store_worker> worker)
        : io_(io.main()), http_(io.http()), store_(store), limits_(limits), worker_(std::move(worker)) {}

    void on_connection(io::socket& socket) {
        auto self = this;
        auto me = std::make_shared<local_user>(limits_.events_per_second);
        // Every chat event spends from the user's bucket first; over it, an acked event is refused
        // and typing is dropped.
        const auto guarded = [self, me](auto handler) {
            return [self, me, handler](io::event& e) {
                if (self->within_rate(*me)) return handler(e);
                answer(e, refuse("slow down: too many requests"));
            };
        };
        socket.on("hello", guarded([self, socket, me](io::event& e) { self->hello(socket, me, e); }));
        socket.on("join", guarded([self, socket, me](io::event& e) { self->join(socket, *me, e); }));
        socket.on("leave", guarded([self, socket, me](io::event& e) { answer(e, self->leave(socket, *me, e)); }));
        socket.on("message", guarded([self, socket, me](io::event& e) { self->message(*me, e); }));
        socket.on("private", guarded([self, me](io::event& e) { self->private_message(*me, e); }));
        socket.on("history", guarded([self](io::event& e) { self->history(e); }));
        socket.on("conversation", guarded([self, me](io::event& e) { self->conversation(*me, e); }));
        socket.on("read", guarded([self, me](io::event& e) { self->mark_read(*me, e); }));
        socket.on("rooms", guarded([self](io::event& e) { self->room_list(e); }));
        socket.on("typing", guarded([self, socket, me](io::event& e) { self->typing(socket, *me, e); }));
        socket.on_disconnect([self, me](std::string_view) { self->gone(*me); });
        if (socket.recovered()) restore(socket, me);
    }

private:
    /// Connection state recovery brought the socket back: its nickname (its data) and rooms are there
    /// again, and the messages it missed were replayed. The user is who they were (their record, kept
    /// through the grace period), and their rooms hear that they are back.
    void restore(const io::socket& socket, const std::shared_ptr<local_user>& me) {
        const auto* o = socket.data().if_object();
        const auto* nick = o ? o->if_contains("nickname") : nullptr;
        if (!nick || !nick->is_string()) return;
        me->nickname = nick->get_string();
        me->key = nickname_key(me->nickname);
        me->record = claim(me->key, nullptr);
        for (const auto& room : socket.rooms())
            if (room.size() > 1 && room.front() == '#') me->rooms.insert(room.substr(1));
        for (const auto& room : me->rooms) {
            if (now_member(*me, room)) // not if they were back before anyone was told they left
                socket.to(room_key(room))
                    .emit("notification", json::object{{"kind", "joined"}, {"room", room}, {"nickname", me->nickname}});
            publish_presence(room);
        }
    }

    bool within_rate(local_user& me) {
        if (!me.record) return me.budget.take(steady_ms()) == sio::event_budget::verdict::deliver;
        std::lock_guard lock(users_mutex_);
        return me.record->budget.take(steady_ms()) == sio::event_budget::verdict::deliver;
    }

    /// The nickname's grace period: refused when its owner left moments ago and this is not them.
    std::optional<std::string> reserved(const std::string& key, const std::string* token) {
        std::lock_guard lock(users_mutex_);
        const auto it = users_.find(key);
        if (it == users_.end()) return std::nullopt;
        const auto& r = *it->second;
        const auto now = steady_ms().count();
        if (r.reserved_until == 0 || now >= r.reserved_until || (token && *token == r.token)) return std::nullopt;
        return fmt::format("that nickname is kept for its owner for {} more seconds",
                           (r.reserved_until - now + 999) / 1000);
    }

    /// The user's record, on a successful hello: theirs again when it is a reconnect (or the grace
    /// period is over), a new one otherwise.
    std::shared_ptr<user_record> claim(const std::string& key, const std::string* token) {
        std::lock_guard lock(users_mutex_);
        auto& slot = users_[key];
        const auto now = steady_ms().count();
        const bool theirs = slot && token && *token == slot->token;
        const bool lapsed = slot && slot->reserved_until != 0 && now >= slot->reserved_until;
        if (!slot || (!theirs && lapsed)) {
            slot = std::make_shared<user_record>(limits_.events_per_second);
            slot->token = switchboard::server::random_id();
        }
        slot->reserved_until = 0;
        return slot;
    }

    /// The user disconnected: their nickname is kept for them a while. Returns the departure's number.
    std::uint64_t release(const local_user& me) {
        std::lock_guard lock(users_mutex_);
        const auto now = steady_ms().count();
        me.record->reserved_until = now + limits_.nickname_grace.count();
        const auto departure = ++me.record->departures;
        if (++releases_ % 256 != 0) return departure; // now and then, forget users whose grace is over
        std::erase_if(users_, [now](const auto& entry) {
            return entry.second->reserved_until != 0 && now >= entry.second->reserved_until;
        });
        return departure;
    }

    /// Records that the user is in `room`; true when that is news to the room's members.
    bool now_member(const local_user& me, const std::string& room) {
        std::lock_guard lock(users_mutex_);
        return me.record->rooms.insert(room).second;
    }

    static void answer(const io::event& e, json::object reply) {
        if (e.ack) e.ack(std::move(reply));
    }
    static void answer(const io::ack_responder& ack, json::object reply) {
        if (ack) ack(std::move(reply));
    }

    /// Claims the nickname (data and the room "@nickname"), then asks every node whether another
    /// socket holds it: if so, both step back (safe under a race: at worst both are refused).
    void hello(const io::socket& socket, const std::shared_ptr<local_user>& me, const io::event& e) {
        const auto* nick = string_field(e, "nickname");
        if (!nick) return answer(e, refuse("which nickname?"));
        std::string why;
        const auto normal = normalize_nickname(*nick, limits_.max_nickname, why);
        if (!normal) return answer(e, refuse(why));
        if (!me->nickname.empty() || me->claiming) return answer(e, refuse("you already have a nickname"));
        const std::string nickname = *normal;
        // The room "@key" holds the nickname: one look-alike or case variant of another is the same key.
        const auto key = nickname_key(nickname);
        const auto* given = string_field(e, "token");
        std::optional<std::string> token = given ? std::optional<std::string>(*given) : std::nullopt;
        if (auto why = reserved(key, token ? &*token : nullptr)) return answer(e, refuse(*why));
        me->claiming = true;
        socket.data() = json::object{{"nickname", nickname}};
        socket.join(key);
        // socket.to(): the answer comes back on this socket's strand, where `me` lives.
        socket.to(key).fetch_socket_ids([self = shared_from_this(), socket, me, nickname, key, token,
                                         ack = e.ack](std::error_code ec, std::vector<std::string> ids) {
            me->claiming = false;
            std::erase(ids, socket.id());
            if (ec || !ids.empty()) {
                socket.leave(key);
                socket.data() = nullptr;
                return answer(ack, refuse(ec ? "the other nodes did not answer: try again" : "that nickname is taken"));
            }
            me->nickname = nickname;
            me->key = key;
            me->record = self->claim(key, token ? &*token : nullptr);
            // With the rooms and private conversations the user has (their read marks, in the store), so
            // that a reload finds them again with their unread counts.
            self->worker_->post([self, key, nickname, token = me->record->token, ack] {
                json::array rooms, conversations;
                for (const auto& [place, id] : self->store_.read_marks(key)) {
                    if (place.starts_with('@'))
                        conversations.push_back(json::object{{"with", place.substr(1)}, {"lastRead", id}});
                    else
                        rooms.push_back(json::object{{"room", place}, {"lastRead", id}});
                }
                answer(ack, ok({{"nickname", nickname},
                                {"token", token},
                                {"rooms", std::move(rooms)},
                                {"conversations", std::move(conversations)}}));
            });
        });
    }

    void join(const io::socket& socket, local_user& me, const io::event& e) {
        const auto* room = string_field(e, "room");
        if (!room || !valid_room(*room, limits_.max_room))
            return answer(e, refuse("a room name is 1 to 32 letters, digits, '-' or '_'"));
        if (me.nickname.empty()) return answer(e, refuse("say hello with a nickname first"));
        const std::string name(*room);
        // Joining a room again answers as the first time, but tells nobody: membership did not change.
        const bool fresh = !me.rooms.count(name);
        if (fresh && me.rooms.size() >= limits_.max_rooms)
            return answer(e, refuse(fmt::format("too many rooms (at most {})", limits_.max_rooms)));
        if (fresh && !socket.join(room_key(name))) return answer(e, refuse("too many rooms"));
        me.rooms.insert(name);
        // Told once per membership: not again when a reload or a reconnect comes back to the room.
        if (fresh && now_member(me, name))
            socket.to(room_key(name))
                .emit("notification", json::object{{"kind", "joined"}, {"room", name}, {"nickname", me.nickname}});
        // The history and the user's read mark from the store's thread; then the members, from every node.
        worker_->post([self = shared_from_this(), name, fresh, key = me.key, ack = e.ack] {
            json::array history;
            for (const auto& m : self->store_.page(name, 0, static_cast<int>(self->limits_.history_page)))
                history.push_back(to_json(m));
            self->store_.mark_read(key, name, 0); // the room is the user's (listed on their next hello)
            const auto last_read = self->read_mark(key, name);
            self->io_.in(room_key(name))
                .fetch_sockets([self, name, fresh, last_read, history = std::move(history),
                                ack](std::error_code, std::vector<io::remote_socket> found) mutable {
                    auto members = nicknames(found);
                    if (fresh) self->publish_presence(name);
                    answer(ack, ok({{"room", name},
                                    {"history", std::move(history)},
                                    {"members", std::move(members)},
                                    {"lastRead", last_read}}));
                });
        });
    }

    /// The user's read mark of `place` (0: none). On the store's thread.
    std::int64_t read_mark(const std::string& key, const std::string& place) {
        for (const auto& [p, id] : store_.read_marks(key))
            if (p == place) return id;
        return 0;
    }

    /// `read` {room | with, id}: the user has seen the place up to message `id`.
    void mark_read(const local_user& me, const io::event& e) {
        if (me.nickname.empty()) return answer(e, refuse("say hello with a nickname first"));
        const auto* id_field = field(e, "id");
        const auto id = id_field ? whole_number(*id_field) : std::nullopt;
        if (!id || *id < 0) return answer(e, refuse("'id' is the id of a message"));
        std::string place;
        if (const auto* room = string_field(e, "room")) {
            if (!me.rooms.count(std::string(*room))) return answer(e, refuse("join the room first"));
            place = std::string(*room);
        } else if (const auto* with = string_field(e, "with"); with && !with->empty()) {
            if (with->size() > 4 * limits_.max_nickname) return answer(e, refuse("who is that?"));
            place = "@" + std::string(*with);
        } else {
            return answer(e, refuse("read which room or conversation?"));
        }
        worker_->post([self = shared_from_this(), key = me.key, place = std::move(place), id = *id, ack = e.ack] {
            // A conversation is listed by its first message, never by a read mark: a client cannot fill
            // the store with conversations that do not exist.
            // (Existence, not the mark's value: a conversation's mark may be 0.) Rooms need no look-up.
            if (place.starts_with('@')) {
                const auto marks = self->store_.read_marks(key);
                if (std::none_of(marks.begin(), marks.end(), [&](const auto& m) { return m.first == place; }))
                    return answer(ack, refuse("no such conversation"));
            }
            self->store_.mark_read(key, place, id);
            answer(ack, ok());
        });
    }

    json::object leave(const io::socket& socket, local_user& me, const io::event& e) {
        const auto* room = string_field(e, "room");
        if (!room) return refuse("which room?");
        const std::string name(*room);
        if (!me.rooms.erase(name)) return refuse("you are not in that room");
        socket.leave(room_key(name));
        {
            std::lock_guard lock(users_mutex_);
            me.record->rooms.erase(name);
        }
        worker_->post([self = shared_from_this(), key = me.key, name] { self->store_.forget(key, name); });
        io_.to(room_key(name))
            .emit("notification", json::object{{"kind", "left"}, {"room", name}, {"nickname", me.nickname}});
        publish_presence(name);
        return ok({{"room", name}});
    }

    void message(local_user& me, const io::event& e) {
        if (auto refused = check_message(me, e)) return answer(e, std::move(*refused));
        // Stored before anyone hears of it (an acknowledged message survives a crash), on the store's
        // thread: in the order the messages came, and never on a connection's.
        worker_->post([self = shared_from_this(), room = std::string(*string_field(e, "room")), author = me.nickname,
                       text = std::string(*string_field(e, "text")), ts = now_ms(), ack = e.ack] {
            const auto stored = self->store_.append(room, author, text, ts);
            if (!stored) return answer(ack, refuse("the message could not be stored"));
            self->io_.to(room_key(room)).emit("message", to_json(*stored));
            self->notify_mentions(*stored);
            answer(ack, ok({{"id", stored->id}, {"ts", stored->ts}}));
        });
    }

    /// Why a message is refused (on the connection's strand: its rooms and rate), or nothing.
    std::optional<json::object> check_message(local_user& me, const io::event& e) {
        const auto* room = string_field(e, "room");
        const auto* text = string_field(e, "text");
        if (!room || !text) return refuse("a message needs a room and a text");
        const auto length = characters(*text);
        if (length == 0 || length > limits_.max_text) return refuse("a message is 1 to 2000 characters");
        const std::string name(*room);
        const auto ts = now_ms();
        if (me.nickname.empty()) return refuse("say hello with a nickname first");
        if (!me.rooms.count(name)) return refuse("join the room first");
        {
            std::lock_guard lock(users_mutex_);
            auto& recent = me.record->recent;
            while (!recent.empty() && ts - recent.front() >= limits_.rate_window.count()) recent.pop_front();
            if (recent.size() >= limits_.rate_messages) return refuse("too many messages: at most 10 per 5 seconds");
            recent.push_back(ts);
        }
        return std::nullopt;
    }

    /// A private message: stored in the two users' conversation (its history, paged like a room's),
    /// then told to the recipient and to the sender's own page, wherever they are connected.
    void private_message(const local_user& me, const io::event& e) {
        const auto* to = string_field(e, "to");
        const auto* text = string_field(e, "text");
        if (!to || !text) return answer(e, refuse("a private message needs a recipient and a text"));
        const auto length = characters(*text);
        if (length == 0 || length > limits_.max_text) return answer(e, refuse("a message is 1 to 2000 characters"));
        if (me.nickname.empty()) return answer(e, refuse("say hello with a nickname first"));
        if (to->size() > 4 * limits_.max_nickname) return answer(e, refuse("nobody by that nickname is online"));
        const auto key = nickname_key(*to);
        if (key == me.key) return answer(e, refuse("that is you"));
        // Whoever holds the nickname, on any node: their nickname as they spell it.
        io_.in(key).fetch_sockets([self = shared_from_this(), key, from = me.nickname, from_key = me.key,
                                   text = std::string(*text),
                                   ack = e.ack](std::error_code, std::vector<io::remote_socket> found) mutable {
            const auto names = nicknames(found);
            if (names.empty() || !names[0].is_string()) return answer(ack, refuse("nobody by that nickname is online"));
            std::string to_nickname(names[0].get_string());
            self->worker_->post([self, key, from, from_key, to_nickname = std::move(to_nickname),
                                 text = std::move(text), ts = now_ms(), ack] {
                const auto stored = self->store_.append(conversation_key(from_key, key), from, text, ts);
                if (!stored) return answer(ack, refuse("the message could not be stored"));
                self->store_.mark_read(from_key, "@" + to_nickname, stored->id); // the sender has read it
                self->store_.mark_read(key, "@" + from, 0);                      // listed for the recipient
                const json::object pm{
                    {"id", stored->id}, {"from", from}, {"to", to_nickname}, {"text", text}, {"ts", ts}};
                self->io_.to(key).emit("private", pm);
                self->io_.to(from_key).emit("private", pm); // the sender's page, and their other tabs
                self->io_.to(key).emit(
                    "notification",
                    json::object{{"kind", "private"}, {"from", from}, {"id", stored->id}, {"text", text}});
                answer(ack, ok({{"id", stored->id}, {"ts", ts}, {"to", to_nickname}}));
            });
        });
    }

    /// `conversation` {with, before?}: a page of the private conversation with `with`, as `history` is
    /// for a room, with the user's read mark.
    void conversation(const local_user& me, const io::event& e) {
        if (me.nickname.empty()) return answer(e, refuse("say hello with a nickname first"));
        const auto* with = string_field(e, "with");
        if (!with || with->empty() || with->size() > 4 * limits_.max_nickname) return answer(e, refuse("with whom?"));
        std::int64_t before = 0;
        if (const auto* b = field(e, "before"); b && !b->is_null()) {
            const auto id = whole_number(*b);
            if (!id || *id < 0) return answer(e, refuse("'before' is the id of a message"));
            before = *id;
        }
        worker_->post([self = shared_from_this(), key = me.key, with = std::string(*with), before, ack = e.ack] {
            const auto place = conversation_key(key, nickname_key(with));
            json::array messages;
            for (const auto& m : self->store_.page(place, before, static_cast<int>(self->limits_.history_page)))
                messages.push_back(json::object{{"id", m.id}, {"author", m.author}, {"text", m.text}, {"ts", m.ts}});
            answer(ack, ok({{"with", with},
                            {"messages", std::move(messages)},
                            {"lastRead", self->read_mark(key, "@" + with)}}));
        });
    }

    void history(const io::event& e) {
        const auto* room = string_field(e, "room");
        if (!room || !valid_room(*room, limits_.max_room)) return answer(e, refuse("which room?"));
        std::int64_t before = 0; // 0: the newest page
        if (const auto* b = field(e, "before"); b && !b->is_null()) {
            const auto id = whole_number(*b);
            if (!id || *id < 0) return answer(e, refuse("'before' is the id of a message"));
            before = *id;
        }
        worker_->post([self = shared_from_this(), room = std::string(*room), before, ack = e.ack] {
            json::array messages;
            for (const auto& m : self->store_.page(room, before, static_cast<int>(self->limits_.history_page)))
                messages.push_back(to_json(m));
            answer(ack, ok({{"room", room}, {"messages", std::move(messages)}}));
        });
    }

    /// Every chat room with its number of members, over every node.
    void room_list(const io::event& e) {
        io_.fetch_sockets([ack = e.ack](std::error_code, std::vector<io::remote_socket> found) {
            std::map<std::string, std::set<std::string>> rooms; // room -> nicknames
            for (const auto& s : found) {
                const auto* o = s.data().if_object();
                const auto* nick = o ? o->if_contains("nickname") : nullptr;
                if (!nick || !nick->is_string()) continue;
                for (const auto& r : s.rooms())
                    if (r.size() > 1 && r.front() == '#') rooms[r.substr(1)].emplace(nick->get_string());
            }
            json::array out;
            for (const auto& [name, members] : rooms)
                out.push_back(json::object{{"name", name}, {"members", members.size()}});
            answer(ack, ok({{"rooms", std::move(out)}}));
        });
    }

    void typing(const io::socket& socket, const local_user& me, const io::event& e) {
        const auto* room = string_field(e, "room");
        if (!room || me.nickname.empty() || !me.rooms.count(std::string(*room))) return;
        // Volatile: a stale "is typing" is worth nothing, so it is never queued behind real traffic.
        socket.volatile_()
            .to(room_key(std::string(*room)))
            .emit("typing", json::object{{"room", *room}, {"nickname", me.nickname}});
    }

    void gone(const local_user& me) {
        if (me.nickname.empty()) return;
        const auto departure = release(me);
        for (const auto& room : me.rooms) publish_presence(room); // who is here: at once
        // "X left" waits a moment: a reload or a reconnect that comes back meanwhile changed nothing.
        http_.post_after(
            limits_.leave_grace, [self = shared_from_this(), record = me.record, departure, nickname = me.nickname] {
                std::set<std::string> rooms;
                {
                    std::lock_guard lock(self->users_mutex_);
                    if (record->departures != departure || record->reserved_until == 0) return; // back, or gone again
                    rooms.swap(record->rooms);
                }
                for (const auto& room : rooms)
                    self->io_.to(room_key(room))
                        .emit("notification", json::object{{"kind", "left"}, {"room", room}, {"nickname", nickname}});
            });
    }

    void notify_mentions(const stored_message& m) {
        std::set<std::string> mentioned;
        for (std::size_t at = m.text.find('@'); at != std::string::npos; at = m.text.find('@', at + 1)) {
            std::size_t end = at + 1;
            while (end < m.text.size() && m.text[end] != ' ' && m.text[end] != ',' && m.text[end] != '.' &&
                   m.text[end] != ':' && m.text[end] != '!' && m.text[end] != '?')
                ++end;
            if (end > at + 1) mentioned.insert(nickname_key(m.text.substr(at + 1, end - at - 1)));
            if (mentioned.size() == limits_.max_mentions) break; // a message cannot page the whole server
        }
        // Whoever holds a mentioned nickname, on any node; nobody, if nobody does.
        for (const auto& key : mentioned)
            io_.to(key).emit("notification",
                             json::object{{"kind", "mention"}, {"room", m.room}, {"from", m.author}, {"text", m.text}});
    }

    /// A room's members changed: its presence goes out once per presence_delay however many joined or
    /// left meanwhile (a crowd arriving would otherwise send each member a list per arrival).
    void publish_presence(const std::string& room) {
        {
            std::lock_guard lock(presence_mutex_);
            presence_due_.insert(room);
            if (presence_armed_) return;
            presence_armed_ = true;
        }
        http_.post_after(limits_.presence_delay, [self = shared_from_this()] { self->flush_presence(); });
    }
    void flush_presence() {
        std::set<std::string> due;
        {
            std::lock_guard lock(presence_mutex_);
            due.swap(presence_due_);
            presence_armed_ = false;
        }
        for (const auto& room : due)
            io_.in(room_key(room))
                .fetch_sockets(
                    [self = shared_from_this(), room](std::error_code, std::vector<io::remote_socket> found) {
                        self->announce_presence(room, nicknames(found));
                    });
    }
    void announce_presence(const std::string& room, const json::array& members) {
        io_.to(room_key(room)).emit("presence", json::object{{"room", room}, {"members", members}});
    }

    const io::nsp io_;                  // the main namespace (a handle: callbacks that outlive the server stay safe)
    switchboard::server::server& http_; // timers
    std::mutex presence_mutex_;
    std::set<std::string> presence_due_; // rooms whose members changed since the last presence
    bool presence_armed_ = false;
    chat_store& store_;
    chat_limits limits_;
    std::shared_ptr<store_worker> worker_; // the store's thread (stopped by chat_service; posts after it are dropped)
    std::mutex users_mutex_;
    std::unordered_map<std::string, std::shared_ptr<user_record>> users_; // by nickname key
    std::uint64_t releases_ = 0;
};

chat_service::chat_service(io::server& io, chat_store& store, chat_limits limits, bool store_thread)
    : impl_(nullptr), worker_(std::make_shared<store_worker>(store_thread)) {
    prepare_nicknames(); // before the server's threads run the handlers
    impl_ = std::make_shared<impl>(io, store, limits, worker_);
    io.on_connection([a = impl_.get()](io::socket& socket) { a->on_connection(socket); });
}

chat_service::~chat_service() { worker_->stop(); }

} // namespace switchboard::chat
