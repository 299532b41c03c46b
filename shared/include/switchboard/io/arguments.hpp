#pragma once
/// @file
/// The arguments of a Socket.IO event or acknowledgement: JSON values plus the binary attachments
/// they reference. Binary values are represented as in the codec (`switchboard/sio/packet.hpp`): a
/// placeholder object `{"_placeholder":true,"num":i}` in the JSON whose bytes are `attachments[i]`.
///
/// ```cpp
/// io::arguments args;
/// args.push("photo");                                   // JSON string
/// args.push(io::binary{bytes});                         // a binary argument
/// boost::json::object meta{{"thumb", args.attach(thumb)}}; // binary nested in an object
/// args.push(std::move(meta));
/// ```

#include <switchboard/bytes.hpp>
#include <switchboard/sio/packet.hpp>

#include <boost/json/value.hpp>
#include <boost/json/value_from.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace switchboard::io {

/// A binary argument (Node's Buffer / the browser's ArrayBuffer on the other side).
struct binary {
    shared_bytes bytes;
};

class arguments {
public:
    arguments() = default;
    arguments(boost::json::array values, std::vector<shared_bytes> attachments = {})
        : values(std::move(values)), attachments(std::move(attachments)) {}

    /// The arguments, in order. Binary values appear as placeholders.
    boost::json::array values;
    /// The bytes the placeholders in `values` refer to.
    std::vector<shared_bytes> attachments;

    std::size_t size() const noexcept { return values.size(); }
    bool empty() const noexcept { return values.empty(); }
    /// Argument `i`, or null past the end (a client decides how many arguments it sends).
    const boost::json::value& operator[](std::size_t i) const noexcept {
        static const boost::json::value none;
        return i < values.size() ? values[i] : none;
    }

    /// Argument `i` as `T`, or nothing when it is missing or of another JSON type; never throws, so
    /// it is safe on whatever a client sent. `T` is std::string, bool, double (any number),
    /// std::int64_t / std::uint64_t / int (whole numbers in range, 3.0 included), boost::json::object,
    /// boost::json::array or boost::json::value.
    template <class T>
    std::optional<T> get(std::size_t i) const {
        const auto& v = (*this)[i];
        if constexpr (std::is_same_v<T, std::string>) {
            if (const auto* s = v.if_string()) return std::string(*s);
        } else if constexpr (std::is_same_v<T, bool>) {
            if (const auto* b = v.if_bool()) return *b;
        } else if constexpr (std::is_floating_point_v<T>) {
            boost::system::error_code ec;
            const auto d = v.to_number<double>(ec);
            if (!ec) return static_cast<T>(d);
        } else if constexpr (std::is_integral_v<T>) {
            boost::system::error_code ec;
            const auto n = v.to_number<T>(ec); // exact conversions only: 1.5 and out-of-range values fail
            if (!ec) return n;
        } else if constexpr (std::is_same_v<T, boost::json::object>) {
            if (const auto* o = v.if_object()) return *o;
        } else if constexpr (std::is_same_v<T, boost::json::array>) {
            if (const auto* a = v.if_array()) return *a;
        } else if constexpr (std::is_same_v<T, boost::json::value>) {
            if (i < values.size()) return v;
        } else {
            static_assert(sizeof(T) == 0, "arguments::get: unsupported type");
        }
        return std::nullopt;
    }

    /// The bytes of a binary value (a placeholder in `values`, at any depth); null if `value` is not one.
    shared_bytes bytes_of(const boost::json::value& value) const {
        const auto index = sio::placeholder_index(value);
        return index && *index < attachments.size() ? attachments[*index] : nullptr;
    }
    /// The bytes of argument `i` when it is binary; null otherwise.
    shared_bytes bytes_at(std::size_t i) const { return i < values.size() ? bytes_of(values[i]) : nullptr; }

    /// Adds `bytes` as an attachment; returns the placeholder to put anywhere in `values`.
    boost::json::value attach(shared_bytes bytes) { return sio::attach(attachments, std::move(bytes)); }

    /// Appends one argument: `binary` / `shared_bytes` become attachments, anything else JSON
    /// (through Boost.JSON's value_from for user types).
    template <class T>
    arguments& push(T&& value) {
        using type = std::decay_t<T>;
        if constexpr (std::is_same_v<type, binary>) {
            values.push_back(attach(std::forward<T>(value).bytes));
        } else if constexpr (std::is_same_v<type, shared_bytes>) {
            values.push_back(attach(std::forward<T>(value)));
        } else if constexpr (std::is_constructible_v<boost::json::value, T&&>) {
            values.emplace_back(std::forward<T>(value));
        } else {
            values.push_back(boost::json::value_from(std::forward<T>(value)));
        }
        return *this;
    }

    /// Builds arguments from values, as `push` does for each.
    template <class... A>
    static arguments of(A&&... values) {
        arguments args;
        (args.push(std::forward<A>(values)), ...);
        return args;
    }
};

// The variadic emit of the server's and the client's sockets.
namespace detail {
template <class... A>
struct last_of {
    using type = void;
};
template <class A>
struct last_of<A> {
    using type = A;
};
template <class A, class B, class... R>
struct last_of<A, B, R...> : last_of<B, R...> {};

template <class F, class Reply, class = void>
struct is_callback : std::false_type {};
template <class F, class Reply>
struct is_callback<F, Reply, std::enable_if_t<std::is_invocable_v<std::decay_t<F>&, std::error_code, Reply>>>
    : std::true_type {};

template <class Tuple, std::size_t... I>
arguments leading_arguments(Tuple&& t, std::index_sequence<I...>) {
    return arguments::of(std::get<I>(std::forward<Tuple>(t))...);
}

/// emit(name, values..., [callback]): calls target.emit_args with or without the trailing callback.
template <class Reply, class Callback, class Target, class... A>
std::error_code emit_variadic(const Target& target, std::string_view name, A&&... values) {
    if constexpr (is_callback<typename last_of<A...>::type, Reply>::value) {
        auto all = std::forward_as_tuple(std::forward<A>(values)...);
        constexpr auto n = sizeof...(A) - 1;
        return target.emit_args(name, leading_arguments(std::move(all), std::make_index_sequence<n>{}),
                                Callback(std::get<n>(std::move(all))));
    } else {
        return target.emit_args(name, arguments::of(std::forward<A>(values)...));
    }
}
} // namespace detail

} // namespace switchboard::io
