// The reference of every input key, generated from the schemas (`scaleplan spec`,
// docs/SPEC.md): one table per section with key, flag, kind, unit, default and allowed values.
#pragma once

#include <string>

namespace scaleplan::report {

std::string SpecReferenceMarkdown();

}  // namespace scaleplan::report
