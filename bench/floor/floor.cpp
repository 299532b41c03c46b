// The floor: the least a server can do on this kernel for the work the benchmarks ask of a Socket.IO
// server (bench/, scripts/bench), measured in the same run so every figure can be read as a ratio to
// it. One thread, one epoll set, no protocol generality and no allocation per message:
//   - the WebSocket upgrade, answered with the Engine.IO open packet in the same write (fixed bytes);
//   - `40` (CONNECT to "/") answered with a fixed `40{"sid":…}`;
//   - `42<id>["echo",…]` answered with `43<id>[…]`: the arguments copied as they came;
//   - `42["join",ROOM]` puts the connection in ROOM;
//   - `42["broadcast",{"room":ROOM,"msg":M}]` builds the frame `42["msg",M]` once and writes it to
//     every other member of ROOM, one write(2) each;
//   - a ping (`2`) to every connection each --ping-interval; pongs are read and dropped.
// Replies to everything one read(2) brought are written together, with one write(2). This is not a
// server to use: it trusts the generator's exact bytes (tests/server/loadgen.test.mjs checks it does
// what the generator expects) and checks nothing a real server must.
//   floor --port 0 [--host 127.0.0.1] [--ping-interval MS]   -> prints "listening on http://HOST:PORT"
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace {

using std::string_view;

struct connection {
    int fd = -1;
    bool upgraded = false;
    std::string in;      // bytes of an incomplete request or frame, kept to the next read
    std::string out;     // bytes the socket did not take yet (written on EPOLLOUT)
    std::string replies; // replies to the current read, written once after it
    std::vector<int>* room = nullptr;
    std::size_t room_index = 0;
};

std::unordered_map<int, std::unique_ptr<connection>> connections;
std::unordered_map<std::string, std::vector<int>> rooms; // room name -> member descriptors
int epoll_fd = -1;
long ping_interval_ms = 25000;
std::uint64_t next_sid = 0;
volatile std::sig_atomic_t stopping = 0;

/// Appends an unmasked server-to-client text frame holding `payload`.
void append_frame(std::string& to, string_view payload) {
    to.push_back(static_cast<char>(0x81));
    if (payload.size() < 126) {
        to.push_back(static_cast<char>(payload.size()));
    } else if (payload.size() < 65536) {
        to.push_back(126);
        to.push_back(static_cast<char>(payload.size() >> 8));
        to.push_back(static_cast<char>(payload.size() & 0xff));
    } else {
        to.push_back(127);
        for (int shift = 56; shift >= 0; shift -= 8) to.push_back(static_cast<char>((payload.size() >> shift) & 0xff));
    }
    to.append(payload);
}

void close_connection(connection& c) {
    if (c.room) { // swap-remove from the room
        auto& members = *c.room;
        const int moved = members.back();
        members[c.room_index] = moved;
        connections[moved]->room_index = c.room_index;
        members.pop_back();
    }
    ::close(c.fd); // also leaves the epoll set
    connections.erase(c.fd);
}

/// Writes `bytes` now, or keeps what the socket does not take for EPOLLOUT. False: the peer is gone.
bool send_bytes(connection& c, string_view bytes) {
    if (!c.out.empty()) {
        c.out.append(bytes);
        return true;
    }
    const ssize_t n = ::send(c.fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return false;
    const std::size_t sent = n < 0 ? 0 : static_cast<std::size_t>(n);
    if (sent < bytes.size()) {
        c.out.assign(bytes.substr(sent));
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLOUT;
        ev.data.fd = c.fd;
        ::epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c.fd, &ev);
    }
    return true;
}

bool flush_out(connection& c) {
    const ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
    c.out.erase(0, static_cast<std::size_t>(n));
    if (c.out.empty()) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = c.fd;
        ::epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c.fd, &ev);
    }
    return true;
}

/// The HTTP upgrade request in `c.in`, once complete: answers 101 and the Engine.IO open packet.
/// Returns false when the request is not a WebSocket upgrade (the connection is closed).
bool handle_upgrade(connection& c, std::size_t& consumed) {
    const auto end = c.in.find("\r\n\r\n");
    if (end == std::string::npos) return true; // not complete yet
    consumed = end + 4;
    const string_view request(c.in.data(), end);
    // Header names are case-insensitive; the generator (Beast) writes this spelling.
    auto at = request.find("Sec-WebSocket-Key:");
    if (at == string_view::npos) at = request.find("sec-websocket-key:");
    if (at == string_view::npos) return false;
    auto key = request.substr(at + 18);
    key = key.substr(0, key.find("\r\n"));
    while (!key.empty() && key.front() == ' ') key.remove_prefix(1);
    std::string accept_input(key);
    accept_input += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(accept_input.data()), accept_input.size(), digest);
    unsigned char accept[32];
    const int accept_size = EVP_EncodeBlock(accept, digest, SHA_DIGEST_LENGTH);

    char sid[21];
    std::snprintf(sid, sizeof sid, "%020llu", static_cast<unsigned long long>(next_sid++));
    char open[160];
    const int open_size = std::snprintf(
        open, sizeof open, R"(0{"sid":"%s","upgrades":[],"pingInterval":%ld,"pingTimeout":20000,"maxPayload":1000000})",
        sid, ping_interval_ms);
    std::string response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Accept: ";
    response.append(reinterpret_cast<const char*>(accept), static_cast<std::size_t>(accept_size));
    response += "\r\n\r\n";
    append_frame(response, string_view(open, static_cast<std::size_t>(open_size)));
    c.upgraded = true;
    return send_bytes(c, response);
}

