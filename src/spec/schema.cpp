#include "spec/schema.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

#include "core/text.h"

namespace scaleplan::spec {

std::string_view ValueKindName(ValueKind kind) {
  switch (kind) {
    case ValueKind::kInteger:
      return "integer";
    case ValueKind::kNumber:
      return "number";
    case ValueKind::kBoolean:
      return "boolean";
    case ValueKind::kString:
      return "text";
    case ValueKind::kChoice:
      return "choice";
    case ValueKind::kList:
      return "list";
    case ValueKind::kTable:
      return "table";
  }
  return "?";
}

RawValue ScalarValue(std::string text, std::string origin) {
  RawValue value;
  value.text = std::move(text);
  value.origin = std::move(origin);
  return value;
}

Status FieldError(std::string_view section, const FieldInfo& info, const RawValue& value,
                  std::string_view problem) {
  std::string where = value.origin.empty() ? "" : value.origin + ": ";
  std::string shown = value.is_list ? "[" + value.text + "]" : value.text;
  if (shown.empty() || value.quoted) shown = "\"" + shown + "\"";
  return Status::Invalid(fmt::format("{}{}.{} = {} {} (allowed: {})", where, section, info.key,
                                     shown, problem, info.allowed))
      .WithKey(fmt::format("{}.{}", section, info.key));
}

namespace detail {

std::string JoinNames(const std::vector<std::string>& names) { return Join(names, ", "); }

namespace {
std::string FormatBound(double v) {
  if (std::fabs(v) < 1e15 && v == std::floor(v)) return fmt::format("{:.0f}", v);
  return fmt::format("{:g}", v);
}
}  // namespace

std::string RangeText(std::string_view kind, double min, double max) {
  // Every bound is printed: a value refused for being too large must see the limit it passed.
  if (std::isfinite(max)) return fmt::format("{} from {} to {}", kind, FormatBound(min), FormatBound(max));
  return fmt::format("{} >= {}", kind, FormatBound(min));
}

Status SetInteger(const std::string& section, const FieldInfo& info, const RawValue& value,
                  int64_t min, int64_t max, int64_t& out) {
  if (value.is_list) return FieldError(section, info, value, "is a list, not a single value");
  if (value.quoted) return FieldError(section, info, value, "is quoted text, not an integer");
  Result<int64_t> parsed = ParseInteger(value.text);
  if (!parsed.ok()) return FieldError(section, info, value, parsed.status().message());
  if (*parsed < min || *parsed > max) return FieldError(section, info, value, "is out of range");
  out = *parsed;
  return Status::Ok();
}

Status SetUnsigned(const std::string& section, const FieldInfo& info, const RawValue& value,
                   uint64_t& out) {
  if (value.is_list) return FieldError(section, info, value, "is a list, not a single value");
  if (value.quoted) return FieldError(section, info, value, "is quoted text, not an integer");
  const char* end = value.text.data() + value.text.size();
  auto [at, error] = std::from_chars(value.text.data(), end, out);
  if (error == std::errc() && at == end && !value.text.empty()) return Status::Ok();
  Result<int64_t> parsed = ParseInteger(value.text);
  const bool notation = value.text.find_first_of(".eE") != std::string::npos;
  if (!parsed.ok() && parsed.status().message() == "is out of range" && notation &&
      ParseNumber(value.text).ok() && *ParseNumber(value.text) > 0 &&
      *ParseNumber(value.text) < 18446744073709551616.0) {
    // 1e17 is within 2^64 but read as a double, exact only to 2^53: the digits are what to write.
    return FieldError(section, info, value,
                      "is above 2^53 in a notation read as a floating-point number; write it in "
                      "digits");
  }
  if (!parsed.ok()) return FieldError(section, info, value, parsed.status().message());
  if (*parsed < 0) return FieldError(section, info, value, "is negative");
  out = static_cast<uint64_t>(*parsed);
  return Status::Ok();
}

Status SetNumber(const std::string& section, const FieldInfo& info, const RawValue& value,
                 double min, double max, double& out) {
  if (value.is_list) return FieldError(section, info, value, "is a list, not a single value");
  if (value.quoted) return FieldError(section, info, value, "is quoted text, not a number");
  Result<double> parsed = ParseNumber(value.text);
  if (!parsed.ok()) return FieldError(section, info, value, parsed.status().message());
  if (*parsed < min || *parsed > max) return FieldError(section, info, value, "is out of range");
  out = *parsed;
  return Status::Ok();
}

Status SetBoolean(const std::string& section, const FieldInfo& info, const RawValue& value,
                  bool& out) {
  if (value.is_list) return FieldError(section, info, value, "is a list, not a single value");
  if (value.quoted) return FieldError(section, info, value, "is quoted text, not true or false");
  Result<bool> parsed = ParseBool(value.text);
  if (!parsed.ok()) return FieldError(section, info, value, parsed.status().message());
  out = *parsed;
  return Status::Ok();
}

}  // namespace detail
}  // namespace scaleplan::spec
