# Finds libdeflate (whole-buffer DEFLATE/gzip, 2x zlib's speed at level 1; the tracker's batch
# compressor, the servers' bounded gunzip) and defines the imported target Libdeflate::Libdeflate.
#
# libdeflate 1.15 and later install a CMake package (vcpkg, Conan and newer distributions use it);
# Debian 12's 1.14 has only a header, a library and a .pc file, found here directly. Installed
# next to referkitConfig.cmake, so consumers of the static library find it the same way.
if(TARGET Libdeflate::Libdeflate)
  set(Libdeflate_FOUND TRUE)
  return()
endif()

find_package(libdeflate CONFIG QUIET)
set(_referkit_libdeflate_target "")
foreach(_candidate IN ITEMS libdeflate::libdeflate libdeflate::libdeflate_shared libdeflate::libdeflate_static)
  if(NOT _referkit_libdeflate_target AND TARGET ${_candidate})
    set(_referkit_libdeflate_target ${_candidate})
  endif()
endforeach()

include(FindPackageHandleStandardArgs)
if(_referkit_libdeflate_target)
  add_library(Libdeflate::Libdeflate INTERFACE IMPORTED)
  target_link_libraries(Libdeflate::Libdeflate INTERFACE ${_referkit_libdeflate_target})
  set(Libdeflate_VERSION "${libdeflate_VERSION}")
  find_package_handle_standard_args(Libdeflate REQUIRED_VARS _referkit_libdeflate_target
    VERSION_VAR Libdeflate_VERSION)
else()
  find_path(LIBDEFLATE_INCLUDE_DIR libdeflate.h)
  find_library(LIBDEFLATE_LIBRARY NAMES deflate libdeflate)
  if(LIBDEFLATE_INCLUDE_DIR AND EXISTS "${LIBDEFLATE_INCLUDE_DIR}/libdeflate.h")
    file(STRINGS "${LIBDEFLATE_INCLUDE_DIR}/libdeflate.h" _referkit_libdeflate_version_line
      REGEX "^#define LIBDEFLATE_VERSION_STRING")
    string(REGEX REPLACE ".*\"([0-9.]+)\".*" "\\1" Libdeflate_VERSION "${_referkit_libdeflate_version_line}")
  endif()
  find_package_handle_standard_args(Libdeflate REQUIRED_VARS LIBDEFLATE_LIBRARY LIBDEFLATE_INCLUDE_DIR
    VERSION_VAR Libdeflate_VERSION)
  if(Libdeflate_FOUND)
    add_library(Libdeflate::Libdeflate UNKNOWN IMPORTED)
    set_target_properties(Libdeflate::Libdeflate PROPERTIES
      IMPORTED_LOCATION "${LIBDEFLATE_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${LIBDEFLATE_INCLUDE_DIR}")
  endif()
  mark_as_advanced(LIBDEFLATE_INCLUDE_DIR LIBDEFLATE_LIBRARY)
endif()
unset(_referkit_libdeflate_target)
