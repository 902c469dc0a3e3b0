# aggc_generate(<target> FILES a.agg... [OUT_DIR dir] [EMIT c sql dot]
#               [DOMAIN name] [AGAINST old.agg...])
#
# AGAINST names the .agg files of the domain's previous (deployed) version:
# aggc --against checks that the new files read every event the old domain
# could have stored, and the build fails on a breaking change
# (docs/evolution.md).
#
# Runs aggc on the .agg files at build time and adds the generated C to
# <target> (plus OUT_DIR to its include path).  Regenerates when a .agg file
# (or aggc) changes, and only then: the .agg files are listed as
# dependencies and aggc writes a Make-style depfile (-M) that CMake reads
# (DEPFILE works with the Ninja generators, and since CMake 3.20 with the
# Makefile generators; 3.21 added Visual Studio and Xcode).
#
# Used in this source tree (include()d by the top-level CMakeLists.txt) and
# installed with the CMake package (IncidentConfig.cmake includes it), so it
# must not refer to anything of the source tree.  The compiler is, in this
# order: the target Incident::aggc (imported by find_package(Incident), or
# the alias in this tree), the target aggc, or an `aggc` found on the PATH
# (AGGC_EXECUTABLE).  <target> still has to link Incident::runtime (or
# Incident::runtime_static) itself.
#
# Depfile paths are absolute (aggc writes the names it is given, and every
# name below is absolute), so CMP0116's NEW behaviour changes nothing; set
# it to keep Ninja from warning in projects that predate it.
cmake_policy(PUSH)
if(POLICY CMP0116)
  cmake_policy(SET CMP0116 NEW)
endif()

function(aggc_generate target)
  cmake_parse_arguments(AG "" "OUT_DIR;DOMAIN" "FILES;EMIT;AGAINST" ${ARGN})
  if(AG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "aggc_generate(${target}): unknown arguments: ${AG_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT TARGET ${target})
    message(FATAL_ERROR "aggc_generate(${target}): no such target (create it first)")
  endif()
  if(NOT AG_FILES)
    message(FATAL_ERROR "aggc_generate(${target}): FILES is required")
  endif()
  if(NOT AG_OUT_DIR)
    set(AG_OUT_DIR ${CMAKE_CURRENT_BINARY_DIR}/aggc_${target})
  endif()
  get_filename_component(AG_OUT_DIR "${AG_OUT_DIR}" ABSOLUTE
                         BASE_DIR ${CMAKE_CURRENT_BINARY_DIR})
  if(NOT AG_EMIT)
    set(AG_EMIT c sql)
  endif()
  foreach(e ${AG_EMIT})
    if(NOT e MATCHES "^(c|sql|dot)$")
      message(FATAL_ERROR "aggc_generate(${target}): EMIT ${e}: expected c, sql or dot")
    endif()
  endforeach()
  set(abs_files)
  foreach(f ${AG_FILES})
    get_filename_component(af "${f}" ABSOLUTE)
    list(APPEND abs_files ${af})
  endforeach()
  if(NOT AG_DOMAIN)
    # The domain name is declared inside the file; read it once at
    # configure time so the outputs can be named.
    list(GET abs_files 0 first)
    file(STRINGS "${first}" dline REGEX "^[ \t]*domain[ \t]+[A-Za-z_][A-Za-z0-9_]*[ \t]*;" LIMIT_COUNT 1)
    string(REGEX REPLACE "^[ \t]*domain[ \t]+([A-Za-z_][A-Za-z0-9_]*).*" "\\1" AG_DOMAIN "${dline}")
    if(NOT AG_DOMAIN)
      message(FATAL_ERROR "aggc_generate(${target}): no 'domain NAME;' line in ${first}; pass DOMAIN")
    endif()
  endif()
  set(against_args)
  set(abs_against)
  foreach(f ${AG_AGAINST})
    get_filename_component(af "${f}" ABSOLUTE)
    list(APPEND abs_against ${af})
    list(APPEND against_args --against ${af})
  endforeach()
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
  string(REPLACE ";" "," emit_list "${AG_EMIT}")

  set(aggc_dep)
  if(TARGET Incident::aggc)
    set(aggc_cmd Incident::aggc)
    set(aggc_dep Incident::aggc)
  elseif(TARGET aggc)
    set(aggc_cmd aggc)
    set(aggc_dep aggc)
  else()
    find_program(AGGC_EXECUTABLE aggc)
    if(NOT AGGC_EXECUTABLE)
      message(FATAL_ERROR "aggc_generate(${target}): no aggc: find_package(Incident) first, or set AGGC_EXECUTABLE")
    endif()
    set(aggc_cmd ${AGGC_EXECUTABLE})
    set(aggc_dep ${AGGC_EXECUTABLE})
  endif()

  set(depfile_args)
  if(CMAKE_GENERATOR MATCHES "Ninja" OR
     (CMAKE_GENERATOR MATCHES "Makefiles" AND NOT CMAKE_VERSION VERSION_LESS 3.20) OR
     NOT CMAKE_VERSION VERSION_LESS 3.21)
    set(depfile_args DEPFILE ${AG_OUT_DIR}/${AG_DOMAIN}.d)
  endif()
  add_custom_command(
    OUTPUT ${outs}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${AG_OUT_DIR}
    COMMAND ${aggc_cmd} -o ${AG_OUT_DIR} --emit=${emit_list}
            -M ${AG_OUT_DIR}/${AG_DOMAIN}.d ${against_args} ${abs_files}
    DEPENDS ${abs_files} ${abs_against} ${aggc_dep}
    ${depfile_args}
    COMMENT "aggc ${AG_DOMAIN}: ${AG_FILES}"
    VERBATIM)
  if("c" IN_LIST AG_EMIT)
    target_sources(${target} PRIVATE ${AG_OUT_DIR}/${AG_DOMAIN}.c ${AG_OUT_DIR}/${AG_DOMAIN}.h)
    target_include_directories(${target} PUBLIC $<BUILD_INTERFACE:${AG_OUT_DIR}>)
  else()
    add_custom_target(${target}_aggc ALL DEPENDS ${outs})
  endif()
endfunction()

cmake_policy(POP)
