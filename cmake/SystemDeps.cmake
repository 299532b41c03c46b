# Dependencies under the same target names in both builds.
#
# Natively they come from Debian's packages through find_package. Under Emscripten find_package must
# not look in /usr/include (glibc headers would shadow Emscripten's libc), so we expose only the
# header-only libraries we need through a directory of symlinks and declare imported targets with the
# native names.

if(EMSCRIPTEN)
  set(_shim "${CMAKE_BINARY_DIR}/_sysdeps/include")
  file(MAKE_DIRECTORY "${_shim}")
  foreach(_lib boost catch2)
    if(NOT EXISTS "${_shim}/${_lib}")
      file(CREATE_LINK "/usr/include/${_lib}" "${_shim}/${_lib}" SYMBOLIC)
    endif()
  endforeach()
  add_library(Boost::headers INTERFACE IMPORTED)
  set_target_properties(Boost::headers PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_shim}")
  add_library(Catch2::Catch2 INTERFACE IMPORTED)
  set_target_properties(Catch2::Catch2 PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_shim}")
  list(APPEND CMAKE_MODULE_PATH /usr/lib/cmake/Catch2)

  # -O2+ links run Emscripten's acorn-based JS optimizer; Debian installs acorn under /usr/share/nodejs.
  set(CMAKE_CXX_LINKER_LAUNCHER ${CMAKE_COMMAND} -E env NODE_PATH=/usr/share/nodejs)
  # Catch2 and Boost.JSON's throwing overloads need real exceptions (em++ ignores them by default).
  add_compile_options(-fexceptions)
  add_link_options(-fexceptions)
else()
  find_package(Boost 1.81 REQUIRED CONFIG)
  find_package(Catch2 2 REQUIRED)
  find_package(Threads REQUIRED)
endif()
include(Catch)
