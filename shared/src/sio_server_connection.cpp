#include <switchboard/sio/server_connection.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace switchboard::sio {

server_connection::server_connection(const codec_limits& limits, duration now, duration connect_timeout)
    : limits_(limits), connect_deadline_(now + connect_timeout) {}

server_action server_connection::on_text(std::string_view text) {
    if (binary_) return protocol_violation{"a text packet while a binary packet's attachments were due"};
    std::size_t attachments = 0;
    auto p = decode_text(text, limits_, attachments);
    if (!p) return protocol_violation{p.error().message()};
    if (attachments == 0) return on_decoded(std::move(*p));
    // A binary packet: a decoder collects its attachments (only now: most clients never need one).
    binary_ = std::make_unique<decoder>(limits_);
    if (auto fed = binary_->feed_text(text); !fed) {
        binary_.reset();
        return protocol_violation{fed.error().message()};
    }
    return no_action{};
}

server_action server_connection::on_binary(shared_bytes bytes) {
    if (!binary_) return protocol_violation{"an attachment no packet announced"};
    auto progress = binary_->feed_binary(std::move(bytes));
    if (!progress) {
        binary_.reset();
        return protocol_violation{progress.error().message()};
    }
    if (*progress != decode_progress::packet_ready) return no_action{};
    auto p = binary_->take_packet();
    binary_.reset();
    return on_decoded(std::move(p));
}

server_action server_connection::on_decoded(packet&& p) {
    if (!is_connected(p.nsp)) {
        if (p.type != packet_type::connect)
            return protocol_violation{"a packet for a namespace the client is not connected to"};
        if (is_connecting(p.nsp)) return no_action{}; // already on its way
        namespaces_.add(p.nsp, namespace_list::state::connecting);
        auto* auth = p.data.if_object();
        return connect_request{std::move(p.nsp), auth ? std::move(*auth) : boost::json::object{}};
    }
    switch (p.type) {
    case packet_type::event:
    case packet_type::binary_event: return socket_packet{std::move(p)};
    case packet_type::ack:
    case packet_type::binary_ack:
        if (!p.id) return protocol_violation{"an ACK without an ack id"};
        return socket_packet{std::move(p)};
    case packet_type::disconnect: return leave_request{std::move(p.nsp)};
    case packet_type::connect: return no_action{}; // a repeated CONNECT (the reference server closes; harmless here)
    case packet_type::connect_error: return protocol_violation{"a CONNECT_ERROR from the client"};
    }
    return protocol_violation{"an unknown packet type"};
}

template <class F>
void server_connection::namespace_list::each(F&& f) const noexcept {
    constexpr std::size_t head = 1 + sizeof(std::uint32_t); // the state, the length
    std::size_t at = 0;
    while (at + head <= packed_.size()) {
        const auto s = static_cast<state>(packed_[at]);
        std::uint32_t size = 0;
        std::memcpy(&size, packed_.data() + at + 1, sizeof size);
        const auto name = std::string_view(packed_).substr(at + head, size);
        if (f(at, s, name)) return;
        at += head + size;
    }
}

bool server_connection::namespace_list::contains(std::string_view name, state s) const noexcept {
    bool found = false;
    each([&](std::size_t, state entry, std::string_view n) { return found = entry == s && n == name; });
    return found;
}

bool server_connection::namespace_list::any(state s) const noexcept {
    bool found = false;
    each([&](std::size_t, state entry, std::string_view) { return found = entry == s; });
    return found;
}

void server_connection::namespace_list::add(std::string_view name, state s) {
    const auto size = static_cast<std::uint32_t>(name.size());
    packed_.push_back(static_cast<char>(s));
    packed_.append(reinterpret_cast<const char*>(&size), sizeof size);
    packed_.append(name);
}

void server_connection::namespace_list::remove(std::string_view name, state s) {
    each([&](std::size_t at, state entry, std::string_view n) {
        if (entry != s || n != name) return false;
        packed_.erase(at, 1 + sizeof(std::uint32_t) + n.size());
        return true;
    });
    if (packed_.empty()) packed_.shrink_to_fit(); // a long name's block goes with it
}

void server_connection::connected(const std::string& nsp) {
    using state = namespace_list::state;
    namespaces_.remove(nsp, state::connecting);
    if (!namespaces_.contains(nsp, state::connected)) namespaces_.add(nsp, state::connected);
    connect_deadline_ = no_deadline; // as the reference server, the timeout goes with the first namespace
}

void server_connection::refused(const std::string& nsp) { namespaces_.remove(nsp, namespace_list::state::connecting); }

void server_connection::left(const std::string& nsp) {
    namespaces_.remove(nsp, namespace_list::state::connected);
    namespaces_.remove(nsp, namespace_list::state::connecting);
}

bool server_connection::is_connected(std::string_view nsp) const noexcept {
    return namespaces_.contains(nsp, namespace_list::state::connected);
}
bool server_connection::is_connecting(std::string_view nsp) const noexcept {
    return namespaces_.contains(nsp, namespace_list::state::connecting);
}

bool server_connection::on_timer(duration now) const noexcept {
    return connect_deadline_ != no_deadline && now >= connect_deadline_ &&
           !namespaces_.any(namespace_list::state::connected);
}

std::optional<server_connection::duration> server_connection::next_deadline() const noexcept {
    if (connect_deadline_ == no_deadline) return std::nullopt;
    return connect_deadline_;
}

} // namespace switchboard::sio
