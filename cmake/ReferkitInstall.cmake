# Install rules, CMake package config and pkg-config file for referkit.
# Included from the top-level CMakeLists.txt (so at top-level scope) when REFERKIT_INSTALL is ON.
#
# Extension points, to be set in the top-level CMakeLists.txt *before* include(ReferkitInstall)
# (variables set in src/ do not reach this scope):
#   REFERKIT_PC_REQUIRES_PRIVATE  extra pkg-config modules the library links privately
#                                 (e.g. simdjson libdeflate); libcrypto and fmt are always added.
#   REFERKIT_PC_LIBS_PRIVATE      extra raw linker flags for static consumers; -pthread is always added.
# A new find_package() dependency also needs a find_dependency() in cmake/referkitConfig.cmake.in.

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(REFERKIT_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/referkit")

set(referkit_install_targets referkit)
if(TARGET referkit_c)
  list(APPEND referkit_install_targets referkit_c)  # the C ABI alone: referkit::referkit_c
endif()
install(TARGETS ${referkit_install_targets} EXPORT referkitTargets
  RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}"   # DLLs on Windows
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}")  # static libs and import libs
# No INCLUDES DESTINATION: src/CMakeLists.txt already adds $<INSTALL_INTERFACE:include>, and
# repeating it would list the directory twice in the exported target.

# Public headers, plus the ones configured at build time (export.hpp, version.hpp), which bake in
# the build configuration and therefore live in the binary dir.
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/referkit"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
  FILES_MATCHING PATTERN "*.hpp" PATTERN "*.h")  # referkit.h: the C ABI
install(DIRECTORY "${PROJECT_BINARY_DIR}/include/referkit"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
  FILES_MATCHING PATTERN "*.hpp")

install(EXPORT referkitTargets
  NAMESPACE referkit::
  DESTINATION "${REFERKIT_CMAKE_DIR}")

# Build-tree package: lets a sibling project use -Dreferkit_DIR=<this build dir> without installing.
# The config file only includes files next to itself, so the same template serves both trees.
export(EXPORT referkitTargets
  NAMESPACE referkit::
  FILE "${PROJECT_BINARY_DIR}/referkitTargets.cmake")

# The config file must know whether the library is static: only then do its private dependencies
# appear (as $<LINK_ONLY:...>) in the exported link interface and need to be found by consumers.
# Asking the target is more reliable than BUILD_SHARED_LIBS, which may be unset.
get_target_property(referkit_type referkit TYPE)
if(referkit_type STREQUAL "STATIC_LIBRARY")
  set(REFERKIT_STATIC_LIBRARY ON)
else()
  set(REFERKIT_STATIC_LIBRARY OFF)
endif()

configure_package_config_file(
  "${PROJECT_SOURCE_DIR}/cmake/referkitConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/referkitConfig.cmake"
  INSTALL_DESTINATION "${REFERKIT_CMAKE_DIR}")
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/referkitConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}"
  COMPATIBILITY SameMinorVersion)
# The build-tree package (export() above) finds its find modules next to its config file too.
configure_file("${PROJECT_SOURCE_DIR}/cmake/FindLibdeflate.cmake" "${PROJECT_BINARY_DIR}/FindLibdeflate.cmake" COPYONLY)
install(FILES
    "${PROJECT_BINARY_DIR}/referkitConfig.cmake"
    "${PROJECT_BINARY_DIR}/referkitConfigVersion.cmake"
    "${PROJECT_SOURCE_DIR}/cmake/FindLibdeflate.cmake"
  DESTINATION "${REFERKIT_CMAKE_DIR}")

# --- pkg-config -------------------------------------------------------------------------------
# The prefix is expressed relative to the .pc file's own location so the installed tree can be
# moved (vcpkg, Conan, tarballs). That is only possible when libdir is relative to the prefix;
# an absolute CMAKE_INSTALL_LIBDIR pins the file to the configured prefix.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(REFERKIT_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  cmake_path(NORMAL_PATH CMAKE_INSTALL_LIBDIR OUTPUT_VARIABLE referkit_libdir_norm)
  string(REGEX MATCHALL "[^/]+" referkit_libdir_parts "${referkit_libdir_norm}/pkgconfig")
  set(REFERKIT_PC_PREFIX "\${pcfiledir}")
  foreach(referkit_part IN LISTS referkit_libdir_parts)
    string(APPEND REFERKIT_PC_PREFIX "/..")
  endforeach()
