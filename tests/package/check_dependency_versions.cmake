# Proves that referkit's configure accepts every simdjson from 3.0 to 4.x, and refuses an older
# one with a message naming the dependency, the version found and the version needed.
#
#   cmake -DSOURCE_DIR=<repo> -DWORK_DIR=<scratch> -DSIMDJSON_DIR=<dir of simdjson-config.cmake>
#         [-DGENERATOR=Ninja] [-DMAKE_PROGRAM=...] [-DCXX_COMPILER=...]
#         -P tests/package/check_dependency_versions.cmake
#
# Each case is a stand-in simdjson package: the real config file (so the real targets load) beside
# a version file that declares another version with simdjson's own SameMinorVersion rule. That
# version file alone reproduces the failure of find_package(simdjson 3) against vcpkg's 4.x.
cmake_minimum_required(VERSION 3.20)
include(CMakePackageConfigHelpers)

foreach(required IN ITEMS SOURCE_DIR WORK_DIR SIMDJSON_DIR)
  if(NOT DEFINED ${required} OR "${${required}}" STREQUAL "")
    message(FATAL_ERROR "check_dependency_versions: -D${required}=... is required")
  endif()
endforeach()

set(common_args)
if(GENERATOR)
  list(APPEND common_args -G "${GENERATOR}")
endif()
if(MAKE_PROGRAM)
  list(APPEND common_args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()
if(CXX_COMPILER)
  list(APPEND common_args "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")
endif()
file(REMOVE_RECURSE "${WORK_DIR}")

# Configures the library alone against a simdjson that declares `version`; sets <out>_rc and
# <out>_log in the caller's scope.
function(configure_against version out)
  set(package_dir "${WORK_DIR}/simdjson-${version}")
  file(WRITE "${package_dir}/simdjson-config.cmake"
    "include(\"${SIMDJSON_DIR}/simdjson-config.cmake\")\n")
  write_basic_package_version_file("${package_dir}/simdjson-config-version.cmake"
    VERSION "${version}" COMPATIBILITY SameMinorVersion)
  execute_process(
    COMMAND "${CMAKE_COMMAND}" -S "${SOURCE_DIR}" -B "${WORK_DIR}/build-${version}" ${common_args}
      -DREFERKIT_BUILD_TESTS=OFF -DREFERKIT_BUILD_EXAMPLES=OFF "-Dsimdjson_DIR=${package_dir}"
    RESULT_VARIABLE rc OUTPUT_VARIABLE stdout ERROR_VARIABLE stderr)
  set(${out}_rc "${rc}" PARENT_SCOPE)
  set(${out}_log "${stdout}${stderr}" PARENT_SCOPE)
endfunction()

foreach(version IN ITEMS 3.0.1 3.13.0 4.1.0)
  configure_against(${version} newer)
  if(NOT newer_rc EQUAL 0)
    message(FATAL_ERROR "check_dependency_versions: configure refused simdjson ${version}:\n${newer_log}")
  endif()
  string(FIND "${newer_log}" "simdjson ${version} (needs >= 3.0)" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "check_dependency_versions: configure did not use the simdjson ${version} "
                        "package it was given:\n${newer_log}")
  endif()
  message(STATUS "simdjson ${version}: accepted")
endforeach()

configure_against(2.2.0 older)
if(older_rc EQUAL 0)
  message(FATAL_ERROR "check_dependency_versions: configure accepted simdjson 2.2.0")
endif()
foreach(expected IN ITEMS "simdjson" "2.2.0" ">= 3.0")
  string(FIND "${older_log}" "${expected}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "check_dependency_versions: the refusal of simdjson 2.2.0 does not say "
                        "'${expected}':\n${older_log}")
  endif()
endforeach()
message(STATUS "simdjson 2.2.0: refused with a clear message")
