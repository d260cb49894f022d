// Status and Result<T>: expected failures as values.
//
// Library code never prints or exits; a function that can fail on user input returns a Status or
// a Result<T>. A message is one line that names the input, the bad value and what is allowed,
// e.g. "plan.tp = 3 does not divide model.heads = 128 (allowed: 1, 2, 4, 8, 16, 32, 64, 128)".
// Broken internal invariants are assertions, not Status values.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace scaleplan {

enum class StatusCode {
  kOk,
  kInvalidArgument,  // a value the user gave is not allowed
  kNotFound,         // a named preset, file or key does not exist
  kParseError,       // a file could not be read as YAML, JSON or CSV
  kIoError,          // an input file exists but cannot be read
  kWriteError,       // an output could not be written (the only failure that exits 1)
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status Invalid(std::string message) {
    return Status(StatusCode::kInvalidArgument, std::move(message));
  }
  static Status NotFound(std::string message) {
    return Status(StatusCode::kNotFound, std::move(message));
  }
  static Status Parse(std::string message) {
    return Status(StatusCode::kParseError, std::move(message));
  }
  static Status Io(std::string message) { return Status(StatusCode::kIoError, std::move(message)); }
  static Status Write(std::string message) {
    return Status(StatusCode::kWriteError, std::move(message));
  }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // The input key the error is about, as "section.key" (e.g. "plan.pp"); empty when the error is
  // not about one key. Callers decide by it, never by the message's text.
  const std::string& key() const { return key_; }

  // Returns a copy whose message is prefixed with `context: `.
  Status WithContext(const std::string& context) const {
    if (ok()) return *this;
    Status out(code_, context + ": " + message_);
    out.key_ = key_;
    return out;
  }
  // Returns a copy (code and key kept) that says `message` instead.
  Status WithMessage(std::string message) const {
    if (ok()) return *this;
    Status out = *this;
    out.message_ = std::move(message);
    return out;
  }
  // Returns a copy that names the key it is about.
  Status WithKey(std::string key) const {
    Status out = *this;
    out.key_ = std::move(key);
    return out;
  }

 private:
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::string key_;
};

// Either a value or a non-OK Status.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!status_.ok() && "Result constructed from an OK status without a value");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T& value() & {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace scaleplan

// Propagates a non-OK Status from an expression returning Status.
#define SP_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::scaleplan::Status sp_status_ = (expr); \
    if (!sp_status_.ok()) return sp_status_; \
  } while (0)

#define SP_CONCAT_INNER_(a, b) a##b
#define SP_CONCAT_(a, b) SP_CONCAT_INNER_(a, b)
// Assigns the value of a Result<T> expression to `lhs`, or returns its Status.
#define SP_ASSIGN_OR_RETURN(lhs, expr) \
  SP_ASSIGN_OR_RETURN_IMPL_(SP_CONCAT_(sp_result_, __LINE__), lhs, expr)
#define SP_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
