// The server's Engine.IO session (eio::server_session) driven by any sequence of inputs a client and
// the network can produce: long-polls, POST bodies, WebSocket messages, probes, timers early and late,
// writes that stall, the layer above sending and closing. The input is a list of operations (one byte
// each, then a length byte and that many bytes of data where the operation carries some). Beyond "no
// crash, no leak", it checks what a server relies on:
//   - the session ends once and is released once, and nothing is delivered after it ended;
//   - at most one long-poll is held, and only a held one is answered;
//   - the unsent bytes never pass the limit while the session is open;
//   - the upgrade completes only after its probe was answered (3probe).
#include <switchboard/eio/server_session.hpp>

#include <cstdlib>
#include <string>

using namespace switchboard;
using std::chrono::milliseconds;

namespace {

struct reader {
    const std::uint8_t* data;
    std::size_t size;
    std::size_t pos = 0;
    bool done() const { return pos >= size; }
    std::uint8_t byte() { return pos < size ? data[pos++] : 0; }
    std::string bytes() {
        std::size_t n = byte();
        n = std::min(n, size - std::min(pos, size));
        std::string s(reinterpret_cast<const char*>(data + pos), n);
        pos += n;
        return s;
    }
};

void check(bool ok) {
    if (!ok) std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    reader in{data, size};
    // Short times, so that inputs reach the timeouts; small limits, so that they reach the limits.
    const eio::server_session_options options{.ping_interval = milliseconds(300),
                                              .ping_timeout = milliseconds(200),
                                              .upgrade_timeout = milliseconds(1000),
                                              .write_timeout = milliseconds(500),
                                              .max_payload = 2000,
                                              .max_queue_bytes = 4000};
    const auto transport = in.byte() % 2 == 0 ? eio::transport_kind::polling : eio::transport_kind::websocket;
    eio::server_session s("fuzz", transport, options);
    milliseconds now{0};
    s.open(now);

    int closed = 0, released = 0, held = 0;
    bool probe_answered = false;
    while (!in.done()) {
        now += milliseconds(in.byte() % 4 == 0 ? 150 : 1);
        switch (in.byte() % 15) {
        case 0:
            if (s.on_poll(now) == eio::server_session::poll_decision::hold) ++held;
            break;
        case 1:
            if (held > 0) {
                --held;
                s.on_poll_aborted(now);
            }
            break;
        case 2: s.on_post(now, in.bytes()); break;
        case 3: s.on_text(now, in.bytes()); break;
        case 4: s.on_binary(now, make_shared_bytes(in.bytes())); break;
        case 5: s.on_probe(now); break;
        case 6: s.on_probe_text(now, in.bytes()); break;
        case 7: s.on_probe_binary(now); break;
        case 8: s.on_probe_closed(now); break;
        case 9: s.on_timer(now + milliseconds(in.byte() * 10)); break; // late by up to 2.5 s
        case 10: {
            const auto kind = in.byte() % 3; // reliable, volatile, replaceable (with an attachment)
            if (kind == 2) {
                s.send_replaceable({eio::make_text_frame(eio::packet_type::message, in.bytes()),
                                    eio::make_binary_frame(make_shared_bytes(in.bytes()))});
            } else {
                s.send({eio::make_text_frame(eio::packet_type::message, in.bytes())}, kind == 1);
            }
            break;
        }
        case 11: s.close(now); break;
        case 12:
            s.output_taken();
            s.on_write_done();
            break;
        case 13: s.on_write_waiting(now, in.byte() % 2 == 0); break;
        case 14: s.on_transport_closed(now, static_cast<eio::close_reason>(in.byte() % 5)); break;
        }
        while (auto e = s.next_effect()) {
            std::visit(
                [&](const auto& v) {
                    using T = std::decay_t<decltype(v)>;
                    if constexpr (std::is_same_v<T, eio::session_closed>) ++closed;
                    if constexpr (std::is_same_v<T, eio::session_released>) ++released;
                    if constexpr (std::is_same_v<T, eio::deliver_text> || std::is_same_v<T, eio::deliver_binary>)
                        check(closed == 0);
                    if constexpr (std::is_same_v<T, eio::answer_poll>) {
                        check(held > 0);
                        --held;
                    }
                    if constexpr (std::is_same_v<T, eio::probe_send>) probe_answered = true;
                    if constexpr (std::is_same_v<T, eio::upgraded>) check(probe_answered);
                },
                *e);
        }
        check(closed <= 1 && released <= 1 && held <= 1);
        check(closed == 1 || released == 0);
        if (!s.closed()) check(s.unsent_bytes() <= options.max_queue_bytes);
    }
    return 0;
}
