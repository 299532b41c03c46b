#pragma once
// The WebSocket transport (private to server/): one accepted connection with its reader (our own
// framing, ws::reader), its single writer (gathered, non-blocking writes) and its close handshake.
// It knows WebSocket, not Engine.IO: a session feeds its frames to eio::server_session and gives it
// what to write. A probe during an upgrade is the same object, so it has the same writer.

#include "../tls/engine.hpp"
#include "../util/admission.hpp"
#include "../util/net.hpp"

#include <switchboard/eio/packet.hpp>
#include <switchboard/eio/session.hpp>
#include <switchboard/ws/frame.hpp>

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace switchboard::server {

class websocket_transport final : public std::enable_shared_from_this<websocket_transport> {
public:
    enum class write_state {
        done,               ///< everything given to write() is out
        waiting_progressed, ///< the socket is full; some bytes went first
        waiting_stalled,    ///< the socket is full; nothing went
        failed,             ///< the connection broke (it is closed)
    };

    /// What the transport reports, on its strand. The session is the listener (of its transport and
    /// of a probe); the transport holds it weakly, so a closing transport outlives its session.
    class listener {
    public:
        /// A read begins / ends: what the messages between cause to be sent may wait for the end.
        virtual void on_ws_read_begin(websocket_transport& t) = 0;
        virtual void on_ws_read_end(websocket_transport& t) = 0;
        /// A text or binary message. Returns false to stop reading this read's remaining frames.
        virtual bool on_ws_message(websocket_transport& t, const ws::event& message) = 0;
        /// The connection closed or broke (the peer's close frame, a protocol error, EOF, a failed write).
        virtual void on_ws_closed(websocket_transport& t, eio::close_reason reason, std::string cause) = 0;
        /// A write that had to wait changed state (never called from inside write()).
        virtual void on_ws_write(websocket_transport& t, write_state state) = 0;

    protected:
        ~listener() = default;
    };

    /// `ticket`: the connection's place under the connection limits, given back when the transport goes.
    /// `tls`: the connection's TLS session (WSS), or none.
    websocket_transport(strand_socket socket, std::size_t max_message, std::chrono::milliseconds write_timeout,
                        admission::ticket ticket = {}, std::unique_ptr<tls_engine> tls = nullptr);

    /// permessage-deflate was negotiated (call before start()): compressed messages are read, and
    /// frames that carry a compressed form are sent compressed.
    void enable_deflate() noexcept {
        deflate_ = true;
        reader_.allow_compression();
    }
    /// Starts reading; events go to `l`.
    void start(std::weak_ptr<listener> l);
    /// True while a write waits for the socket or frames wait behind it.
    bool writing() const noexcept { return waiting_; }
    /// Writes `frames` (moved from) after anything before them.
    write_state write(std::span<eio::frame> frames);
    /// Closes: `graceful`, after what was written, with a close frame (1000, or the code the peer's
    /// close frame or its protocol error set), then waits briefly for the peer's close; otherwise at
    /// once, unless a close code is due (the handshake still goes, bounded by the write timeout).
    void close(bool graceful);
    /// Closes the socket now; pending operations complete and release the transport.
    void abort();

private:
    /// A frame waiting for (or in) a write. The header is written in place when the frame's batch goes
    /// out, so the gathered write can point at it.
    struct outgoing_frame {
        eio::frame frame;
        ws::opcode op = ws::opcode::text;
        unsigned char header_size = 0;
        unsigned char header[ws::max_header_size] = {};
    };

    static constexpr std::size_t direct_frames = 32; // at most this many frames go straight from the stack
    write_state write_direct(std::span<eio::frame> frames);
    write_state write_pending();
    void gather();                    // the batch into its iov
    void skip_written(std::size_t n); // iov_next past n bytes written
    write_state write_batch();
    void batch_written();
    void wait_writable();
    void push_control(ws::opcode op, std::string payload);
    void linger_then_close();
    void read_next();
    // The socket's bytes, through TLS when there is a TLS session: non-blocking, as the socket's own.
    std::size_t receive(std::span<char> into, beast::error_code& ec);
    std::size_t send(std::span<const net::const_buffer> buffers, beast::error_code& ec);
    bool flush_tls(beast::error_code& ec); // ciphertext waiting in the TLS engine; false while some still waits
    void on_readable(beast::error_code ec);
    bool on_event(listener& l, const ws::event& event);

    /// What a write that waits keeps, and a closing transport's timer. Made when a write cannot go at
    /// once (or the close begins) and given back when the transport has caught up: a connection whose
    /// peer keeps up holds none (one over TLS keeps it).
    struct write_queue {
        std::vector<outgoing_frame> pending;  // frames behind a write that waits, and control frames (rare)
        std::vector<outgoing_frame> batch;    // the frames of the write in flight
        std::vector<net::const_buffer> iov;   // ... their headers and payloads, gathered
        std::size_t iov_next = 0;             // the first buffer of iov not (fully) written yet
        std::unique_ptr<strand_timer> linger; // bounds the close: our close frame's write, then the peer's
    };
    write_queue& queue(); // queue_, made if need be
    bool has_pending() const noexcept { return queue_ && !queue_->pending.empty(); }

    strand_socket socket_;
    std::unique_ptr<tls_engine> tls_; // WSS: the TLS session (the socket carries its ciphertext)
    admission::ticket ticket_;
    ws::reader reader_;
    std::chrono::milliseconds write_timeout_;
    std::weak_ptr<listener> listener_;
    std::unique_ptr<write_queue> queue_;
    std::uint16_t close_code_ = 0; // the code our close frame will carry, when the peer's side set one
    bool waiting_ = false;         // a write waits for writability (the only writer waits for it)
    bool closing_ = false;         // our close frame is queued: nothing more is read for the session
    bool aborted_ = false;
    bool deflate_ = false; // permessage-deflate, negotiated at the upgrade
};

} // namespace switchboard::server
