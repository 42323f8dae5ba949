# Every dependency comes from a Debian bookworm package (scripts/setup.sh); nothing is vendored
# or downloaded at build time.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(OpenSSL 3.0 REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(tl-expected REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
pkg_check_modules(LIBNL REQUIRED IMPORTED_TARGET libnl-3.0 libnl-route-3.0 libnl-xfrm-3.0)

# standalone Asio (libasio-dev) is header-only
find_path(ASIO_INCLUDE_DIR asio.hpp REQUIRED)
add_library(mpsa_asio INTERFACE)
target_include_directories(mpsa_asio SYSTEM INTERFACE ${ASIO_INCLUDE_DIR})
target_compile_definitions(mpsa_asio INTERFACE ASIO_STANDALONE ASIO_NO_DEPRECATED)
target_link_libraries(mpsa_asio INTERFACE Threads::Threads)
add_library(mpsa::asio ALIAS mpsa_asio)

# cpp-httplib: Debian builds it as a shared library (libcpp-httplib.so, header in split mode).
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
add_library(mpsa_httplib INTERFACE)
target_link_libraries(mpsa_httplib INTERFACE PkgConfig::HTTPLIB Threads::Threads)
add_library(mpsa::httplib ALIAS mpsa_httplib)

if(MPSA_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(MPSA_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