/// One Engine.IO packet from `c`. False: close the connection.
bool handle_packet(connection& c, string_view p) {
    if (p.size() >= 2 && p[0] == '4' && p[1] == '0') { // CONNECT to "/"
        append_frame(c.replies, R"(40{"sid":"floorfloorfloorfloor"})");
        return true;
    }
    if (p.size() < 3 || p[0] != '4' || p[1] != '2') return true; // pongs, anything else: dropped
    std::size_t i = 2;
    while (i < p.size() && p[i] >= '0' && p[i] <= '9') ++i;
    const string_view id = p.substr(2, i - 2);
    const string_view args = p.substr(i);
    constexpr string_view echo = R"(["echo",)", join = R"(["join",")", broadcast = R"(["broadcast",{"room":")";
    if (args.substr(0, echo.size()) == echo && !id.empty()) {
        // 43<id>[<the arguments after the event name>
        char reply[256];
        const string_view rest = args.substr(echo.size());
        if (2 + id.size() + 1 + rest.size() > sizeof reply) return false;
        std::size_t n = 0;
        reply[n++] = '4';
        reply[n++] = '3';
        std::memcpy(reply + n, id.data(), id.size());
        n += id.size();
        reply[n++] = '[';
        std::memcpy(reply + n, rest.data(), rest.size());
        n += rest.size();
        append_frame(c.replies, string_view(reply, n));
    } else if (args.substr(0, join.size()) == join) {
        const string_view name = args.substr(join.size(), args.size() - join.size() - 2); // drop `"]`
        if (c.room) return true;                                                          // one room each
        auto& members = rooms[std::string(name)];
        c.room = &members;
        c.room_index = members.size();
        members.push_back(c.fd);
    } else if (args.substr(0, broadcast.size()) == broadcast) {
        const string_view rest = args.substr(broadcast.size());
        const auto name_end = rest.find('"');
        constexpr string_view msg_key = R"(,"msg":)";
        if (name_end == string_view::npos || rest.substr(name_end + 1, msg_key.size()) != msg_key) return true;
        const auto room = rooms.find(std::string(rest.substr(0, name_end)));
        if (room == rooms.end() || rest.size() < name_end + 1 + msg_key.size() + 2) return true;
        const string_view msg = rest.substr(name_end + 1 + msg_key.size(),
                                            rest.size() - (name_end + 1 + msg_key.size()) - 2); // drop `}]`
        // The frame, built once for every member (in buffers kept from one broadcast to the next).
        static std::string frame, payload;
        frame.clear();
        payload.assign(R"(42["msg",)");
        payload.append(msg);
        payload.push_back(']');
        append_frame(frame, payload);
        // Members who cannot be written to are closed after the loop (the vector must not change in it).
        std::vector<int> gone;
        for (const int member : room->second)
            if (member != c.fd && !send_bytes(*connections[member], frame)) gone.push_back(member);
        for (const int fd : gone)
            if (const auto it = connections.find(fd); it != connections.end()) close_connection(*it->second);
    }
    return true;
}

/// Parses the masked client frames in `data`; returns how many bytes it used, or -1 to close.
long handle_frames(connection& c, string_view data) {
    std::size_t at = 0;
    while (data.size() - at >= 2) {
        const auto* b = reinterpret_cast<const unsigned char*>(data.data() + at);
        const unsigned opcode = b[0] & 0x0f;
        std::uint64_t length = b[1] & 0x7f;
        std::size_t header = 2;
        if (length == 126) {
            if (data.size() - at < 4) break;
            length = (std::uint64_t{b[2]} << 8) | b[3];
            header = 4;
        } else if (length == 127) {
            if (data.size() - at < 10) break;
            length = 0;
            for (int k = 0; k < 8; ++k) length = (length << 8) | b[2 + k];
            header = 10;
        }
        const bool masked = (b[1] & 0x80) != 0;
        if (masked) header += 4;
        if (length > (1u << 20)) return -1;
        if (data.size() - at < header + length) break;
        char* payload = const_cast<char*>(data.data() + at + header);
        if (masked) {
            const unsigned char* mask = b + header - 4;
            for (std::size_t k = 0; k < length; ++k) payload[k] = static_cast<char>(payload[k] ^ mask[k & 3]);
        }
        if (opcode == 0x8) return -1; // close
        if (opcode == 0x1 && !handle_packet(c, string_view(payload, length))) return -1;
        at += header + length;
    }
    return static_cast<long>(at);
}

void on_readable(connection& c) {
    static char buffer[64 * 1024];
    for (;;) {
        const ssize_t n = ::recv(c.fd, buffer, sizeof buffer, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) return close_connection(c);
        if (n < 0) break;
        // Parse in place when nothing is left over from the last read (the usual case), else append.
        string_view data(buffer, static_cast<std::size_t>(n));
        if (!c.in.empty() || !c.upgraded) {
            c.in.append(data);
            data = c.in;
        }
        std::size_t used = 0;
        if (!c.upgraded) {
            if (!handle_upgrade(c, used)) return close_connection(c);
            if (!c.upgraded) continue; // the request is not complete yet
        }
        const long framed = handle_frames(c, data.substr(used));
        if (framed < 0) return close_connection(c);
        used += static_cast<std::size_t>(framed);
        if (!c.in.empty() && data.data() == c.in.data())
            c.in.erase(0, used);
        else if (used < data.size())
            c.in.assign(data.substr(used));
        if (c.in.empty() && c.in.capacity() > 4096) std::string().swap(c.in);
        if (!c.replies.empty()) {
            const bool ok = send_bytes(c, c.replies);
            c.replies.clear();
            if (!ok) return close_connection(c);
        }
        if (static_cast<std::size_t>(n) < sizeof buffer) break; // drained: no need for a read that says EAGAIN
    }
}

void ping_everyone() {
    static const std::string ping = [] {
        std::string f;
        append_frame(f, "2");
        return f;
    }();
    std::vector<int> gone;
    for (auto& [fd, c] : connections)
        if (c->upgraded && !send_bytes(*c, ping)) gone.push_back(fd);
    for (const int fd : gone) close_connection(*connections[fd]);
}

} // namespace

int main(int argc, char** argv) {
    std::string host = "127.0.0.1";
    int port = 3000;
    for (int i = 1; i + 1 < argc; i += 2) {
        const string_view key = argv[i];
        if (key == "--port")
            port = std::atoi(argv[i + 1]);
        else if (key == "--host")
            host = argv[i + 1];
        else if (key == "--ping-interval")
            ping_interval_ms = std::atol(argv[i + 1]);
        else {
            std::fprintf(stderr, "floor: unknown flag %s\n", argv[i]);
            return 2;
        }
    }
    std::signal(SIGTERM, [](int) { stopping = 1; });
    std::signal(SIGINT, [](int) { stopping = 1; });

    const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    const int one = 1;
    ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1 ||
        ::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(listener, 4096) != 0) {
        std::perror("floor: listen");
        return 1;
    }
    socklen_t length = sizeof address;
    ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
    std::printf("listening on http://%s:%d\n", host.c_str(), ntohs(address.sin_port));
    std::fflush(stdout);

    epoll_fd = ::epoll_create1(0);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = listener;
    ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listener, &ev);

    using clock = std::chrono::steady_clock;
    auto next_ping = clock::now() + std::chrono::milliseconds(ping_interval_ms);
    epoll_event events[256];
    while (!stopping) {
        const auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(next_ping - clock::now()).count();
        const int n = ::epoll_wait(epoll_fd, events, 256, static_cast<int>(std::max<long long>(0, wait_ms) + 1));
        if (n < 0 && errno != EINTR) break;
        for (int i = 0; i < n; ++i) {
            const int fd = events[i].data.fd;
            if (fd == listener) {
                for (;;) {
                    const int client = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK);
                    if (client < 0) break;
                    ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    auto c = std::make_unique<connection>();
                    c->fd = client;
                    connections[client] = std::move(c);
                    epoll_event cev{};
                    cev.events = EPOLLIN;
                    cev.data.fd = client;
                    ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, client, &cev);
                }
                continue;
            }
            const auto it = connections.find(fd);
            if (it == connections.end()) continue; // closed earlier in this batch
            connection& c = *it->second;
            if ((events[i].events & EPOLLOUT) && !flush_out(c)) {
                close_connection(c);
                continue;
            }
            if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(c);
        }
        if (clock::now() >= next_ping) {
            ping_everyone();
            next_ping = clock::now() + std::chrono::milliseconds(ping_interval_ms);
        }
    }
    return 0;
}
