// The server's Socket.IO layer itself, fuzzed: decoded packets go through client, namespace, socket and
// adapter, to handlers that echo, join, leave, broadcast (with and without acks), emit with acks and
// timeouts, fetch sockets, disconnect, and throw. Three clients share the server, so broadcasts cross
// sessions. Input: the records of local_engine.hpp. Checked: nothing escapes the layer (an exception
// is a crash here), everything sent decodes, and once every client has gone no socket and no room is
// left behind (LeakSanitizer finds what cycles would keep).
#include "local_engine.hpp"

#include <switchboard/io/io.hpp>
#include <switchboard/server/server.hpp>

#include <stdexcept>

using namespace switchboard;

namespace {

std::string text_of(const io::arguments& args, std::size_t i) {
    const auto* s = args[i].if_string();
    return s ? std::string(*s) : std::string("room");
}

void serve(const io::nsp& nsp) {
    nsp.on_connection([nsp](io::socket& socket) {
        socket.join("all");
        socket.on_any([](const std::string& name, const io::arguments&) {
            if (name == "throw-any") throw std::runtime_error("catch-all listener threw");
        });
        socket.on_any_outgoing([socket](const std::string& name, const io::arguments&) {
            if (name == "boom") throw std::runtime_error("outgoing listener threw");
        });
        socket.on_disconnecting([socket](std::string_view) { socket.join("too-late"); });
        socket.on_disconnect([socket](std::string_view reason) {
            socket.join("after-the-end"); // must leave nothing behind
            if (reason == "client namespace disconnect") throw std::runtime_error("disconnect listener threw");
        });
        socket.on("echo", [](io::event& e) {
            if (e.ack) e.ack(std::move(e.args));
        });
        socket.on("join", [socket](io::event& e) { socket.join(text_of(e.args, 0)); });
        socket.on("leave", [socket](io::event& e) { socket.leave(text_of(e.args, 0)); });
        socket.on("broadcast", [socket](io::event& e) {
            socket.to(text_of(e.args, 0)).except(text_of(e.args, 1)).emit("msg", e.args[2]);
        });
        socket.on("boom", [socket](io::event&) { socket.emit("boom"); });
        socket.on("everyone", [nsp](io::event& e) { nsp.volatile_().emit("news", e.args[0]); });
        socket.on("ask-all", [socket](io::event& e) {
            socket.broadcast()
                .timeout(std::chrono::milliseconds(5))
                .emit("question", e.args[0],
                      [socket, ack = e.ack](std::error_code ec, std::vector<io::arguments> replies) {
                          if (ack) ack(ec ? -1 : static_cast<int>(replies.size()));
                          if (replies.size() == 2) throw std::runtime_error("broadcast ack callback threw");
                      });
        });
        socket.on("ask", [socket](io::event& e) {
            socket.timeout(std::chrono::milliseconds(5))
                .emit("question", e.args[0], [socket](std::error_code ec, io::arguments reply) {
                    if (!ec && reply[0].is_bool()) socket.disconnect();
                    if (!ec && reply[0].is_null()) throw std::runtime_error("ack callback threw");
                });
        });
        socket.on("fetch", [nsp, socket](io::event& e) {
            nsp.to(text_of(e.args, 0)).fetch_sockets([socket](std::error_code, std::vector<io::remote_socket> found) {
                socket.emit("found", found.size());
            });
        });
        socket.on("kick", [nsp](io::event& e) { nsp.to(text_of(e.args, 0)).disconnect_sockets(e.args[1].is_bool()); });
        socket.on("rooms", [nsp](io::event& e) { nsp.to(text_of(e.args, 0)).sockets_join({text_of(e.args, 1)}); });
        socket.on("bye", [socket](io::event& e) { socket.disconnect(e.args[0].is_bool()); });
        socket.on("throw", [](io::event&) { throw std::runtime_error("handler threw"); });
        socket.on("throw-int", [](io::event&) { throw 42; });
        socket.on("1", [socket](io::event& e) { socket.emit("one", e.args[0]); });
    });
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    server::server_config config;
    config.log = server::log_level::off;
    config.max_payload = 100000;
    server::server http(config);
    {
        io::server io(http);
        serve(io.main());
        auto custom = io.of("/custom");
        custom.use([](io::socket& s, io::next_fn next) {
            const auto* token = s.handshake().auth.if_contains("token");
            if (token && token->is_string() && token->get_string() == "throw") throw std::runtime_error("middleware");
            if (token) return next({});
            next(io::connect_error{"no token", boost::json::object{{"hint", "token"}}});
        });
        serve(custom);
        auto dynamic = io.of([](const std::string& name, const boost::json::object&) {
            if (name == "/dyn-9") throw std::runtime_error("predicate threw");
            return name.size() == 6 && name.starts_with("/dyn-");
        });
        serve(dynamic);

        fuzz::play(http, data, size);

        // Everyone has gone: nothing of theirs is left in any namespace or room.
        for (const auto& nsp : {io.main(), custom}) {
            if (!nsp.sockets().empty()) std::abort();
            if (!nsp.adapter()->all_rooms().empty()) std::abort();
        }
        if (!dynamic.sockets().empty()) std::abort();
    }
    return 0;
}
