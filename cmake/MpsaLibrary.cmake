# mpsa_library(<name> [DEPS ...] [PRIVATE_DEPS ...]): library `mpsa_<name>` (alias mpsa::<name>)
# built from every <dir>/src/*.cpp, public headers in <dir>/include (as <mpsa/<name>/...>).
function(mpsa_library name)
  cmake_parse_arguments(ARG "" "" "DEPS;PRIVATE_DEPS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/src/*.cpp)
  if(sources)
    add_library(mpsa_${name} STATIC ${sources})
    target_include_directories(mpsa_${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
                               PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
    target_link_libraries(mpsa_${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
    set_target_properties(mpsa_${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  else()
    add_library(mpsa_${name} INTERFACE)
    target_include_directories(mpsa_${name} INTERFACE ${CMAKE_CURRENT_SOURCE_DIR}/include)
    target_link_libraries(mpsa_${name} INTERFACE ${ARG_DEPS})
  endif()
  add_library(mpsa::${name} ALIAS mpsa_${name})
endfunction()

# mpsa_gtest(<name> SOURCES ... DEPS ... [LABELS ...] [TIMEOUT s]): one GoogleTest binary, each
# test case registered with ctest as <name>.<Suite>.<Case>, labelled `unit` unless LABELS given.
include(GoogleTest)
function(mpsa_gtest name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest GTest::gtest_main)
  gtest_discover_tests(${name} TEST_PREFIX "${name}." DISCOVERY_TIMEOUT 60
                       PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT})
endfunction()

# Include every immediate subdirectory of the current one that has a CMakeLists.txt, so each
# module can add tests, benchmarks or fuzz targets without editing a shared file.
function(mpsa_add_subdirectories)
  file(GLOB children CONFIGURE_DEPENDS LIST_DIRECTORIES true ${CMAKE_CURRENT_SOURCE_DIR}/*)
  list(SORT children)
  foreach(child ${children})
    if(IS_DIRECTORY ${child} AND EXISTS ${child}/CMakeLists.txt)
      add_subdirectory(${child})
    endif()
  endforeach()
endfunction()
