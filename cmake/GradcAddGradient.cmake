# gradc_add_gradient: compile .gir graphs and their gradients at build time.
#
#   gradc_add_gradient(<target>
#     SOURCES model.gir [more.gir ...]
#     [FUNCTIONS f [g:x,W] ...]   # add @f.grad (with respect to WRT) and
#                                 # @g.grad (with respect to x and W)
#     [WRT x,W ...]               # default for FUNCTIONS without ':'; empty:
#                                 # every parameter
#     [VJP]                       # vector-Jacobian products: one cotangent
#                                 # argument per output (any output shapes)
#     [CPP]                       # C++ source instead of an object file
#     [NO_BLAS]                   # matmul/dot as loops (no BLAS to link)
#     [OUTPUT_DIR dir])           # default: <binary dir>/gradc/<target>
#
# For each SOURCES file `name.gir` it runs `gradc grad` for each function and
# `gradc emit` at build time, adds the object (or C++ source) to <target>,
# puts `name.h` (the C prototypes, docs/c-abi.md) on its include path and
# links the BLAS the object calls. A .gir error fails the build with gradc's
# file:line:col diagnostic. See docs/cmake.md.
function(gradc_add_gradient target)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "VJP;CPP;NO_BLAS" "OUTPUT_DIR"
    "SOURCES;FUNCTIONS;WRT")
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "gradc_add_gradient: unknown arguments "
      "'${ARG_UNPARSED_ARGUMENTS}'")
  endif()
  if(NOT TARGET ${target})
    message(FATAL_ERROR "gradc_add_gradient: '${target}' is not a target "
      "(call it after add_executable/add_library)")
  endif()
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "gradc_add_gradient(${target}): no SOURCES")
  endif()
  get_target_property(type ${target} TYPE)
  if(NOT ARG_CPP AND type MATCHES "SHARED_LIBRARY|MODULE_LIBRARY")
    message(FATAL_ERROR "gradc_add_gradient(${target}): the object files of "
      "'gradc emit' are not position-independent, so they cannot go into a "
      "shared library; add CPP to compile C++ source instead")
  endif()
  if(NOT ARG_OUTPUT_DIR)
    set(ARG_OUTPUT_DIR ${CMAKE_CURRENT_BINARY_DIR}/gradc/${target})
  endif()
  string(REPLACE ";" "," wrt "${ARG_WRT}")
  string(REPLACE ";" " " funcs "${ARG_FUNCTIONS}")
  set(blas ON)
  if(ARG_NO_BLAS OR NOT GRADC_BLAS_LIBRARY OR ARG_CPP)
    set(blas OFF)
  endif()
  foreach(src ${ARG_SOURCES})
    get_filename_component(src ${src} ABSOLUTE)
    get_filename_component(stem ${src} NAME_WE)
    set(hdr ${ARG_OUTPUT_DIR}/${stem}.h)
    if(ARG_CPP)
      set(out ${ARG_OUTPUT_DIR}/${stem}.cpp)
    else()
      set(out ${ARG_OUTPUT_DIR}/${stem}${CMAKE_CXX_OUTPUT_EXTENSION})
      if(NOT CMAKE_CXX_OUTPUT_EXTENSION)
        set(out ${ARG_OUTPUT_DIR}/${stem}.o)
      endif()
    endif()
    add_custom_command(OUTPUT ${out} ${hdr} ${ARG_OUTPUT_DIR}/${stem}.grad.gir
      COMMAND ${CMAKE_COMMAND} -DGRADC=$<TARGET_FILE:gradc::gradc>
        -DINPUT=${src} -DFUNCTIONS=${funcs} -DWRT=${wrt} -DVJP=${ARG_VJP}
        -DCPP=${ARG_CPP} -DBLAS=${blas} -DOUT=${out} -DHEADER=${hdr}
        -DGIR=${ARG_OUTPUT_DIR}/${stem}.grad.gir
        -P ${_GRADC_GENERATE_SCRIPT}
      DEPENDS ${src} $<TARGET_FILE:gradc::gradc> ${_GRADC_GENERATE_SCRIPT}
      COMMENT "gradc: ${stem}.gir -> ${stem}.h, ${out}"
      VERBATIM)
    if(NOT ARG_CPP)
      set_source_files_properties(${out} PROPERTIES EXTERNAL_OBJECT TRUE
        GENERATED TRUE)
    endif()
    target_sources(${target} PRIVATE ${out} ${hdr})
  endforeach()
  target_include_directories(${target} PRIVATE ${ARG_OUTPUT_DIR})
  if(ARG_CPP)
    target_compile_features(${target} PRIVATE cxx_std_17)
  elseif(blas)
    target_link_libraries(${target} PRIVATE ${GRADC_BLAS_LIBRARY})
  endif()
  # aligned_alloc, free, and libm's tanh for f64.
  target_link_libraries(${target} PRIVATE m)
endfunction()

set(_GRADC_GENERATE_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/GradcGenerate.cmake)
