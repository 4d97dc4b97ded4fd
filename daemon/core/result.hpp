// What module boundaries (the store, the directory, the CLI's control client)
// return when an operation can fail: a value, or the Error saying why. Like
// std::expected (C++23), which this toolchain lacks. Expected failures are
// values (docs/architecture.md §5); asking a failed Result for its value, or a good one
// for its error, is a bug and throws BadResultAccess.
//
//   auto store = Store::open(path);
//   if (!store) log.error("cannot open {}: {}", path.string(), store.error().message());
//   else if (auto written = (*store)->insert_call(call); !written) log.error("{}", written.error().message());
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace deskline::daemon {

// Why an operation failed. code is for programs (compare it with an error
// enum such as StoreError::no_such_call, or std::errc); detail is for people
// and carries the context the code lacks ("insert call 42: UNIQUE constraint
// failed: calls.id").
struct Error {
  std::error_code code;
  std::string detail;  // "" when the code's own message says it all

  // detail, or the code's message when there is no detail.
  std::string message() const { return detail.empty() ? code.message() : detail; }
};

class BadResultAccess : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  // Implicit both ways, so a function returns its value or an Error as they come.
  template <typename U = T>
    requires(std::is_constructible_v<T, U &&> && !std::is_same_v<std::remove_cvref_t<U>, Result> &&
             !std::is_same_v<std::remove_cvref_t<U>, Error>)
  Result(U&& value) : state_(std::in_place_index<0>, std::forward<U>(value)) {}
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}

  bool has_value() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & {
    check_value();
    return std::get<0>(state_);
  }
  const T& value() const& {
    check_value();
    return std::get<0>(state_);
  }
  T&& value() && {
    check_value();
    return std::get<0>(std::move(state_));
  }
  const Error& error() const {
    if (has_value()) throw BadResultAccess("error() of a Result that holds a value");
    return std::get<1>(state_);
  }

  // The value, or fallback when there is none (the error is then dropped).
  template <typename U>
  T value_or(U&& fallback) const& {
    return has_value() ? std::get<0>(state_) : static_cast<T>(std::forward<U>(fallback));
  }
  template <typename U>
  T value_or(U&& fallback) && {
    return has_value() ? std::get<0>(std::move(state_)) : static_cast<T>(std::forward<U>(fallback));
  }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  void check_value() const {
    if (!has_value()) throw BadResultAccess("value() of a failed Result: " + std::get<1>(state_).message());
  }

  std::variant<T, Error> state_;
};

// Success without a value, or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}

  bool has_value() const noexcept { return !error_; }
  explicit operator bool() const noexcept { return has_value(); }

  void value() const {
    if (error_) throw BadResultAccess("value() of a failed Result: " + error_->message());
  }
  const Error& error() const {
    if (!error_) throw BadResultAccess("error() of a Result that succeeded");
    return *error_;
  }

 private:
  std::optional<Error> error_;
};

}  // namespace deskline::daemon
