// The admin UI's namespace (@socket.io/admin-ui): what its dashboard expects of a server, as the Node
// package's instrument() does it (../shared/PROTOCOL-NOTES.md §1). The aggregated traffic comes from
// the metrics' per-thread counters (the difference between two 2-second ticks), so the I/O paths pay
// nothing extra for it; the per-socket events (development mode) come from a connection observer on
// every namespace and the adapters' room changes.
#include <switchboard/io/admin.hpp>

#include "core.hpp"

#include <openssl/crypto.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cctype>
#include <random>

namespace switchboard::io {

namespace {

namespace json = boost::json;

// A JavaScript Date as JSON.stringify writes it: "2026-12-03T06:30:00.123Z".
std::string iso(std::chrono::system_clock::time_point t) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday,
                       utc.tm_hour, utc.tm_min, utc.tm_sec, ms % 1000);
}
std::string now_iso() { return iso(std::chrono::system_clock::now()); }

std::string hostname() {
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) != 0) return "switchboard";
    return name;
}

std::string random_hex(std::size_t bytes) {
    static thread_local std::mt19937_64 random{std::random_device{}()};
    std::string out;
    for (std::size_t i = 0; i < bytes; ++i) out += fmt::format("{:02x}", static_cast<unsigned>(random() & 0xff));
    return out;
}

