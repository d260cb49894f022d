// The schema mechanism: every input key is defined once, here-style, as a Field of a Schema<T>.
//
// A Field carries the key's name, CLI flag, kind, unit, help text and what is allowed, plus a
// setter that parses and validates one raw value and a getter that renders it as JSON. The YAML
// readers, the CLI flags, `scaleplan spec` (the generated reference) and every error message about
// a single value derive from these definitions. Checks that involve several fields (tp divides
// heads, tp*cp*pp*dp equals the GPU count, ...) live with the code that owns the concept (plan).
//
// Error messages have the form
//   "<origin>: <section>.<key> = <value> <problem> (allowed: <allowed>)"
// where origin is "file.yaml:12" or "--flag" and may be empty.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "core/text.h"

namespace scaleplan::spec {

enum class ValueKind { kInteger, kNumber, kBoolean, kString, kChoice, kList, kTable };

std::string_view ValueKindName(ValueKind kind);

// A value as it came from a file or a flag, before it is parsed into a field.
struct RawValue {
  std::string text;                // the scalar as written; for lists, the items joined by ", "
  std::vector<std::string> items;  // list items (a YAML sequence, or a flag split on commas)
  bool is_list = false;
  // A quoted YAML scalar, a JSON string or a Python str: text, which an integer, number or
  // boolean field refuses ("8" is not 8) as a typed reader would.
  bool quoted = false;
  std::string origin;  // "plan.yaml:12", "--tp", or "" when unknown
};

RawValue ScalarValue(std::string text, std::string origin);

struct FieldInfo {
  std::string key;   // YAML key, e.g. "ffn_hidden"
  std::string flag;  // CLI flag without the leading dashes, e.g. "seq" for workload.seq_len
  ValueKind kind = ValueKind::kString;
  std::string unit;  // "bytes", "s", "bytes/s", "FLOP/s", "" for counts and names
  std::string help;
  std::string allowed;     // e.g. "integer >= 1", "one of: none, selective, full"
  std::string short_flag;  // a one-letter CLI alias without the dash, e.g. "o" (usually none)
};

// Formats the standard one-line error about one field's value.
Status FieldError(std::string_view section, const FieldInfo& info, const RawValue& value,
                  std::string_view problem);

template <class T>
struct Field {
  FieldInfo info;
  std::function<Status(T&, const RawValue&)> set;  // parses, validates this value alone, assigns
  std::function<nlohmann::json(const T&)> get;     // the current value, for JSON output and docs
  // The value's bounds, for values assigned without `set` (a reader that fills a spec directly,
  // such as the Megatron arguments); null when the field has none. With `zero_is_unset`, 0 passes
  // (the spec's validator decides whether the field is required).
  std::function<Status(const T&, bool zero_is_unset)> check;
};

template <class T>
class Schema {
 public:
  explicit Schema(std::string section) : section_(std::move(section)) {}

  const std::string& section() const { return section_; }
  const std::vector<Field<T>>& fields() const { return fields_; }

  const Field<T>* Find(std::string_view key) const {
    for (const Field<T>& f : fields_) {
      if (f.info.key == key) return &f;
    }
    return nullptr;
  }

  std::vector<std::string> Keys() const {
    std::vector<std::string> keys;
    for (const Field<T>& f : fields_) keys.push_back(f.info.key);
    return keys;
  }

  // Whether `key` is one a file may set.
  bool Settable(std::string_view key) const {
    const Field<T>* field = Find(key);
    return field != nullptr && field->set;
  }

  // The error for a key this schema does not set, at `where` ("file:line" or ""), listing the keys
  // it sets and `also` (keys the caller reads itself, such as a cluster's tiers).
  Status Unknown(std::string_view key, const std::string& where,
                 std::initializer_list<std::string_view> also = {}) const {
    std::string known;
    for (const Field<T>& f : fields_) {
      if (!f.set) continue;
      if (!known.empty()) known += ", ";
      known += f.info.key;
    }
    for (std::string_view a : also) known += (known.empty() ? "" : ", ") + std::string(a);
    // (A key of any length may come from a dict or a file: shown, and named, in 60 bytes.)
    const std::string shown = Printable(key, 60);
    return Status::Invalid((where.empty() ? "" : where + ": ") + "unknown key '" + shown +
                           "' in " + section_ + " (allowed: " + known + ")")
        .WithKey(section_ + "." + shown);
  }

  // Sets one key; an unknown key is an error that lists the known ones.
  Status Set(T& object, std::string_view key, const RawValue& value) const {
    if (!Settable(key)) return Unknown(key, value.origin);
    return Find(key)->set(object, value);
  }

