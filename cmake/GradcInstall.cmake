# `cmake --install build [--prefix P]` installs the gradc driver, the headers,
# the libraries and the CMake package (find_package(gradc) with
# gradc_add_gradient, see docs/cmake.md).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(GRADC_VERSION 0.1)
set(GRADC_LIBRARIES GradcIR GradcLoopIR GradcOps GradcLoops GradcParser GradcVerifier
  GradcInterp GradcTransforms GradcAD GradcGradCheck GradcCppGen GradcCodegen GradcViz)

set(GRADC_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/gradc)

foreach(lib ${GRADC_LIBRARIES})
  target_include_directories(${lib} INTERFACE
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
endforeach()
# gradc's headers include LLVM's.
target_include_directories(GradcIR SYSTEM INTERFACE ${LLVM_INCLUDE_DIRS})

install(TARGETS gradc ${GRADC_LIBRARIES} EXPORT gradcTargets
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY include/gradc DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT gradcTargets NAMESPACE gradc:: DESTINATION ${GRADC_CMAKE_DIR})

# What gradc_add_gradient links generated objects with.
if(GRADC_OPENBLAS AND GRADC_CBLAS_INCLUDE AND GRADC_USE_BLAS)
  set(GRADC_CONFIG_BLAS_LIBRARY ${GRADC_OPENBLAS})
  set(GRADC_CONFIG_CBLAS_INCLUDE ${GRADC_CBLAS_INCLUDE})
else()
  set(GRADC_CONFIG_BLAS_LIBRARY "")
  set(GRADC_CONFIG_CBLAS_INCLUDE "")
endif()
configure_package_config_file(cmake/gradcConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/gradcConfig.cmake
  INSTALL_DESTINATION ${GRADC_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake/gradcConfigVersion.cmake
  VERSION ${GRADC_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cmake/gradcConfig.cmake
  ${PROJECT_BINARY_DIR}/cmake/gradcConfigVersion.cmake
  cmake/GradcAddGradient.cmake cmake/GradcGenerate.cmake
  DESTINATION ${GRADC_CMAKE_DIR})

if(GRADC_BUILD_TESTS)
  # Installs into a temporary prefix, then configures, builds and runs the
  # downstream project test/cmake/consumer against it.
  add_test(NAME cmake-package
    COMMAND ${CMAKE_COMMAND} -E env
      CMAKE_COMMAND=${CMAKE_COMMAND} PYTHON=${Python3_EXECUTABLE}
      GRADC_HAVE_PYTHON=${GRADC_HAVE_PYTHON}
      GRADC_PYTHON_INSTALL_DIR=${GRADC_PYTHON_INSTALL_DIR}
      bash ${PROJECT_SOURCE_DIR}/test/cmake/run.sh ${PROJECT_BINARY_DIR})
endif()
