# CPack's pre-build script (cmake/CorsairPackage.cmake): makes each package's staging tree, as
# `cmake --install` left it, follow Debian's policy before CPack builds the .deb files:
#   - the config files in /etc/corsair, wherever the tree's configured prefix put them (a tree
#     configured for /usr/local installs them under the prefix, which CPack makes /usr/etc);
#   - man pages compressed with gzip -9n;
#   - /usr/share/doc/PACKAGE/copyright and changelog.gz in each package;
#   - programs and static libraries stripped as Debian's dh_strip does: no debug info, no
#     .comment or .note section (CPack's own stripping keeps those, and leaves archives alone).
# CPack runs it with the CPACK_* variables of CPackConfig.cmake.
foreach(component IN LISTS CPACK_COMPONENTS_ALL)
  set(stage "${CPACK_TEMPORARY_DIRECTORY}/${component}")
  set(usr "${stage}${CPACK_PACKAGING_INSTALL_PREFIX}")
  string(TOUPPER "${component}" upper)
  set(package "${CPACK_DEBIAN_${upper}_PACKAGE_NAME}")

  if(component STREQUAL "runtime" AND CPACK_CORSAIR_CONFIG_DESTINATION)
    if(IS_ABSOLUTE "${CPACK_CORSAIR_CONFIG_DESTINATION}")
      set(configs "${stage}${CPACK_CORSAIR_CONFIG_DESTINATION}")
    else()
      set(configs "${usr}/${CPACK_CORSAIR_CONFIG_DESTINATION}")
    endif()
    if(NOT IS_DIRECTORY "${configs}")
      message(FATAL_ERROR "corsair: the config files are not in ${configs}")
    endif()
    if(NOT configs STREQUAL "${stage}/etc/corsair")
      file(MAKE_DIRECTORY "${stage}/etc")
      file(RENAME "${configs}" "${stage}/etc/corsair")
      # The folders the move emptied (usr/etc).
      cmake_path(GET configs PARENT_PATH parent)
      while(NOT parent STREQUAL "${usr}" AND NOT parent STREQUAL "${stage}")
        file(GLOB left "${parent}/*")
        if(left)
          break()
        endif()
        file(REMOVE_RECURSE "${parent}")
        cmake_path(GET parent PARENT_PATH parent)
      endwhile()
    endif()
  endif()

  file(GLOB man_pages "${usr}/share/man/man*/*.[1-9]")
  foreach(page IN LISTS man_pages)
    execute_process(COMMAND gzip -9nf "${page}" COMMAND_ERROR_IS_FATAL ANY)
  endforeach()

  file(GLOB programs "${usr}/bin/*")
  foreach(program IN LISTS programs)
    execute_process(COMMAND "${CPACK_CORSAIR_STRIP}" --remove-section=.comment --remove-section=.note
                            --strip-unneeded "${program}"
                    COMMAND_ERROR_IS_FATAL ANY)
  endforeach()
  file(GLOB archives "${usr}/lib/*.a" "${usr}/lib/*/*.a")
  foreach(archive IN LISTS archives)
    execute_process(COMMAND "${CPACK_CORSAIR_STRIP}" --strip-debug --remove-section=.comment --remove-section=.note
                            --enable-deterministic-archives "${archive}"
                    COMMAND_ERROR_IS_FATAL ANY)
  endforeach()

  set(doc "${usr}/share/doc/${package}")
  file(MAKE_DIRECTORY "${doc}")
  file(COPY_FILE "${CPACK_CORSAIR_SOURCE_DIR}/packaging/deb/copyright" "${doc}/copyright")
  # Built from the source tree, not from a Debian source package: one entry for this version.
  string(TIMESTAMP date "%a, %d %b %Y %H:%M:%S +0000" UTC)
  file(WRITE "${doc}/changelog"
"${package} (${CPACK_PACKAGE_VERSION}) unstable; urgency=medium

  * Corsair ${CPACK_PACKAGE_VERSION}, packaged by CPack from the source tree (docs/install.md).

 -- ${CPACK_DEBIAN_PACKAGE_MAINTAINER}  ${date}
")
  execute_process(COMMAND gzip -9nf "${doc}/changelog" COMMAND_ERROR_IS_FATAL ANY)
endforeach()