  // Every bounded field of `object` is within its bounds; 0 stands for "not set" and is left to
  // the spec's validator (which knows which fields are required).
  Status CheckBounds(const T& object) const {
    for (const Field<T>& f : fields_) {
      if (f.check) SP_RETURN_IF_ERROR(f.check(object, true));
    }
    return Status::Ok();
  }

  // Every bounded field of `object` is within its bounds, 0 included (for options structs whose
  // every field has a meaningful value).
  Status CheckValues(const T& object) const {
    for (const Field<T>& f : fields_) {
      if (f.check) SP_RETURN_IF_ERROR(f.check(object, false));
    }
    return Status::Ok();
  }

  nlohmann::json ToJson(const T& object) const {
    nlohmann::json out = nlohmann::json::object();
    for (const Field<T>& f : fields_) {
      if (f.get) out[f.info.key] = f.get(object);
    }
    return out;
  }

  // ---- Field builders. `flag` defaults to the key with '_' replaced by '-'. ----

  Schema& Integer(std::string key, int64_t T::*member, int64_t min, int64_t max, std::string unit,
                  std::string help, std::string flag = "") {
    FieldInfo info = MakeInfo(
        std::move(key), ValueKind::kInteger, std::move(unit), std::move(help), std::move(flag),
        RangeText("integer", static_cast<double>(min), static_cast<double>(max)));
    std::string section = section_;
    Field<T> field{info, nullptr, nullptr, nullptr};
    field.set = [section, info, member, min, max](T& object, const RawValue& value) -> Status {
      return SetInteger(section, info, value, min, max, object.*member);
    };
    field.check = [section, info, member, min, max](const T& object, bool zero_is_unset) -> Status {
      int64_t v = object.*member;
      if ((zero_is_unset && v == 0) || (v >= min && v <= max)) return Status::Ok();
      return FieldError(section, info, ScalarValue(std::to_string(v), ""), "is out of range");
    };
    field.get = [member](const T& object) { return nlohmann::json(object.*member); };
    fields_.push_back(std::move(field));
    return *this;
  }

  Schema& Number(std::string key, double T::*member, double min, double max, std::string unit,
                 std::string help, std::string flag = "") {
    FieldInfo info = MakeInfo(std::move(key), ValueKind::kNumber, std::move(unit), std::move(help),
                              std::move(flag), RangeText("number", min, max));
    std::string section = section_;
    Field<T> field{info, nullptr, nullptr, nullptr};
    field.set = [section, info, member, min, max](T& object, const RawValue& value) -> Status {
      return SetNumber(section, info, value, min, max, object.*member);
    };
    field.check = [section, info, member, min, max](const T& object, bool zero_is_unset) -> Status {
      double v = object.*member;
      if ((zero_is_unset && v == 0) || (v >= min && v <= max)) return Status::Ok();
      return FieldError(section, info, ScalarValue(fmt::format("{}", v), ""), "is out of range");
    };
    field.get = [member](const T& object) { return nlohmann::json(object.*member); };
    fields_.push_back(std::move(field));
    return *this;
  }

  // 0 (the field's "derive it" or "none"), or a number from `min` (> 0) to `max`: a value between
  // 0 and `min` (a checkpoint of 1e-300 bytes) is neither.
  Schema& NumberOrZero(std::string key, double T::*member, double min, double max, std::string unit,
                       std::string help, std::string flag = "") {
    FieldInfo info = MakeInfo(std::move(key), ValueKind::kNumber, std::move(unit), std::move(help),
                              std::move(flag), "0, or a " + RangeText("number", min, max));
    std::string section = section_;
    Field<T> field{info, nullptr, nullptr, nullptr};
    field.set = [section, info, member, min, max](T& object, const RawValue& value) -> Status {
      double v = 0;
      SP_RETURN_IF_ERROR(SetNumber(section, info, value, 0, max, v));
      if (v != 0 && v < min) return FieldError(section, info, value, "is out of range");
      object.*member = v;
      return Status::Ok();
    };
    field.check = [section, info, member, min, max](const T& object, bool) -> Status {
      double v = object.*member;
      if (v == 0 || (v >= min && v <= max)) return Status::Ok();
      return FieldError(section, info, ScalarValue(fmt::format("{}", v), ""), "is out of range");
    };
    field.get = [member](const T& object) { return nlohmann::json(object.*member); };
    fields_.push_back(std::move(field));
    return *this;
  }

