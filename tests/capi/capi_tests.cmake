# Tests of libreferkit_c.so and of the bindings that load it. Included from tests/CMakeLists.txt.
# (The C ABI's own unit test, tests/unit/capi_test.cpp, is part of referkit-unit-tests, and the
# C11 consumer of the installed package is part of the package tests.)
if(NOT TARGET referkit_c)
  return()
endif()

add_test(NAME capi.exports
  COMMAND "${CMAKE_COMMAND}" "-DLIBRARY=$<TARGET_FILE:referkit_c>"
          "-DHEADER=${PROJECT_SOURCE_DIR}/include/referkit/referkit.h" "-DNM=${CMAKE_NM}"
          -P "${CMAKE_CURRENT_LIST_DIR}/check_exports.cmake")
set_tests_properties(capi.exports PROPERTIES LABELS capi)
