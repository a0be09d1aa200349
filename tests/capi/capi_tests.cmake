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

# Debian 12's php8.2-cli (FFI is in php8.2-common; pcntl in the CLI).
set(referkit_php_check "command -v php >/dev/null || { echo 'SKIPPED: php (php8.2-cli) is needed'; exit 77; }")
foreach(referkit_php_test IN ITEMS tracker fork)
  add_test(NAME bindings.php_${referkit_php_test}
    COMMAND bash -c "${referkit_php_check}; exec php -d ffi.enable=true \"$1\"" _
            "${PROJECT_SOURCE_DIR}/bindings/php/tests/${referkit_php_test}_test.php")
  set_tests_properties(bindings.php_${referkit_php_test} PROPERTIES
    ENVIRONMENT "${referkit_binding_env}" SKIP_RETURN_CODE 77 TIMEOUT 180 LABELS bindings)
endforeach()
# PHP-FPM's way: ffi.enable=preload and the scope registered by ffi.preload at start-up.
add_test(NAME bindings.php_preload
  COMMAND bash -c "${referkit_php_check}; php \"$1/make_ffi_header.php\" > \"$2\" && exec php -d ffi.enable=preload -d \"ffi.preload=$2\" \"$1/tests/preload_test.php\"" _
          "${PROJECT_SOURCE_DIR}/bindings/php" "${CMAKE_CURRENT_BINARY_DIR}/referkit-ffi.h")
set_tests_properties(bindings.php_preload PROPERTIES
  ENVIRONMENT "${referkit_binding_env}" SKIP_RETURN_CODE 77 TIMEOUT 60 LABELS bindings)
