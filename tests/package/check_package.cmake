# Proves that an installed referkit is usable and relocatable:
#   build + install the library, move the install prefix elsewhere, then build and run
#   tests/package/consumer.cpp against the moved prefix through find_package(), through
#   pkg-config, and against the build tree's export().
#
#   cmake -DSOURCE_DIR=<repo> -DWORK_DIR=<scratch> -DBUILD_SHARED=ON|OFF
#         [-DGENERATOR=Ninja] [-DMAKE_PROGRAM=...] [-DCXX_COMPILER=...] [-DBUILD_TYPE=Release]
#         -P tests/package/check_package.cmake
#
# WORK_DIR is wiped first: a leftover prefix from an earlier run could hide a broken install.
cmake_minimum_required(VERSION 3.20)

foreach(required IN ITEMS SOURCE_DIR WORK_DIR BUILD_SHARED)
  if(NOT DEFINED ${required} OR "${${required}}" STREQUAL "")
    message(FATAL_ERROR "check_package: -D${required}=... is required")
  endif()
endforeach()
if(NOT BUILD_TYPE)
  set(BUILD_TYPE Release)
endif()
if(BUILD_SHARED)
  set(BUILD_SHARED ON)
  set(static_link OFF)
else()
  set(BUILD_SHARED OFF)
  set(static_link ON)
endif()

# Arguments shared by every configure step, so all builds use the same toolchain.
set(common_args "-DCMAKE_BUILD_TYPE=${BUILD_TYPE}")
if(GENERATOR)
  list(APPEND common_args -G "${GENERATOR}")
endif()
if(MAKE_PROGRAM)
  list(APPEND common_args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()
if(CXX_COMPILER)
  list(APPEND common_args "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")
endif()

function(run step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc COMMAND_ECHO STDOUT)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "check_package: ${step} failed (${rc})")
  endif()
endfunction()

set(build_dir "${WORK_DIR}/build")
set(prefix "${WORK_DIR}/prefix")
set(moved_prefix "${WORK_DIR}/moved-prefix")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

# LIBDIR is pinned so the pkg-config path below does not depend on the distribution's default
# (lib, lib64 or lib/<multiarch>).
# The static package also builds the CLI alone (REFERKIT_BUILD_CLI, what vcpkg's referkit[tools]
# turns on); a shared referkit cannot host it (it uses internal symbols).
run("configure referkit" "${CMAKE_COMMAND}" -S "${SOURCE_DIR}" -B "${build_dir}" ${common_args}
  -DREFERKIT_BUILD_TESTS=OFF -DREFERKIT_BUILD_EXAMPLES=OFF "-DREFERKIT_BUILD_CLI=${static_link}"
  "-DBUILD_SHARED_LIBS=${BUILD_SHARED}"
  "-DCMAKE_INSTALL_PREFIX=${prefix}" -DCMAKE_INSTALL_LIBDIR=lib)
run("build referkit" "${CMAKE_COMMAND}" --build "${build_dir}" --config "${BUILD_TYPE}" --parallel)
run("install referkit" "${CMAKE_COMMAND}" --install "${build_dir}" --config "${BUILD_TYPE}")

# Relocation: after the rename the original prefix no longer exists, so any absolute path to it
# baked into the package files breaks the consumers below. Scan first for a clearer message.
file(GLOB_RECURSE package_files "${prefix}/lib/cmake/*.cmake" "${prefix}/lib/pkgconfig/*.pc")
if(NOT package_files)
  message(FATAL_ERROR "check_package: no CMake or pkg-config files were installed under ${prefix}/lib")
endif()
foreach(file IN LISTS package_files)
  file(READ "${file}" content)
  string(FIND "${content}" "${prefix}" at)
  if(NOT at EQUAL -1)
    message(FATAL_ERROR "check_package: ${file} hard-codes the install prefix ${prefix}")
  endif()
endforeach()
file(RENAME "${prefix}" "${moved_prefix}")

# While the major version is 0 the soname carries MAJOR.MINOR (libreferkit.so.0.1), matching the
# package version file's SameMinorVersion: a 0.2 must never load where 0.1 was linked.
if(BUILD_SHARED AND CMAKE_HOST_UNIX AND NOT CMAKE_HOST_APPLE)
  file(READ "${moved_prefix}/lib/cmake/referkit/referkitConfigVersion.cmake" version_file)
  string(REGEX MATCH "PACKAGE_VERSION \"([0-9]+)\\.([0-9]+)" _ "${version_file}")
  set(soname_link "${moved_prefix}/lib/libreferkit.so.${CMAKE_MATCH_1}.${CMAKE_MATCH_2}")
  if(CMAKE_MATCH_1 STREQUAL "0" AND NOT IS_SYMLINK "${soname_link}")
    file(GLOB installed "${moved_prefix}/lib/libreferkit.so*")
    message(FATAL_ERROR "check_package: no soname link ${soname_link}; installed: ${installed}")
  endif()
