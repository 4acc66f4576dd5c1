# CUDA detection for kernels/, included from the top-level CMakeLists.txt: enable_language(CUDA) must run in the
# directory above every target that compiles CUDA (kernels/, tests/kernels/). Sets KVSIM_CUDA_ENABLED.
option(KVSIM_ENABLE_CUDA "Build the CUDA kernels (auto: on when nvcc is found)" ON)
option(KVSIM_CUDA_PTXAS_VERBOSE "Print ptxas register/shared-memory/spill reports for the kernels" OFF)
set(KVSIM_CUDA_ENABLED OFF)
if(KVSIM_ENABLE_CUDA)
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 90)  # sm_90: H100 / H200
    endif()
    enable_language(CUDA)
    if(NOT DEFINED CMAKE_CUDA20_STANDARD_COMPILE_OPTION)  # CMake < 3.26 does not know nvcc's C++20 flag
      set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
      set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
    endif()
    set(KVSIM_CUDA_ENABLED ON)
    message(STATUS "kvsim: CUDA kernels enabled (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, "
                   "architectures ${CMAKE_CUDA_ARCHITECTURES})")
  else()
    message(STATUS "kvsim: no CUDA compiler found: building the kernels' CPU references only "
                   "(kvsim_kernels, test_kernels_gpu and kvsim-profile are skipped)")
  endif()
else()
  message(STATUS "kvsim: KVSIM_ENABLE_CUDA is OFF: building the kernels' CPU references only")
endif()
