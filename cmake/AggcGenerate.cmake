# aggc_generate(<target> FILES a.agg... [OUT_DIR dir] [EMIT c sql dot])
#
# Runs aggc on the .agg files at build time and adds the generated C to
# <target>.  Regenerates when a .agg file (or aggc) changes, and only then:
# aggc writes a Make-style depfile (-M) that CMake reads.
function(aggc_generate target)
  cmake_parse_arguments(AG "" "OUT_DIR;DOMAIN" "FILES;EMIT" ${ARGN})
  if(NOT AG_FILES)
    message(FATAL_ERROR "aggc_generate(${target}): FILES is required")
  endif()
  if(NOT AG_OUT_DIR)
    set(AG_OUT_DIR ${CMAKE_CURRENT_BINARY_DIR}/aggc_${target})
  endif()
  if(NOT AG_EMIT)
    set(AG_EMIT c sql)
  endif()
  if(NOT AG_DOMAIN)
    # The domain name is declared inside the file; read it once at
    # configure time so the outputs can be named.
    list(GET AG_FILES 0 first)
    get_filename_component(first "${first}" ABSOLUTE)
    file(STRINGS "${first}" dline REGEX "^[ \t]*domain[ \t]+[A-Za-z_][A-Za-z0-9_]*[ \t]*;" LIMIT_COUNT 1)
    string(REGEX REPLACE "^[ \t]*domain[ \t]+([A-Za-z_][A-Za-z0-9_]*).*" "\\1" AG_DOMAIN "${dline}")
    if(NOT AG_DOMAIN)
      message(FATAL_ERROR "aggc_generate(${target}): no 'domain NAME;' line in ${first}; pass DOMAIN")
    endif()
  endif()
  set(outs)
  if("c" IN_LIST AG_EMIT)
    list(APPEND outs ${AG_OUT_DIR}/${AG_DOMAIN}.h ${AG_OUT_DIR}/${AG_DOMAIN}.c)
  endif()
  if("sql" IN_LIST AG_EMIT)
    list(APPEND outs ${AG_OUT_DIR}/${AG_DOMAIN}.sql)
  endif()
  if("dot" IN_LIST AG_EMIT)
    list(APPEND outs ${AG_OUT_DIR}/${AG_DOMAIN}.dot)
  endif()
  set(abs_files)
  foreach(f ${AG_FILES})
    get_filename_component(af "${f}" ABSOLUTE)
    list(APPEND abs_files ${af})
  endforeach()
  string(REPLACE ";" "," emit_list "${AG_EMIT}")
  if(TARGET Incident::aggc)
    set(aggc_cmd Incident::aggc)
  else()
    set(aggc_cmd aggc)
  endif()
  add_custom_command(
    OUTPUT ${outs}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${AG_OUT_DIR}
    COMMAND ${aggc_cmd} -o ${AG_OUT_DIR} --emit=${emit_list}
            -M ${AG_OUT_DIR}/${AG_DOMAIN}.d ${abs_files}
    DEPENDS ${abs_files} ${aggc_cmd}
    DEPFILE ${AG_OUT_DIR}/${AG_DOMAIN}.d
    COMMENT "aggc ${AG_DOMAIN}: ${AG_FILES}"
    VERBATIM)
  if("c" IN_LIST AG_EMIT)
    target_sources(${target} PRIVATE ${AG_OUT_DIR}/${AG_DOMAIN}.c ${AG_OUT_DIR}/${AG_DOMAIN}.h)
    target_include_directories(${target} PUBLIC ${AG_OUT_DIR})
  else()
    add_custom_target(${target}_aggc ALL DEPENDS ${outs})
  endif()
endfunction()
