# scaleplan_embed(<out-var> SOURCE_DIR <dir> PATTERN <glob> HEADER <header> FUNCTION <qualified>
#                 [STRIP_EXTENSION])
# Adds a build step that regenerates a .cpp embedding the matching files whenever one changes,
# and returns the generated file's path in <out-var>.
function(scaleplan_embed out_var)
  cmake_parse_arguments(E "STRIP_EXTENSION" "SOURCE_DIR;PATTERN;HEADER;FUNCTION" "" ${ARGN})
  file(GLOB_RECURSE inputs CONFIGURE_DEPENDS "${E_SOURCE_DIR}/${E_PATTERN}")
  string(MAKE_C_IDENTIFIER "${E_FUNCTION}" stem)
  set(output "${CMAKE_CURRENT_BINARY_DIR}/${stem}.cpp")
  set(strip OFF)
  if(E_STRIP_EXTENSION)
    set(strip ON)
  endif()
  add_custom_command(
    OUTPUT "${output}"
    COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${E_SOURCE_DIR} -DPATTERN=${E_PATTERN} -DOUTPUT=${output}
            -DHEADER=${E_HEADER} -DFUNCTION=${E_FUNCTION} -DSTRIP_EXTENSION=${strip}
            -P ${PROJECT_SOURCE_DIR}/cmake/EmbedFiles.cmake
    DEPENDS ${inputs} ${PROJECT_SOURCE_DIR}/cmake/EmbedFiles.cmake
    COMMENT "Embedding ${E_PATTERN} from ${E_SOURCE_DIR}")
  set(${out_var} "${output}" PARENT_SCOPE)
endfunction()
