# What `cmake --install` lays out and what `cpack -G DEB` packs (docs/install.md).
include(CMakePackageConfigHelpers)

install(TARGETS tidemark RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS tidemark_preload LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/tidemark)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/include/tidemark DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/python/tidemark DESTINATION ${TIDEMARK_INSTALL_PYTHONDIR}
        FILES_MATCHING PATTERN "*.py" PATTERN "__pycache__" EXCLUDE)
install(FILES ${CMAKE_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)
install(FILES ${CMAKE_BINARY_DIR}/share/tidemark.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${CMAKE_BINARY_DIR}/share/tidemark.bash DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
        RENAME tidemark)

# tidemark/marker.h for programs that mark simulated dates and phases: header-only, found by
# pkg-config (tidemark.pc) or CMake (find_package(tidemark) and the target tidemark::marker).
add_library(tidemark_marker INTERFACE)
set_target_properties(tidemark_marker PROPERTIES EXPORT_NAME marker)
target_include_directories(tidemark_marker INTERFACE $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/include>
                                                     $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_link_libraries(tidemark_marker INTERFACE ${CMAKE_DL_LIBS})
install(TARGETS tidemark_marker EXPORT tidemarkTargets)
set(config_dir ${CMAKE_INSTALL_DATADIR}/cmake/tidemark)
install(EXPORT tidemarkTargets NAMESPACE tidemark:: DESTINATION ${config_dir})
configure_package_config_file(${CMAKE_SOURCE_DIR}/packaging/tidemarkConfig.cmake.in
                              ${CMAKE_BINARY_DIR}/packaging/tidemarkConfig.cmake INSTALL_DESTINATION ${config_dir})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/packaging/tidemarkConfigVersion.cmake
                                 COMPATIBILITY SameMajorVersion ARCH_INDEPENDENT)
install(FILES ${CMAKE_BINARY_DIR}/packaging/tidemarkConfig.cmake ${CMAKE_BINARY_DIR}/packaging/tidemarkConfigVersion.cmake
        DESTINATION ${config_dir})
configure_file(${CMAKE_SOURCE_DIR}/packaging/tidemark.pc.in ${CMAKE_BINARY_DIR}/packaging/tidemark.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/packaging/tidemark.pc DESTINATION ${CMAKE_INSTALL_DATADIR}/pkgconfig)

# cpack -G DEB: runtime dependencies from the libraries the binaries link (dpkg-shlibdeps).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME tidemark)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "tidemark developers <tidemark@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "memory profiler and leak diagnosis for backtests")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS python3)
include(CPack)
