# Registers the install/relocation/consumer check (check_package.cmake) as CTest tests.
# Included from tests/CMakeLists.txt: include(package/package_tests.cmake).
#
# Each test builds and installs a private copy of referkit (tests and examples off) in its own
# work dir under the build tree, so the two kinds can run in parallel and never touch the
# developer's build or install prefix. The nested builds use this build's generator, make
# program, C++ compiler and configuration.
if(CMAKE_CROSSCOMPILING)
  message(STATUS "referkit: package tests skipped when cross-compiling (the consumer must run)")
  return()
endif()

foreach(referkit_pkg_kind IN ITEMS static shared)
  if(referkit_pkg_kind STREQUAL "shared")
    set(referkit_pkg_shared ON)
  else()
    set(referkit_pkg_shared OFF)
  endif()
  add_test(NAME package.${referkit_pkg_kind}
    COMMAND "${CMAKE_COMMAND}"
      "-DSOURCE_DIR=${referkit_SOURCE_DIR}"
      "-DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/package-${referkit_pkg_kind}"
      "-DBUILD_SHARED=${referkit_pkg_shared}"
      "-DGENERATOR=${CMAKE_GENERATOR}"
      "-DMAKE_PROGRAM=${CMAKE_MAKE_PROGRAM}"
      "-DCXX_COMPILER=${CMAKE_CXX_COMPILER}"
      "-DBUILD_TYPE=$<CONFIG>"
      -P "${CMAKE_CURRENT_LIST_DIR}/check_package.cmake")
  set_tests_properties(package.${referkit_pkg_kind} PROPERTIES LABELS package TIMEOUT 1200)
endforeach()
unset(referkit_pkg_kind)
unset(referkit_pkg_shared)

# Configure only (no build): simdjson 3.0, 3.13 and 4.x accepted, 2.x refused with a clear message.
add_test(NAME package.dependency_versions
  COMMAND "${CMAKE_COMMAND}"
    "-DSOURCE_DIR=${referkit_SOURCE_DIR}"
    "-DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/package-dependency-versions"
    "-DSIMDJSON_DIR=${simdjson_DIR}"
    "-DGENERATOR=${CMAKE_GENERATOR}"
    "-DMAKE_PROGRAM=${CMAKE_MAKE_PROGRAM}"
    "-DCXX_COMPILER=${CMAKE_CXX_COMPILER}"
    -P "${CMAKE_CURRENT_LIST_DIR}/check_dependency_versions.cmake")
set_tests_properties(package.dependency_versions PROPERTIES LABELS package TIMEOUT 300)