bool same(std::string_view a, std::string_view b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

json::array strings(const std::vector<std::string>& list) {
    json::array out;
    for (const auto& s : list) out.emplace_back(s);
    return out;
}

// The dashboard's SerializedSocket: the handshake without `auth`, the address as a proxy saw it.
json::object serialize(const std::string& nsp, const std::string& id, const std::string& conn_id,
                       std::string_view transport, const handshake_info& h, const std::vector<std::string>& rooms,
                       const json::value& data) {
    json::object headers;
    for (const auto& [raw, value] : h.headers) {
        std::string name(raw); // lower case, as Node hands them over
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        auto& slot = headers[name];
        slot = slot.is_string() ? json::value(std::string(slot.get_string()) + ", " + value) : json::value(value);
    }
    json::object query;
    for (const auto& [k, v] : h.query) query[k] = v;
    std::string address = h.address;
    if (const auto* cf = h.header("cf-connecting-ip"))
        address = *cf;
    else if (const auto* xff = h.header("x-forwarded-for"))
        address = *xff;
    const auto issued = std::chrono::duration_cast<std::chrono::milliseconds>(h.time.time_since_epoch()).count();
    return json::object{
        {"id", id},
        {"clientId", conn_id.substr(0, 12)},
        {"transport", transport},
        {"nsp", nsp},
        {"data", data.is_null() ? json::value(json::object{}) : data},
        {"handshake", json::object{{"address", address},
                                   {"headers", std::move(headers)},
                                   {"query", std::move(query)},
                                   {"issued", issued},
                                   {"secure", false},
                                   {"time", iso(h.time)},
                                   {"url", h.url},
                                   {"xdomain", h.xdomain}}},
        {"rooms", strings(rooms)},
    };
}

json::object serialize(const socket& s) {
    return serialize(s.nsp_name(), s.id(), s.conn_id(), s.transport(), s.handshake(), s.rooms(), s.data());
}

// What the dashboard shares between its connections and the stats timer.
struct admin_state {
    admin_ui_options options;
    std::string server_id;
    nsp admin;
    std::weak_ptr<detail::io_core> core;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    std::mutex mutex;
    std::vector<std::string> sessions;                       // login sessions handed out
    std::unordered_map<std::string, std::string> new_logins; // socket id -> the session it earned
    switchboard::server::metrics::totals last;               // the counters at the previous tick

    admin_state(admin_ui_options o, nsp a) : options(std::move(o)), admin(std::move(a)) {
        server_id = options.server_id.empty() ? hostname() : options.server_id;
        last = switchboard::server::metrics::sum();
    }

    json::array features() const {
        json::array f;
        if (!options.readonly)
            for (const char* name : {"EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT"})
                f.emplace_back(name);
        f.emplace_back("AGGREGATED_EVENTS");
        if (!options.production) f.emplace_back("ALL_EVENTS");
        return f;
    }

    // server_stats: the aggregated events are the counters' growth since the last tick.
    /// `consume`: the events are taken (the 2-second tick); otherwise none are reported (a newcomer's copy).
    json::object stats(detail::io_core& c, bool consume = true) {
        using switchboard::server::metrics::counter;
        const auto now = switchboard::server::metrics::sum();
        const auto second =
            std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
                .count() *
            1000;
        json::array events;
        const auto add = [&](const char* type, counter k) {
            if (const auto grown = now[k] - last[k])
                events.push_back(json::object{{"timestamp", second}, {"type", type}, {"count", grown}});
        };
        if (consume) {
            std::lock_guard lock(mutex);
            add("rawConnection", counter::sessions_opened);
            add("rawDisconnection", counter::sessions_closed);
            add("packetsIn", counter::packets_in);
            add("packetsOut", counter::packets_out);
            add("bytesIn", counter::bytes_in);
            add("bytesOut", counter::bytes_out);
            last = now;
        }
        json::array namespaces;
        for (const auto& ns : c.namespaces())
            namespaces.push_back(json::object{{"name", ns->name}, {"socketsCount", ns->socket_count()}});
        const auto sessions = c.http.sessions();
        return json::object{
            {"serverId", server_id},
            {"hostname", hostname()},
            {"pid", ::getpid()},
            {"uptime", std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()},
            {"clientsCount", sessions.polling + sessions.websocket},
            {"pollingClientsCount", sessions.polling},
            {"aggregatedEvents", std::move(events)},
            {"namespaces", std::move(namespaces)},
        };
    }

    // The dashboard names namespaces that exist; it never makes one.
    std::optional<nsp> existing(detail::io_core& c, const json::value& name) {
        const auto* s = name.if_string();
        if (!s) return std::nullopt;
        for (const auto& ns : c.namespaces())
            if (ns->name == *s) return nsp(ns);
        return std::nullopt;
    }
};

// Its actions: emit(nsp, filter, event, ...args), join/leave(nsp, room, filter), _disconnect(nsp, close, filter).
void serve_actions(const std::shared_ptr<admin_state>& state, socket& s) {
    const auto target = [state](detail::io_core& c, const json::value& name,
                                const json::value& filter) -> std::optional<broadcast_operator> {
        auto ns = state->existing(c, name);
        if (!ns) return std::nullopt;
        if (const auto* room = filter.if_string()) return ns->all().in(std::string(*room));
        return ns->all();
    };
    s.on("emit", [state, target](event& e) {
        auto core = state->core.lock();
        const auto* name = e.args[2].if_string();
        if (!core || !name) return;
        if (auto t = target(*core, e.args[0], e.args[1])) {
            auto args = std::move(e.args);
            args.values.erase(args.values.begin(), args.values.begin() + std::min<std::size_t>(3, args.values.size()));
            t->emit_args(std::string(*name), std::move(args));
        }
    });
    const auto rooms_action = [state, target](bool join) {
        return [state, target, join](event& e) {
            auto core = state->core.lock();
            const auto* room = e.args[1].if_string();
            if (!core || !room) return;
            if (auto t = target(*core, e.args[0], e.args[2])) {
                if (join)
                    t->sockets_join({std::string(*room)});
                else
                    t->sockets_leave({std::string(*room)});
            }
        };
    };
    s.on("join", rooms_action(true));
    s.on("leave", rooms_action(false));
    s.on("_disconnect", [state, target](event& e) {
        auto core = state->core.lock();
        if (!core) return;
        const bool close = e.args[1].is_bool() && e.args[1].get_bool();
        if (auto t = target(*core, e.args[0], e.args[2])) t->disconnect_sockets(close);
    });
}

// Development mode: every socket of every namespace, as it comes and goes, its events both ways.
void observe(const std::shared_ptr<admin_state>& state, detail::io_core& core) {
    const auto admin_name = state->admin.name();
    core.observe(
        [state, admin_name](socket& s) {
            state->admin.emit("socket_connected", serialize(s), now_iso());
            s.on_disconnect([state, nsp = s.nsp_name(), id = s.id()](std::string_view reason) {
                state->admin.emit("socket_disconnected", nsp, id, std::string(reason), now_iso());
            });
            if (s.nsp_name() == admin_name) return; // its own traffic would only echo
            const auto tell = [state, nsp = s.nsp_name(), id = s.id()](const char* what) {
                return [state, nsp, id, what](const std::string& name, const arguments& args) {
                    json::array all{json::value(name)};
                    for (const auto& v : args.values) all.push_back(v);
                    state->admin.emit(what, nsp, id, std::move(all), now_iso());
                };
            };
            s.on_any(tell("event_received"));
            s.on_any_outgoing(tell("event_sent"));
        },
        [state](const std::string& nsp, const std::string& room, const std::string& sid, bool joined) {
            state->admin.emit(joined ? "room_joined" : "room_left", nsp, room, sid, now_iso());
        });
    core.observe_upgrades([state](const std::string& nsp, const std::string& sid) {
        state->admin.emit("socket_updated", json::object{{"id", sid}, {"nsp", nsp}, {"transport", "websocket"}});
    });
}

void send_stats_every(const std::shared_ptr<admin_state>& state, std::chrono::milliseconds every) {
    auto core = state->core.lock();
    if (!core) return;
    core->http.post_after(every, [weak = std::weak_ptr<admin_state>(state), every] {
        auto s = weak.lock();
        if (!s) return;
        if (auto c = s->core.lock()) s->admin.emit("server_stats", s->stats(*c));
        send_stats_every(s, every);
    });
}

} // namespace

