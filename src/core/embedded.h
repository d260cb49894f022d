// A file compiled into the binary (cmake/EmbedFiles.cmake): presets and calibration tables.
#pragma once

#include <vector>

namespace scaleplan {

struct EmbeddedFile {
  const char* kind;  // the folder it came from, relative to the embedded root
  const char* name;  // its file name (presets: without .yaml)
  const char* text;  // its contents
};

}  // namespace scaleplan
