#include "exposition.hpp"

#include <fmt/format.h>

#include <iterator>

namespace switchboard::server::metrics {

namespace {

void labels(std::string& out, std::initializer_list<label> list) {
    if (list.size() == 0) return;
    out.push_back('{');
    bool first = true;
    for (const auto& l : list) {
        if (!first) out.push_back(',');
        first = false;
        out.append(l.name).append("=\"");
        for (const char c : l.value) {
            if (c == '\\')
                out.append("\\\\");
            else if (c == '"')
                out.append("\\\"");
            else if (c == '\n')
                out.append("\\n");
            else
                out.push_back(c);
        }
        out.push_back('"');
    }
    out.push_back('}');
}

void counter_family(std::string& out, const totals& t, std::string_view name, std::string_view help, counter c) {
    family(out, name, "counter", help);
    sample(out, name, {}, t[c]);
}

void histogram_family(std::string& out, const totals& t, std::string_view name, std::string_view help, histogram h) {
    family(out, name, "histogram", help);
    const auto& hist = t[h];
    const auto bucket = fmt::format("{}_bucket", name);
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < bucket_bounds.size(); ++i) {
        cumulative += hist.buckets[i];
        sample(out, bucket, {{"le", fmt::format("{}", bucket_bounds[i])}}, cumulative);
    }
    sample(out, bucket, {{"le", "+Inf"}}, hist.count);
    sample(out, fmt::format("{}_sum", name), {}, static_cast<double>(hist.sum_ns) / 1e9);
    sample(out, fmt::format("{}_count", name), {}, hist.count);
}

} // namespace

void family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void sample(std::string& out, std::string_view name, std::initializer_list<label> list, std::uint64_t value) {
    out.append(name);
    labels(out, list);
    fmt::format_to(std::back_inserter(out), " {}\n", value);
}

void sample(std::string& out, std::string_view name, std::initializer_list<label> list, double value) {
    out.append(name);
    labels(out, list);
    fmt::format_to(std::back_inserter(out), " {}\n", value);
}

void render(std::string& out, const totals& t) {
    counter_family(out, t, "switchboard_sessions_opened_total", "Engine.IO sessions opened", counter::sessions_opened);
    counter_family(out, t, "switchboard_sessions_closed_total", "Engine.IO sessions closed", counter::sessions_closed);
    counter_family(out, t, "switchboard_packets_received_total",
                   "Engine.IO message packets received (a Socket.IO packet, or one of its attachments)",
                   counter::packets_in);
    counter_family(out, t, "switchboard_packets_sent_total", "Engine.IO message packets queued to be sent",
                   counter::packets_out);
    counter_family(out, t, "switchboard_bytes_received_total", "Payload bytes of the packets received",
                   counter::bytes_in);
    counter_family(out, t, "switchboard_bytes_sent_total", "Payload bytes of the packets queued to be sent",
                   counter::bytes_out);

    family(out, "switchboard_dropped_packets_total", "counter",
           "Packets not sent: volatile ones the transport could not take, drop_oldest ones a full queue replaced");
    sample(out, "switchboard_dropped_packets_total", {{"reason", "volatile"}}, t[counter::dropped_volatile]);
    sample(out, "switchboard_dropped_packets_total", {{"reason", "replaced"}}, t[counter::dropped_replaced]);

    counter_family(
        out, t, "switchboard_ack_timeouts_total",
        "Acks that did not come in time (one per socket waited on: a broadcast counts its silent recipients)",
        counter::ack_timeouts);

    family(out, "switchboard_refused_total", "counter", "What a limit refused, by the limit's flag");
    static constexpr std::pair<std::string_view, counter> limits[] = {
        {"max-connections", counter::refused_connections}, {"handshakes-per-ip", counter::refused_handshakes},
        {"max-payload", counter::refused_payload},         {"events-per-second", counter::refused_events},
        {"bytes-per-second", counter::refused_bytes},      {"max-queue", counter::refused_queue},
        {"max-namespaces", counter::refused_namespaces},   {"max-rooms-per-socket", counter::refused_rooms},
        {"cors-origin", counter::refused_origin},
    };
    for (const auto& [flag, c] : limits) sample(out, "switchboard_refused_total", {{"limit", flag}}, t[c]);

    histogram_family(out, t, "switchboard_handshake_duration_seconds",
                     "Socket.IO handshakes: a namespace CONNECT to its answer, middleware included",
                     histogram::handshake);
    histogram_family(out, t, "switchboard_adapter_publish_duration_seconds",
                     "Cluster messages: handed to Redis to Redis's reply", histogram::adapter_publish);
    histogram_family(out, t, "switchboard_adapter_request_duration_seconds",
                     "Cluster queries: asked to the last node's answer, or the timeout", histogram::adapter_request);
}

} // namespace switchboard::server::metrics
