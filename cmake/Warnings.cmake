# Warnings are errors for every target of ours (not for third-party headers: they are SYSTEM).
add_compile_options(-Wall -Wextra -Werror -Wshadow -Wnon-virtual-dtor -Wold-style-cast
                    -Wcast-align -Woverloaded-virtual -Wformat=2 -Wimplicit-fallthrough)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # g++ 12 false positives in <variant>/<optional>/std::copy at -O2 (GCC bugs 105562, 106199)
  add_compile_options(-Wno-maybe-uninitialized -Wno-array-bounds -Wno-stringop-overflow
                      -Wno-stringop-overread)
endif()
add_compile_definitions(_FORTIFY_SOURCE=2)
add_compile_options(-fstack-protector-strong)

if(MPSA_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
  # _FORTIFY_SOURCE and ASan disagree on some libc wrappers
  remove_definitions(-D_FORTIFY_SOURCE=2)
  add_compile_options(-U_FORTIFY_SOURCE)
endif()

if(MPSA_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "MPSA_FUZZ needs clang (CXX=clang++)")
  endif()
  # Coverage for every library; fuzz targets add -fsanitize=fuzzer at link time for main().
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()
