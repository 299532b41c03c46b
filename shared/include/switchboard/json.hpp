#pragma once
/// @file
/// JSON as JavaScript writes it. Socket.IO payloads are produced by JSON.stringify on the other side,
/// so we serialize the same way (numbers in ECMAScript's Number::toString form, the same string
/// escapes) to be byte-identical on the wire. Parsing uses Boost.JSON with a depth limit.

#include <switchboard/result.hpp>

#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace switchboard {

/// Appends `value` to `out` exactly as JSON.stringify(value) would write it in JavaScript.
/// Non-finite doubles are written as `null`; integers beyond 2^53 as the double JavaScript would hold.
void stringify(std::string& out, const boost::json::value& value);

/// The JSON.stringify text of `value`.
std::string stringify(const boost::json::value& value);

/// Appends a JSON string literal for `text` (which must be UTF-8) as JSON.stringify writes it.
void stringify_string(std::string& out, std::string_view text);

/// Appends a number as JavaScript's Number.prototype.toString writes it ("1.5", "1e+21", "1e-7").
void stringify_number(std::string& out, double number);

/// Parses JSON text; errors are values (Boost.JSON's error codes), `max_depth` bounds nesting.
result<boost::json::value> parse_json(std::string_view text, std::size_t max_depth);

} // namespace switchboard
