#pragma once
/// @file
/// The server's half of a Socket.IO connection (socket.io's `Client`), sans-I/O: it decodes what one
/// Engine.IO session brings (reassembling binary packets), keeps which namespaces are connecting and
/// connected, and says what each packet asks of the server. The caller runs the middleware, the
/// sockets and the timer, and reports back (connected, refused, left).
///
/// ```
///   c.on_text("0/chat,{\"token\":1}")  -> connect_request{"/chat", auth}   (run the middleware)
///   c.connected("/chat")                (or c.refused("/chat"): CONNECT_ERROR sent by the caller)
///   c.on_text("2/chat,[\"hi\"]")        -> socket_packet{EVENT for /chat}
///   c.on_text("2/other,[\"hi\"]")       -> protocol_violation (close the connection)
///   timer at c.next_deadline()        -> c.on_timer(now) == true: no namespace joined in time, close
/// ```

#include <switchboard/bytes.hpp>
#include <switchboard/limits.hpp>
#include <switchboard/sio/packet.hpp>

#include <boost/json/object.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace switchboard::sio {

/// Nothing for the caller to do (a packet still awaiting attachments, a repeated CONNECT, …).
struct no_action {};
/// The client asks to join `nsp`: resolve it, run its middleware, then connected() or refused().
struct connect_request {
    std::string nsp;
    boost::json::object auth; ///< the CONNECT payload (empty when none or not an object)
};
/// An EVENT, ACK (with its id) or their binary forms, for a connected namespace.
struct socket_packet {
    packet value;
};
/// The client left `nsp` (its DISCONNECT): close that socket.
struct leave_request {
    std::string nsp;
};
/// The client broke the protocol: close the connection (and log `why`).
struct protocol_violation {
    std::string why;
};

using server_action = std::variant<no_action, connect_request, socket_packet, leave_request, protocol_violation>;

class server_connection {
public:
    using duration = std::chrono::milliseconds;

    /// `now` is when the Engine.IO session opened; a connection that has joined no namespace
    /// `connect_timeout` later should be closed (the reference server's connectTimeout).
    /// `limits` is shared by the connections of a server: it must outlive them.
    server_connection(const codec_limits& limits, duration now, duration connect_timeout);

    /// A text message (without the Engine.IO `4`) / a binary message.
    server_action on_text(std::string_view text);
    server_action on_binary(shared_bytes bytes);
    /// A packet another parser decoded (socket.io-msgpack-parser's: one binary message per packet).
    server_action on_packet(packet&& p) { return on_decoded(std::move(p)); }

    /// The middleware accepted `nsp` / refused it / its socket closed.
    void connected(const std::string& nsp);
    void refused(const std::string& nsp);
    void left(const std::string& nsp);

    bool is_connected(std::string_view nsp) const noexcept;
    bool is_connecting(std::string_view nsp) const noexcept;

    /// True when the connect timeout has passed with no namespace joined: close the connection.
    bool on_timer(duration now) const noexcept;
    /// The connect timeout, until a namespace has been joined.
    std::optional<duration> next_deadline() const noexcept;

private:
    server_action on_decoded(packet&& p);

    const codec_limits& limits_;
    std::unique_ptr<decoder> binary_; // while a binary packet's attachments are due (most clients never)
    /// The namespaces joined and on their way in, in one string: per name its state (1 byte), its
    /// length (4 bytes) and its bytes. A connection's namespace or two fit the string's inline buffer,
    /// where vectors of strings were blocks of their own per connection.
    class namespace_list {
    public:
        enum class state : char { connecting = 1, connected = 2 };
        bool contains(std::string_view name, state s) const noexcept;
        bool any(state s) const noexcept;
        void add(std::string_view name, state s);
        void remove(std::string_view name, state s);

    private:
        template <class F>
        void each(F&& f) const noexcept; // f(offset, state, name) for each entry, until f returns true
        std::string packed_;
    };
    // A flat list: a client is in one namespace or a few, and an idle one should not hold hash buckets.
    namespace_list namespaces_;
    static constexpr duration no_deadline = duration::max();
    duration connect_deadline_; // no_deadline once a namespace was joined (not an optional: 8 bytes less per client)
};

} // namespace switchboard::sio
