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

# The bindings run against the real library and a real referkit-ingest on loopback. Label
# `bindings`: the sanitizer presets leave them out (an interpreter cannot load a sanitized
# library without preloading the runtime). A binding whose interpreter is missing reports
# SKIPPED (77), never a pass.
if(NOT TARGET referkit-ingest)
  return()
endif()
set(referkit_binding_env
  "REFERKIT_LIBRARY=$<TARGET_FILE:referkit_c>"
  "REFERKIT_INGEST=$<TARGET_FILE:referkit-ingest>")

# Debian 12's /usr/bin/python3 (3.11), standard library only.
add_test(NAME bindings.python
  COMMAND bash -c "test -x /usr/bin/python3 || { echo 'SKIPPED: /usr/bin/python3 is needed'; exit 77; }; exec /usr/bin/python3 -m unittest discover -v -s \"$1\"" _
          "${PROJECT_SOURCE_DIR}/bindings/python/tests")
set_tests_properties(bindings.python PROPERTIES
  ENVIRONMENT "${referkit_binding_env};PYTHONPATH=${PROJECT_SOURCE_DIR}/bindings/python:${PROJECT_SOURCE_DIR}/bindings/python/tests;PYTHONDONTWRITEBYTECODE=1"
  SKIP_RETURN_CODE 77 TIMEOUT 180 LABELS bindings)
