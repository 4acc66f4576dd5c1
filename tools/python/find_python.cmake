# Finds what the Python module needs (included from the top CMakeLists.txt before any library is defined, so that
# every kvsim library is compiled position-independent). Debian's interpreter is preferred over one earlier on PATH
# (pyenv and the like), so the module is built for the python3 whose packages (python3-pandas) the tests use;
# -DPython3_EXECUTABLE=... picks another.
if(NOT DEFINED Python3_EXECUTABLE AND EXISTS /usr/bin/python3)
  set(Python3_EXECUTABLE /usr/bin/python3)
endif()
find_package(Python3 COMPONENTS Interpreter Development.Module)
set(PYBIND11_FINDPYTHON ON)
find_package(pybind11 2.10 CONFIG)
find_package(pybind11_json CONFIG)
if(NOT Python3_FOUND OR NOT pybind11_FOUND OR NOT pybind11_json_FOUND)
  message(FATAL_ERROR "kvsim: the Python module needs python3-dev, pybind11-dev and pybind11-json-dev: run "
                      "tools/setup.sh, or configure with -DKVSIM_PYTHON=OFF to build without it")
endif()
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  add_compile_options(-fno-semantic-interposition)
endif()
message(STATUS "kvsim: Python module for ${Python3_EXECUTABLE} (${Python3_VERSION})")
