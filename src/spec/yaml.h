// The YAML helpers every reader of a YAML input shares (spec files, calibration files): the
// text checks and parse with file:line:column errors, one-key-once checks, and positions.
#pragma once

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <string>
#include <string_view>

#include "core/status.h"
#include "spec/schema.h"

namespace scaleplan::spec {

// "origin:line" of a node, or origin when the node has no position.
std::string Where(const std::string& origin, const YAML::Node& node);
// Parses text that must be a YAML map at the top level (core/text.h's CheckText first).
Result<YAML::Node> ParseYaml(std::string_view text, const std::string& origin);
// Every key of `map` is a plain scalar and appears once; errors name `section`.
Status CheckKeys(const YAML::Node& map, const std::string& origin, std::string_view section);

// Whether a scalar is text by its writing: quoted ("8", '8'), or tagged !!str. A number or a
// boolean written so is refused where one is due, as a typed reader would.
bool IsQuoted(const YAML::Node& node);

// One YAML value (a scalar, or a sequence of scalars) as a RawValue for a schema's setter; maps
// and nulls are errors naming `section`.`key`. `where` ("file:line"), when given, is the
// position messages name: the key's (an empty value has the position of what follows it).
// `allowed`, when given, is what the key takes, named by the error for a null.
Result<RawValue> ToRaw(const YAML::Node& node, const std::string& origin, std::string_view section,
                       std::string_view key, const std::string& where = "",
                       const std::string& allowed = "");

// Applies every key of `map` through `schema`, except those in `handled` (read by the caller).
template <class T>
Status ApplyMap(const Schema<T>& schema, T& object, const YAML::Node& map,
                const std::string& origin, std::initializer_list<std::string_view> handled) {
  SP_RETURN_IF_ERROR(CheckKeys(map, origin, schema.section()));
  for (const auto& entry : map) {
    std::string key = entry.first.Scalar();
    bool skip = false;
    for (std::string_view h : handled) skip = skip || key == h;
    if (skip) continue;
    // Unknown before its value is read: a map under a misspelt key is an unknown key, and the
    // allowed keys include those the caller reads.
    if (!schema.Settable(key)) return schema.Unknown(key, Where(origin, entry.first), handled);
    SP_ASSIGN_OR_RETURN(
        RawValue raw, ToRaw(entry.second, origin, schema.section(), key, Where(origin, entry.first),
                            schema.Find(key)->info.allowed));
    SP_RETURN_IF_ERROR(schema.Set(object, key, raw));
  }
  return Status::Ok();
}

}  // namespace scaleplan::spec