void instrument(server& io, admin_ui_options options) {
    auto admin = io.of(options.nsp);
    auto state = std::make_shared<admin_state>(std::move(options), admin);
    state->core = io.core_;
    const auto& opts = state->options;

    if (opts.auth) {
        // A login (username and password) earns a session id the dashboard keeps to come back without them.
        admin.use([state](socket& s, next_fn next) {
            const auto& auth = s.handshake().auth;
            const auto text = [&](const char* key) -> std::string_view {
                const auto* v = auth.if_contains(key);
                return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
            };
            std::lock_guard lock(state->mutex);
            if (const auto session = text("sessionId"); !session.empty())
                for (const auto& known : state->sessions)
                    if (same(known, session)) return next({});
            if (!state->options.username.empty() && same(text("username"), state->options.username) &&
                same(text("password"), state->options.password)) {
                auto session = random_hex(8);
                state->sessions.push_back(session);
                state->new_logins[s.id()] = std::move(session);
                return next({});
            }
            next(connect_error{"invalid credentials", nullptr});
        });
    }
    admin.on_connection([state](socket& s) {
        std::string session;
        {
            std::lock_guard lock(state->mutex);
            if (const auto it = state->new_logins.find(s.id()); it != state->new_logins.end()) {
                session = std::move(it->second);
                state->new_logins.erase(it);
            }
        }
        if (!session.empty()) s.emit("session", session);
        if (!state->options.readonly) serve_actions(state, s);
        s.emit("config", json::object{{"supportedFeatures", state->features()}});
        auto core = state->core.lock();
        if (!core) return;
        s.emit("server_stats", state->stats(*core, false)); // at once, rather than within 2 s
        if (state->options.production) return;
        // all_sockets: every namespace's, each described on its own strand.
        const auto namespaces = core->namespaces();
        struct gather {
            std::mutex mutex;
            std::size_t waiting;
            json::array sockets;
        };
        auto all = std::make_shared<gather>();
        all->waiting = namespaces.size();
        for (const auto& ns : namespaces) {
            nsp(ns).fetch_sockets([all, s, name = ns->name](std::error_code, std::vector<remote_socket> found) {
                std::lock_guard lock(all->mutex);
                for (const auto& r : found) {
                    const auto& local = r.local();
                    all->sockets.push_back(serialize(name, r.id(), local ? local->conn_id() : std::string(),
                                                     local ? local->transport() : std::string_view("websocket"),
                                                     r.handshake(), r.rooms(), r.data()));
                }
                if (--all->waiting == 0) s.emit("all_sockets", std::move(all->sockets));
            });
        }
    });
    if (!opts.production) observe(state, *io.core_);
    send_stats_every(state, std::chrono::milliseconds(2000));
}

} // namespace switchboard::io
