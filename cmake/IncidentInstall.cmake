# IncidentInstall.cmake - what `cmake --install` puts next to the targets
# (whose own install() rules live in runtime/ and compiler/): the CMake
# package Incident (config, version file, exported targets, aggc_generate),
# incident.pc, the aggc man page and the editor support files.
include(CMakePackageConfigHelpers)

set(INCIDENT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Incident)

install(EXPORT IncidentTargets NAMESPACE Incident::
        FILE IncidentTargets.cmake DESTINATION ${INCIDENT_CMAKE_DIR})
configure_package_config_file(
  ${CMAKE_CURRENT_LIST_DIR}/IncidentConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/IncidentConfig.cmake
  INSTALL_DESTINATION ${INCIDENT_CMAKE_DIR})
# 0.x releases promise compatibility within the same major version too, as
# the SONAME (libincident.so.0) does.
write_basic_package_version_file(
  ${CMAKE_CURRENT_BINARY_DIR}/IncidentConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/IncidentConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/IncidentConfigVersion.cmake
              ${CMAKE_CURRENT_LIST_DIR}/AggcGenerate.cmake
        DESTINATION ${INCIDENT_CMAKE_DIR})

# incident.pc locates itself (${pcfiledir}), so it stays right when the
# tree is installed with `cmake --install --prefix` or moved.
set(_inc_pcdir ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}"
   OR IS_ABSOLUTE "${CMAKE_INSTALL_BINDIR}")
  set(INCIDENT_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(INCIDENT_PC_LIBDIR "${CMAKE_INSTALL_FULL_LIBDIR}")
  set(INCIDENT_PC_INCLUDEDIR "${CMAKE_INSTALL_FULL_INCLUDEDIR}")
  set(INCIDENT_PC_BINDIR "${CMAKE_INSTALL_FULL_BINDIR}")
else()
  file(RELATIVE_PATH _inc_up /x/${_inc_pcdir} /x)
  string(REGEX REPLACE "/$" "" _inc_up "${_inc_up}")
  set(INCIDENT_PC_PREFIX "\${pcfiledir}/${_inc_up}")
  set(INCIDENT_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
  set(INCIDENT_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
  set(INCIDENT_PC_BINDIR "\${prefix}/${CMAKE_INSTALL_BINDIR}")
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/incident.pc.in
               ${CMAKE_CURRENT_BINARY_DIR}/incident.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/incident.pc DESTINATION ${_inc_pcdir})

install(FILES ${PROJECT_SOURCE_DIR}/docs/aggc.1
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/editors/
        DESTINATION ${CMAKE_INSTALL_DATADIR}/incident/editors)