endif()

# Each directory is either absolute (kept as is) or relative to ${prefix}.
foreach(referkit_dir IN ITEMS LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${referkit_dir}}")
    set(REFERKIT_PC_${referkit_dir} "${CMAKE_INSTALL_${referkit_dir}}")
  else()
    set(REFERKIT_PC_${referkit_dir} "\${prefix}/${CMAKE_INSTALL_${referkit_dir}}")
  endif()
endforeach()

# -l name: honour OUTPUT_NAME and a per-config postfix (CMAKE_DEBUG_POSTFIX) for single-config
# generators; multi-config generators install several variants and one .pc cannot name them all.
get_target_property(REFERKIT_PC_LIBNAME referkit OUTPUT_NAME)
if(NOT REFERKIT_PC_LIBNAME)
  set(REFERKIT_PC_LIBNAME referkit)
endif()
if(CMAKE_BUILD_TYPE)
  string(TOUPPER "${CMAKE_BUILD_TYPE}" referkit_config_upper)
  get_target_property(referkit_postfix referkit ${referkit_config_upper}_POSTFIX)
  if(referkit_postfix)
    string(APPEND REFERKIT_PC_LIBNAME "${referkit_postfix}")
  endif()
endif()

# Private requirements matter to static consumers (pkg-config --static) only; shared consumers
# get them through the library's own DT_NEEDED entries.
set(referkit_pc_requires libcrypto fmt ${REFERKIT_PC_REQUIRES_PRIVATE})
list(REMOVE_DUPLICATES referkit_pc_requires)
list(JOIN referkit_pc_requires " " REFERKIT_PC_REQUIRES_PRIVATE_STRING)
set(referkit_pc_libs -pthread ${REFERKIT_PC_LIBS_PRIVATE})
list(REMOVE_DUPLICATES referkit_pc_libs)
list(JOIN referkit_pc_libs " " REFERKIT_PC_LIBS_PRIVATE_STRING)

configure_file("${PROJECT_SOURCE_DIR}/cmake/referkit.pc.in"
  "${PROJECT_BINARY_DIR}/referkit.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/referkit.pc"
  DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig")

# referkit_c.pc: the C ABI's shared library, for C programs and FFI loaders that ask pkg-config.
# It needs no Requires.private: a shared library brings its dependencies itself.
if(TARGET referkit_c)
  configure_file("${PROJECT_SOURCE_DIR}/cmake/referkit_c.pc.in"
    "${PROJECT_BINARY_DIR}/referkit_c.pc" @ONLY)
  install(FILES "${PROJECT_BINARY_DIR}/referkit_c.pc"
    DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
endif()

# The bindings, next to the library they load: each finds lib*/libreferkit_c.so and
# include/referkit/referkit.h from its own place under the prefix (docs/bindings.md).
if(TARGET referkit_c)
  install(DIRECTORY "${PROJECT_SOURCE_DIR}/bindings/python/referkit"
    DESTINATION "${CMAKE_INSTALL_DATADIR}/referkit/python" FILES_MATCHING PATTERN "*.py")
  install(DIRECTORY "${PROJECT_SOURCE_DIR}/bindings/php/"
    DESTINATION "${CMAKE_INSTALL_DATADIR}/referkit/php" FILES_MATCHING PATTERN "*.php" PATTERN "tests" EXCLUDE)
endif()

# CMAKE_INSTALL_DOCDIR is share/doc/referkit by default.
if(EXISTS "${PROJECT_SOURCE_DIR}/LICENSE")
  install(FILES "${PROJECT_SOURCE_DIR}/LICENSE" DESTINATION "${CMAKE_INSTALL_DOCDIR}")
endif()