  // Any integer from 0 to 2^64 - 1, taken exactly as written (seeds); also "1e6" and "16Mi".
  Schema& Unsigned(std::string key, uint64_t T::*member, std::string help, std::string flag = "") {
    FieldInfo info = MakeInfo(std::move(key), ValueKind::kInteger, "", std::move(help),
                              std::move(flag), "integer 0 to 2^64 - 1");
    std::string section = section_;
    Field<T> field{info, nullptr, nullptr, nullptr};
    field.set = [section, info, member](T& object, const RawValue& value) -> Status {
      return SetUnsigned(section, info, value, object.*member);
    };
    field.get = [member](const T& object) { return nlohmann::json(object.*member); };
    fields_.push_back(std::move(field));
    return *this;
  }

  // Gives the field added last a one-letter CLI alias ("o" for -o).
  Schema& Alias(std::string short_flag) {
    fields_.back().info.short_flag = std::move(short_flag);
    return *this;
  }

  Schema& Boolean(std::string key, bool T::*member, std::string help, std::string flag = "") {
    FieldInfo info = MakeInfo(std::move(key), ValueKind::kBoolean, "", std::move(help),
                              std::move(flag), "true or false");
    std::string section = section_;
    Field<T> field{info, nullptr, nullptr, nullptr};
    field.set = [section, info, member](T& object, const RawValue& value) -> Status {
      return SetBoolean(section, info, value, object.*member);
    };
    field.get = [member](const T& object) { return nlohmann::json(object.*member); };
    fields_.push_back(std::move(field));
    return *this;
  }

  Schema& Text(std::string key, std::string T::*member, std::string help, std::string flag = "") {
    FieldInfo info = MakeInfo(std::move(key), ValueKind::kString, "", std::move(help),
                              std::move(flag), "UTF-8 text");
    std::string section = section_;
    Field<T> field{info, nullptr, nullptr, nullptr};
    field.set = [section, info, member](T& object, const RawValue& value) -> Status {
      if (value.is_list) return FieldError(section, info, value, "is a list, not a single value");
      // Text that a report or a log echoes must be text: bytes that are not UTF-8 would make the
      // JSON writer throw (a flag's value comes from the shell, unchecked). Paths too: a file
      // name that is not UTF-8 is refused, a limit of this tool.
      if (!CheckText(value.text, "").ok()) {
        return FieldError(section, info, value,
                          "holds a byte that is not UTF-8, or a control character other than "
                          "tab and line breaks");
      }
      object.*member = value.text;
      return Status::Ok();
    };
    field.get = [member](const T& object) { return nlohmann::json(object.*member); };
    fields_.push_back(std::move(field));
    return *this;
  }

  // A name from a fixed list (a registry's: engines, packers, ...), kept as text; with
  // `allow_empty`, "" (the default: none) too.
  Schema& OneOf(std::string key, std::string T::*member, std::vector<std::string> names,
                std::string help, bool allow_empty = false, std::string flag = "") {
    FieldInfo info = MakeInfo(std::move(key), ValueKind::kChoice, "", std::move(help),
                              std::move(flag), "one of: " + JoinNames(names));
    std::string section = section_;
    Field<T> field{info, nullptr, nullptr, nullptr};
    field.set = [section, info, member, names, allow_empty](T& object,
                                                            const RawValue& value) -> Status {
      if (value.is_list) return FieldError(section, info, value, "is a list, not a single value");
      bool known = allow_empty && value.text.empty();
      for (const std::string& name : names) known = known || name == value.text;
      if (!known) return FieldError(section, info, value, "is not a known choice");
      object.*member = value.text;
      return Status::Ok();
    };
    field.get = [member](const T& object) { return nlohmann::json(object.*member); };
    fields_.push_back(std::move(field));
    return *this;
  }

  // An enumerated value; `choices` pairs each accepted spelling with its value. The first
  // spelling of a value is the one printed.
  template <class E>
  Schema& Choice(std::string key, E T::*member, std::vector<std::pair<std::string, E>> choices,
                 std::string help, std::string flag = "") {
    std::vector<std::string> names;
    for (const auto& [name, value] : choices) names.push_back(name);
    FieldInfo info = MakeInfo(std::move(key), ValueKind::kChoice, "", std::move(help),
                              std::move(flag), "one of: " + JoinNames(names));
    std::string section = section_;
    Field<T> field{info, nullptr, nullptr, nullptr};
    field.set = [section, info, member, choices](T& object, const RawValue& value) -> Status {
      if (value.is_list) return FieldError(section, info, value, "is a list, not a single value");
      for (const auto& [name, choice] : choices) {
        if (name == value.text) {
          object.*member = choice;
          return Status::Ok();
        }
      }
      return FieldError(section, info, value, "is not a known choice");
    };
    field.get = [member, choices](const T& object) {
      for (const auto& [name, choice] : choices) {
        if (choice == object.*member) return nlohmann::json(name);
      }
      return nlohmann::json(nullptr);
    };
    fields_.push_back(std::move(field));
    return *this;
  }

