# What `cmake --install` puts under the prefix, all in one place (docs/install.md lists it):
#   runtime:     bin/ the three programs, share/man/man1/ their man pages, the systemd units and
#                example config files once packaging/ holds them;
#   development: include/corsair/{protocol,worker,producer}, the static libraries, the CMake
#                package Corsair (Corsair::protocol, Corsair::worker, Corsair::producer) and the
#                pkg-config files corsair-protocol, corsair-worker, corsair-producer.
# Every destination but the config files' is relative to the prefix, so the rules work with
# `--prefix P` given at install time, with DESTDIR, and with CPack. Tests, benchmarks, fuzz targets
# and the broker's, http's and CLI's libraries are not installed: they are no one else's API.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(CORSAIR_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/Corsair")
set(CORSAIR_INSTALL_PKGCONFIGDIR "${CMAKE_INSTALL_LIBDIR}/pkgconfig")

install(TARGETS corsair-broker corsair-worker corsair RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)

# The libraries of custom workers and producers. Static: a custom worker's binary then depends
# only on Debian's libraries, and there is no SONAME to keep stable.
set_target_properties(corsair_protocol PROPERTIES EXPORT_NAME protocol)
set_target_properties(corsair_worker PROPERTIES EXPORT_NAME worker)
set_target_properties(corsair_producer PROPERTIES EXPORT_NAME producer)
install(TARGETS corsair_protocol corsair_worker corsair_producer
        EXPORT CorsairTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT development
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# The public headers include one another and protocol/'s only: options/ and containers/ stay
# private to the libraries (tests/install/install_test.sh builds the examples against this).
foreach(part IN ITEMS protocol worker producer)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${part}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
          COMPONENT development FILES_MATCHING PATTERN "*.hpp")
endforeach()

install(EXPORT CorsairTargets NAMESPACE Corsair:: DESTINATION ${CORSAIR_INSTALL_CMAKEDIR} COMPONENT development)
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/CorsairConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/cmake/CorsairConfig.cmake
                              INSTALL_DESTINATION ${CORSAIR_INSTALL_CMAKEDIR})
# 0.x: a new minor version may change the API, so only the same major.minor satisfies a request.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake/CorsairConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cmake/CorsairConfig.cmake ${PROJECT_BINARY_DIR}/cmake/CorsairConfigVersion.cmake
              ${CMAKE_CURRENT_LIST_DIR}/CorsairFindMsgpack.cmake
        DESTINATION ${CORSAIR_INSTALL_CMAKEDIR} COMPONENT development)

# pkg-config: one file per library, like the CMake targets, so that a producer does not pull in
# spdlog. The prefix is found from the .pc file's own place (${pcfiledir}), as the prefix given
# at install time may not be the one configured; a directory configured as an absolute path
# stays as it is.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(CORSAIR_PKGCONFIG_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH corsair_pkgconfig_up "/prefix/${CORSAIR_INSTALL_PKGCONFIGDIR}" "/prefix")
  string(REGEX REPLACE "/$" "" corsair_pkgconfig_up "${corsair_pkgconfig_up}")
  set(CORSAIR_PKGCONFIG_PREFIX "\${pcfiledir}/${corsair_pkgconfig_up}")
endif()
foreach(dir IN ITEMS LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${dir}}")
    set(CORSAIR_PKGCONFIG_${dir} "${CMAKE_INSTALL_${dir}}")
  else()
    set(CORSAIR_PKGCONFIG_${dir} "\${prefix}/${CMAKE_INSTALL_${dir}}")
  endif()
endforeach()
foreach(library IN ITEMS protocol worker producer)
  configure_file(${CMAKE_CURRENT_LIST_DIR}/corsair-${library}.pc.in ${PROJECT_BINARY_DIR}/pkgconfig/corsair-${library}.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/pkgconfig/corsair-${library}.pc DESTINATION ${CORSAIR_INSTALL_PKGCONFIGDIR}
          COMPONENT development)
endforeach()

# Man pages from each program's --help, so they never disagree with it. help2man runs the
# programs just built, at build time.
find_program(CORSAIR_HELP2MAN help2man)
if(CORSAIR_HELP2MAN)
  set(corsair_man_pages
    "corsair-broker|the Corsair job broker"
    "corsair-worker|serve Corsair queues by running a command or a built-in handler per job"
    "corsair|submit jobs to a Corsair broker and manage its jobs and queues")
  set(corsair_man_files)
  foreach(entry IN LISTS corsair_man_pages)
    string(REPLACE "|" ";" corsair_man_entry "${entry}")
    list(GET corsair_man_entry 0 program)
    list(GET corsair_man_entry 1 corsair_man_name)
    set(corsair_man_page ${PROJECT_BINARY_DIR}/man/${program}.1)
    add_custom_command(OUTPUT ${corsair_man_page}
                       COMMAND ${CORSAIR_HELP2MAN} --no-info --section 1 --name ${corsair_man_name}
                               --output ${corsair_man_page} $<TARGET_FILE:${program}>
                       DEPENDS ${program}
                       COMMENT "Generating the man page ${program}.1 with help2man"
                       VERBATIM)
    list(APPEND corsair_man_files ${corsair_man_page})
  endforeach()
  add_custom_target(corsair_man_pages ALL DEPENDS ${corsair_man_files})
  install(FILES ${corsair_man_files} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT runtime)
else()
  message("corsair: help2man not found (Debian: apt-get install help2man): the man pages are not built or installed")
endif()

# Example config files (packaging/config/, written with the config file support). The GNU rule
# for a prefix of /usr is /etc, not /usr/etc (GNUInstallDirs' CMAKE_INSTALL_FULL_SYSCONFDIR): that
# absolute path is used then, which DESTDIR and CPack still relocate; under any other configured
# prefix the path stays relative, so `--prefix P` at install time gives P/etc/corsair.
if(EXISTS ${PROJECT_SOURCE_DIR}/packaging/config)
  file(GLOB corsair_config_files CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/packaging/config/*.toml)
  cmake_path(IS_PREFIX CMAKE_INSTALL_PREFIX "${CMAKE_INSTALL_FULL_SYSCONFDIR}" NORMALIZE corsair_sysconfdir_is_in_prefix)
  if(corsair_sysconfdir_is_in_prefix)
    set(corsair_config_destination ${CMAKE_INSTALL_SYSCONFDIR}/corsair)
  else()
    set(corsair_config_destination ${CMAKE_INSTALL_FULL_SYSCONFDIR}/corsair)
  endif()
  install(FILES ${corsair_config_files} DESTINATION ${corsair_config_destination} COMPONENT runtime)
endif()

# systemd units (packaging/systemd/): lib/systemd/system under the prefix, which is where systemd
# looks for a package's units under /usr (Debian 12 merges /lib into /usr/lib).
if(EXISTS ${PROJECT_SOURCE_DIR}/packaging/systemd)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/packaging/systemd/ DESTINATION lib/systemd/system COMPONENT runtime
          FILES_MATCHING PATTERN "*.service" PATTERN "*.socket" PATTERN "*.target")
endif()
