# Run by CPack (CPACK_PRE_BUILD_SCRIPTS, see CMakeLists.txt) on the staged
# install tree of the Debian package, before it is packed: what Debian wants
# on top of `cmake --install`, as debhelper would do it. The binaries lose the
# .comment and .note sections that CPACK_STRIP_FILES's plain strip leaves; the
# man pages are gzipped (-9n: no name or time in the header); the copyright
# file and the changelog go to /usr/share/doc/smqtt. A plain install is left
# as it is.
set(root "${CPACK_TEMPORARY_DIRECTORY}${CPACK_PACKAGING_INSTALL_PREFIX}")
set(src "${CPACK_SMQTT_SOURCE_DIR}/packaging/debian")
set(doc "${root}/share/doc/${CPACK_PACKAGE_NAME}")
find_program(SMQTT_GZIP gzip REQUIRED)

function(gzip9n path)
  execute_process(COMMAND ${SMQTT_GZIP} -9nf "${path}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "gzip -9n ${path} failed: ${rc}")
  endif()
endfunction()

file(GLOB binaries "${root}/bin/*")
foreach(bin IN LISTS binaries)
  if(NOT IS_SYMLINK "${bin}")
    execute_process(COMMAND ${CPACK_SMQTT_STRIP} --remove-section=.comment --remove-section=.note "${bin}"
                    RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "strip ${bin} failed: ${rc}")
    endif()
  endif()
endforeach()

# the translated pages too (share/man/LANG/manN/)
file(GLOB_RECURSE pages "${root}/${CPACK_SMQTT_MANDIR}/man*/*" "${root}/${CPACK_SMQTT_MANDIR}/*/man*/*")
list(FILTER pages EXCLUDE REGEX "\\.gz$")
foreach(page IN LISTS pages)
  gzip9n("${page}")
endforeach()

# The first changelog entry must be this version (bump both together).
file(STRINGS "${src}/changelog" top LIMIT_COUNT 1)
if(NOT top MATCHES "^${CPACK_PACKAGE_NAME} \\(${CPACK_PACKAGE_VERSION}\\) ")
  message(FATAL_ERROR "packaging/debian/changelog starts with \"${top}\": add an entry for "
                      "${CPACK_PACKAGE_NAME} ${CPACK_PACKAGE_VERSION} (the version in project())")
endif()
file(MAKE_DIRECTORY "${doc}")
file(COPY_FILE "${src}/changelog" "${doc}/changelog")
gzip9n("${doc}/changelog")

# libconfig is part of the binaries when it was linked statically: its
# copyright and licence go with them.
file(READ "${src}/copyright" text)
if(CPACK_SMQTT_LIBCONFIG_STATIC)
  file(READ "${src}/copyright.libconfig" more)
  string(APPEND text "\n${more}")
endif()
file(WRITE "${doc}/copyright" "${text}")

file(CHMOD "${doc}/copyright" "${doc}/changelog.gz" PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
file(CHMOD "${root}/share/doc" "${doc}" PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE
     GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
