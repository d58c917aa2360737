# llmrca_add_tests(<area> SOURCES <x_test.cc>... [LIBS <targets>...])
# Builds one test binary per area, llmrca_<area>_tests, and registers every GoogleTest case with
# ctest so that failures are reported one by one. Tests find fixtures through LLMRCA_TESTDATA_DIR.
function(llmrca_add_tests area)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  set(target llmrca_${area}_tests)
  add_executable(${target} ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gmock GTest::gtest_main
                                          llmrca_warnings)
  target_compile_definitions(${target} PRIVATE
    LLMRCA_TESTDATA_DIR="${PROJECT_SOURCE_DIR}/testdata")
  gtest_discover_tests(${target} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS ${area})
endfunction()
