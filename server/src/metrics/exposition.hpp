#pragma once
// The Prometheus text format (version 0.0.4), written with fmt (private to server/).

#include "counters.hpp"

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace switchboard::server::metrics {

struct label {
    std::string_view name;
    std::string_view value; // escaped here: namespace names come from clients
};

/// "# HELP name help" and "# TYPE name type".
void family(std::string& out, std::string_view name, std::string_view type, std::string_view help);
/// "name{labels} value".
void sample(std::string& out, std::string_view name, std::initializer_list<label> labels, std::uint64_t value);
void sample(std::string& out, std::string_view name, std::initializer_list<label> labels, double value);

/// The counters and histograms of `t`, each family with its HELP and TYPE lines.
void render(std::string& out, const totals& t);

} // namespace switchboard::server::metrics
