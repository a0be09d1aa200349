# referkit_find_package(<name> <minimum> [find_package arguments...])
#
# find_package(<name> <version>) lets the package's own version file judge compatibility, and
# some packages refuse every newer series: simdjson declares SameMinorVersion, so
# find_package(simdjson 3) accepts 3.0.x only and fails on the 3.13 and 4.x that vcpkg and Conan
# ship. So the package is found without a version and the minimum is checked here, with a message
# naming the dependency, the version found and the version needed.
function(referkit_find_package name minimum)
  find_package(${name} ${ARGN})
  if(NOT ${name}_FOUND)
    return()  # not REQUIRED: the caller decides
  endif()
  set(found "${${name}_VERSION}")
  if(found STREQUAL "")
    message(FATAL_ERROR "referkit needs ${name} >= ${minimum}; the ${name} package found "
                        "(${${name}_DIR}) declares no version")
  endif()
  if(found VERSION_LESS minimum)
    message(FATAL_ERROR "referkit needs ${name} >= ${minimum}; found ${name} ${found} "
                        "(${${name}_DIR}). Install a newer ${name} or point ${name}_DIR at one.")
  endif()
  message(STATUS "referkit: ${name} ${found} (needs >= ${minimum})")
endfunction()
