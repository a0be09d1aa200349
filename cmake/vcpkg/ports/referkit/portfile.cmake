# vcpkg port for referkit. Use it as an overlay:
#   vcpkg install referkit --overlay-ports=<repo>/cmake/vcpkg/ports
# or, in a manifest project, VCPKG_OVERLAY_PORTS=<repo>/cmake/vcpkg/ports.
#
# Where the source comes from:
#  * Local checkout (development, CI): set REFERKIT_SOURCE_DIR to the repository root, either as
#    a variable in a custom triplet (set(REFERKIT_SOURCE_DIR /path/to/referkit)) or as an
#    environment variable. vcpkg scrubs the environment on Windows, so there also export
#    VCPKG_KEEP_ENV_VARS=REFERKIT_SOURCE_DIR (or list it in the triplet's VCPKG_ENV_PASSTHROUGH).
#    vcpkg's binary cache keys on the port files, not on this source tree: after changing the
#    source, reinstall with --no-binarycaching (or `vcpkg remove referkit` first).
#  * Release tarball (registries): without REFERKIT_SOURCE_DIR the tag v<version> is fetched from
#    GitHub. No release has been tagged yet, so there is no hash to pin: the SHA512 below is 0 on
#    purpose, and vcpkg refuses the download and prints the tarball's actual hash. Whoever tags a
#    release bumps "version" in vcpkg.json and pastes that hash here in the same commit.
#
# Platforms ("supports": "linux"): the spool is POSIX (mmap, flock, fork handlers) and `spool
# inspect` reads /proc/locks; Linux is the only platform built and tested. The "tools" feature
# ("supports": "static") builds the referkit CLI, which uses internal symbols a shared referkit
# hides, so it needs a static triplet such as x64-linux.
if(NOT DEFINED REFERKIT_SOURCE_DIR AND DEFINED ENV{REFERKIT_SOURCE_DIR})
  set(REFERKIT_SOURCE_DIR "$ENV{REFERKIT_SOURCE_DIR}")
endif()

if(REFERKIT_SOURCE_DIR)
  if(NOT EXISTS "${REFERKIT_SOURCE_DIR}/CMakeLists.txt")
    message(FATAL_ERROR "REFERKIT_SOURCE_DIR=${REFERKIT_SOURCE_DIR} is not a referkit checkout")
  endif()
  set(SOURCE_PATH "${REFERKIT_SOURCE_DIR}")
else()
  vcpkg_from_github(
    OUT_SOURCE_PATH SOURCE_PATH
    REPO referkit/referkit
    REF "v${VERSION}"
    SHA512 0  # placeholder: set at release time, see above
    HEAD_REF main)
endif()

vcpkg_check_features(OUT_FEATURE_OPTIONS FEATURE_OPTIONS
  FEATURES
    tools REFERKIT_BUILD_CLI)

# BUILD_SHARED_LIBS follows the triplet's VCPKG_LIBRARY_LINKAGE (set by vcpkg_cmake_configure).
vcpkg_cmake_configure(
  SOURCE_PATH "${SOURCE_PATH}"
  OPTIONS
    ${FEATURE_OPTIONS}
    -DREFERKIT_BUILD_TESTS=OFF
    -DREFERKIT_BUILD_EXAMPLES=OFF
    -DREFERKIT_BUILD_BENCH=OFF
    -DREFERKIT_BUILD_FUZZ=OFF
    -DREFERKIT_INSTALL=ON)
vcpkg_cmake_install()

# Moves lib/cmake/referkit to share/referkit and merges the debug targets into it.
vcpkg_cmake_config_fixup(CONFIG_PATH lib/cmake/referkit)
# Points the debug .pc at the release headers and checks the Requires.private modules exist.
vcpkg_fixup_pkgconfig()

if("tools" IN_LIST FEATURES)
  # Moves bin/referkit to tools/referkit/ and removes the debug copy and the then empty bin dirs.
  vcpkg_copy_tools(TOOL_NAMES referkit AUTO_CLEAN)
endif()

# Headers and docs are identical in both configurations; vcpkg keeps the release copies only.
file(REMOVE_RECURSE
  "${CURRENT_PACKAGES_DIR}/debug/include"
  "${CURRENT_PACKAGES_DIR}/debug/share")

file(INSTALL "${CMAKE_CURRENT_LIST_DIR}/usage" DESTINATION "${CURRENT_PACKAGES_DIR}/share/${PORT}")
vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")
