#pragma once
/// @file
/// `result<T>`: a value or a `std::error_code` (C++20 has no std::expected). Decoders return these;
/// nothing in the public API throws for bad input.

#include <cassert>
#include <system_error>
#include <utility>
#include <variant>

namespace switchboard {

template <class T>
class [[nodiscard]] result {
public:
    result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
    result(std::error_code error) : state_(std::in_place_index<1>, error) { assert(error); }
    template <class E, class = std::enable_if_t<std::is_error_code_enum_v<E>>>
    result(E error) : result(make_error_code(error)) {}

    bool has_value() const noexcept { return state_.index() == 0; }
    explicit operator bool() const noexcept { return has_value(); }

    T& value() & { return std::get<0>(state_); }
    const T& value() const& { return std::get<0>(state_); }
    T&& value() && { return std::get<0>(std::move(state_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T&& operator*() && { return std::move(*this).value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    /// The error; an empty error_code when there is a value.
    std::error_code error() const noexcept { return has_value() ? std::error_code{} : std::get<1>(state_); }

private:
    std::variant<T, std::error_code> state_;
};

} // namespace switchboard
