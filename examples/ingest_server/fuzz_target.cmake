# The ingest server's fuzz target, included from tests/fuzz/CMakeLists.txt (after
# referkit_add_fuzzer is defined). The fuzz build has the examples off, so the parsing sources
# are compiled into the fuzzer directly; they need only the library and simdjson.
set(referkit_ingest_dir "${CMAKE_CURRENT_LIST_DIR}")
referkit_add_fuzzer(ingest_batch)
target_sources(ingest_batch PRIVATE
  "${referkit_ingest_dir}/batch_validator.cpp"
  "${referkit_ingest_dir}/json_extents.cpp")
target_include_directories(ingest_batch PRIVATE "${referkit_ingest_dir}")
target_link_libraries(ingest_batch PRIVATE simdjson::simdjson)
unset(referkit_ingest_dir)