endif()

if(static_link)
  execute_process(COMMAND "${moved_prefix}/bin/referkit" --version
    RESULT_VARIABLE rc OUTPUT_VARIABLE version_out ERROR_VARIABLE version_err)
  if(NOT rc EQUAL 0 OR NOT version_out MATCHES "^[0-9]+\\.[0-9]+\\.[0-9]+")
    message(FATAL_ERROR "check_package: the installed referkit CLI did not run (${rc}): ${version_out}${version_err}")
  endif()
endif()

# Configures, builds and runs the consumer; ARGN are its extra cache settings.
function(check_consumer name)
  set(dir "${WORK_DIR}/consumer-${name}")
  run("configure consumer (${name})" "${CMAKE_COMMAND}" -S "${SOURCE_DIR}/tests/package" -B "${dir}"
    ${common_args} "-DCONSUMER_EXPECT_SHARED=${BUILD_SHARED}" -DCONSUMER_STRICT_WARNINGS=ON
    -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON ${ARGN})
  run("build consumer (${name})" "${CMAKE_COMMAND}" --build "${dir}" --config "${BUILD_TYPE}")
  run("run consumer (${name})" "${CMAKE_CTEST_COMMAND}" --test-dir "${dir}" -C "${BUILD_TYPE}"
    --verbose)  # verbose: the consumer's output (version, link kind) belongs in the log
endfunction()

# Which package a configure step found, read back from its cache.
function(expect_cache_value name variable expected)
  file(STRINGS "${WORK_DIR}/consumer-${name}/CMakeCache.txt" line REGEX "^${variable}:")
  string(REGEX REPLACE "^[^=]*=" "" value "${line}")
  file(REAL_PATH "${value}" value)
  file(REAL_PATH "${expected}" expected)
  if(NOT value STREQUAL expected)
    message(FATAL_ERROR "check_package: consumer-${name} used ${variable}=${value}, not ${expected}")
  endif()
endfunction()

check_consumer(cmake "-DCMAKE_PREFIX_PATH=${moved_prefix}")
expect_cache_value(cmake referkit_DIR "${moved_prefix}/lib/cmake/referkit")

# Put the moved prefix first so a system-wide referkit.pc cannot shadow it.
set(saved_pkg_config_path "$ENV{PKG_CONFIG_PATH}")
if(saved_pkg_config_path STREQUAL "")
  set(ENV{PKG_CONFIG_PATH} "${moved_prefix}/lib/pkgconfig")
else()
  set(ENV{PKG_CONFIG_PATH} "${moved_prefix}/lib/pkgconfig:${saved_pkg_config_path}")
endif()
check_consumer(pkgconfig -DCONSUMER_USE_PKGCONFIG=ON "-DCONSUMER_PKGCONFIG_STATIC=${static_link}")
# FindPkgConfig caches REFERKIT_PREFIX: ${pcfiledir}/../.. must resolve to the moved prefix.
expect_cache_value(pkgconfig REFERKIT_PREFIX "${moved_prefix}")
set(ENV{PKG_CONFIG_PATH} "${saved_pkg_config_path}")

# The C ABI from C11 (tests/package/c): through the CMake package, linking libreferkit_c or the
# C++ library (which holds the same rk_* functions), and through referkit_c.pc.
function(check_c_consumer name)
  set(dir "${WORK_DIR}/c-consumer-${name}")
  run("configure C consumer (${name})" "${CMAKE_COMMAND}" -S "${SOURCE_DIR}/tests/package/c" -B "${dir}"
    ${common_args} -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON ${ARGN})
  run("build C consumer (${name})" "${CMAKE_COMMAND}" --build "${dir}" --config "${BUILD_TYPE}")
  run("run C consumer (${name})" "${CMAKE_CTEST_COMMAND}" --test-dir "${dir}" -C "${BUILD_TYPE}" --verbose)
endfunction()
check_c_consumer(cmake-referkit_c "-DCMAKE_PREFIX_PATH=${moved_prefix}" -DCONSUMER_LINK=referkit_c)
check_c_consumer(cmake-referkit "-DCMAKE_PREFIX_PATH=${moved_prefix}" -DCONSUMER_LINK=referkit)
set(ENV{PKG_CONFIG_PATH} "${moved_prefix}/lib/pkgconfig")
check_c_consumer(pkgconfig -DCONSUMER_USE_PKGCONFIG=ON)
set(ENV{PKG_CONFIG_PATH} "${saved_pkg_config_path}")

# The build tree's export() must work too, for projects that build referkit next to themselves.
check_consumer(buildtree "-Dreferkit_DIR=${build_dir}")
expect_cache_value(buildtree referkit_DIR "${build_dir}")

message(STATUS "check_package: ${BUILD_TYPE} BUILD_SHARED_LIBS=${BUILD_SHARED} package OK")
