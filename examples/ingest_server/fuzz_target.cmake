# The batch validator's fuzz target (examples/shared/batch), included from tests/fuzz/CMakeLists.txt
# (after referkit_add_fuzzer is defined). The fuzz build has the examples off, so it adds the
# shared batch library itself; it needs only simdjson.
add_subdirectory("${PROJECT_SOURCE_DIR}/examples/shared/batch" "${PROJECT_BINARY_DIR}/examples/shared/batch")
referkit_add_fuzzer(ingest_batch)
target_link_libraries(ingest_batch PRIVATE referkit_batch simdjson::simdjson)
