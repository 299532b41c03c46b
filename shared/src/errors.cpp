#include <switchboard/eio/error.hpp>
#include <switchboard/sio/error.hpp>

#include <string>

namespace switchboard {
namespace {

class eio_category final : public std::error_category {
public:
    const char* name() const noexcept override { return "engine.io"; }
    std::string message(int code) const override {
        using eio::errc;
        switch (static_cast<errc>(code)) {
        case errc::empty_packet: return "empty packet";
        case errc::unknown_packet_type: return "unknown packet type";
        case errc::invalid_base64: return "invalid base64 in binary packet";
        case errc::payload_too_large: return "payload too large";
        case errc::invalid_handshake: return "invalid handshake";
        }
        return "unknown engine.io error";
    }
};

class sio_category final : public std::error_category {
public:
    const char* name() const noexcept override { return "socket.io"; }
    std::string message(int code) const override {
        using sio::errc;
        switch (static_cast<errc>(code)) {
        case errc::empty_packet: return "empty packet";
        case errc::unknown_packet_type: return "unknown packet type";
        case errc::invalid_attachment_count: return "illegal attachments";
        case errc::too_many_attachments: return "too many attachments";
        case errc::invalid_namespace: return "invalid namespace";
        case errc::invalid_ack_id: return "invalid ack id";
        case errc::invalid_json: return "invalid JSON payload";
        case errc::json_too_deep: return "JSON payload nested too deeply";
        case errc::invalid_payload: return "invalid payload";
        case errc::reserved_event_name: return "reserved event name";
        case errc::unexpected_binary: return "got binary data when not reconstructing a packet";
        case errc::unexpected_text: return "got plaintext data when reconstructing a packet";
        case errc::invalid_placeholder: return "illegal attachments: placeholder names no attachment";
        case errc::packet_too_large: return "packet too large";
        }
        return "unknown socket.io error";
    }
};

} // namespace

const std::error_category& eio::error_category() noexcept {
    static const eio_category category;
    return category;
}

const std::error_category& sio::error_category() noexcept {
    static const sio_category category;
    return category;
}

} // namespace switchboard
