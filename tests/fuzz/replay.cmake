# Regression replay of the fuzz targets, part of the normal test suite (included by tests/CMakeLists.txt;
# any compiler, no libFuzzer): each target's LLVMFuzzerTestOneInput linked with a tiny main() that feeds it
# every file of tests/fuzz/regressions/<target>/ (the crashes found so far, see docs/security.md).
set(_kiln_fuzz_dir ${CMAKE_CURRENT_LIST_DIR})
foreach(t fuzz_proto fuzz_onnx fuzz_plan fuzz_npy)
  add_executable(${t}_replay ${_kiln_fuzz_dir}/${t}.cpp ${_kiln_fuzz_dir}/replay_main.cpp)
  target_include_directories(${t}_replay PRIVATE ${PROJECT_SOURCE_DIR}/src ${_kiln_fuzz_dir})
  target_link_libraries(${t}_replay PRIVATE kiln)
  add_test(NAME ${t}_regressions COMMAND ${t}_replay ${_kiln_fuzz_dir}/regressions/${t})
  set_tests_properties(${t}_regressions PROPERTIES LABELS fuzz TIMEOUT 300)
endforeach()