  // A field with its own parser (lists, nested tables). `set` may be null for a table that the
  // reader handles itself (e.g. cluster.tiers); the field still appears in docs and JSON.
  Schema& Custom(FieldInfo info, std::function<Status(T&, const RawValue&)> set,
                 std::function<nlohmann::json(const T&)> get) {
    if (info.flag.empty()) info.flag = FlagFromKey(info.key);
    fields_.push_back(Field<T>{std::move(info), std::move(set), std::move(get), nullptr});
    return *this;
  }

 private:
  static std::string FlagFromKey(const std::string& key) {
    std::string flag = key;
    for (char& c : flag) {
      if (c == '_') c = '-';
    }
    return flag;
  }
  static FieldInfo MakeInfo(std::string key, ValueKind kind, std::string unit, std::string help,
                            std::string flag, std::string allowed) {
    FieldInfo info;
    info.flag = flag.empty() ? FlagFromKey(key) : std::move(flag);
    info.key = std::move(key);
    info.kind = kind;
    info.unit = std::move(unit);
    info.help = std::move(help);
    info.allowed = std::move(allowed);
    return info;
  }
  static std::string JoinNames(const std::vector<std::string>& names);
  static std::string RangeText(std::string_view kind, double min, double max);
  static Status SetInteger(const std::string& section, const FieldInfo& info, const RawValue& value,
                           int64_t min, int64_t max, int64_t& out);
  static Status SetNumber(const std::string& section, const FieldInfo& info, const RawValue& value,
                          double min, double max, double& out);
  static Status SetBoolean(const std::string& section, const FieldInfo& info, const RawValue& value,
                           bool& out);
  static Status SetUnsigned(const std::string& section, const FieldInfo& info,
                            const RawValue& value, uint64_t& out);

  std::string section_;
  std::vector<Field<T>> fields_;
};

// The spelling of `value` in a Choice list (the first one listed); "?" when it has none.
template <class E>
std::string_view ChoiceName(const std::vector<std::pair<std::string, E>>& choices, E value) {
  for (const auto& [name, choice] : choices) {
    if (choice == value) return name;
  }
  return "?";
}

// Non-template helpers behind the builders (schema.cpp).
namespace detail {
std::string JoinNames(const std::vector<std::string>& names);
std::string RangeText(std::string_view kind, double min, double max);
Status SetInteger(const std::string& section, const FieldInfo& info, const RawValue& value,
                  int64_t min, int64_t max, int64_t& out);
Status SetNumber(const std::string& section, const FieldInfo& info, const RawValue& value,
                 double min, double max, double& out);
Status SetBoolean(const std::string& section, const FieldInfo& info, const RawValue& value,
                  bool& out);
Status SetUnsigned(const std::string& section, const FieldInfo& info, const RawValue& value,
                   uint64_t& out);
}  // namespace detail

template <class T>
std::string Schema<T>::JoinNames(const std::vector<std::string>& names) {
  return detail::JoinNames(names);
}
template <class T>
std::string Schema<T>::RangeText(std::string_view kind, double min, double max) {
  return detail::RangeText(kind, min, max);
}
template <class T>
Status Schema<T>::SetInteger(const std::string& section, const FieldInfo& info,
                             const RawValue& value, int64_t min, int64_t max, int64_t& out) {
  return detail::SetInteger(section, info, value, min, max, out);
}
template <class T>
Status Schema<T>::SetNumber(const std::string& section, const FieldInfo& info,
                            const RawValue& value, double min, double max, double& out) {
  return detail::SetNumber(section, info, value, min, max, out);
}
template <class T>
Status Schema<T>::SetBoolean(const std::string& section, const FieldInfo& info,
                             const RawValue& value, bool& out) {
  return detail::SetBoolean(section, info, value, out);
}
template <class T>
Status Schema<T>::SetUnsigned(const std::string& section, const FieldInfo& info,
                              const RawValue& value, uint64_t& out) {
  return detail::SetUnsigned(section, info, value, out);
}

}  // namespace scaleplan::spec
