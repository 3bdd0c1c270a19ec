# The Debian packages, made by CPack from the install rules of CorsairInstall.cmake
# (docs/install.md, The Debian packages): `cmake --build build --target package` writes
#   corsair_VERSION_amd64.deb      the runtime component: programs, man pages, /etc/corsair, units;
#   corsair-dev_VERSION_amd64.deb  the development component: headers, static libraries, the CMake
#                                  package and the pkg-config files.
# Both lay their files under /usr whatever prefix the tree was configured with, the config files
# under /etc (packaging/deb/prepare_staging.cmake); corsair-dev's libraries follow the tree's
# CMAKE_INSTALL_LIBDIR (multiarch when configured for /usr). The maintainer scripts are
# packaging/deb/'s. Checked by tests/package/ (lintian, then a fresh Debian 12 in a chroot).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME corsair)
set(CPACK_PACKAGE_VENDOR "the Corsair authors")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# The packages are written to the build tree's top, beside CPackConfig.cmake.
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR})
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime development)

set(CORSAIR_PACKAGE_MAINTAINER "Corsair maintainers <maintainers@users.noreply.b-seed-c3f408c9.example>"
    CACHE STRING "The Maintainer field of the Debian packages")
set(CORSAIR_PACKAGE_HOMEPAGE "" CACHE STRING "The Homepage field of the Debian packages (none when empty)")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CORSAIR_PACKAGE_MAINTAINER}")
if(CORSAIR_PACKAGE_HOMEPAGE)
  set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "${CORSAIR_PACKAGE_HOMEPAGE}")
endif()
# corsair_0.1.0_amd64.deb, as Debian names its own.
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME corsair)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION net)
# The shared libraries the programs link (libzmq5, libsystemd0, ...) come from dpkg-shlibdeps;
# postinst makes the corsair user with adduser; the broker's unit reloads with /bin/kill, which a
# minimal Debian lacks (tests/package/ found it), as openssh-server's does.
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_DEPENDS "adduser, procps")
# A line of its own per paragraph; CPack indents them as Debian's control file wants.
set(CPACK_DEBIAN_RUNTIME_DESCRIPTION "durable job broker over ZeroMQ, with a generic worker
Corsair queues jobs that producers submit and hands them to workers, with
credit-based dispatch, heartbeats, leases fenced by attempt, retries, delays,
priorities and a dead-job set. Every accepted job is in an append-only
journal before the producer hears it was accepted.
.
This package holds the broker (corsair-broker), the worker that runs a
command per job (corsair-worker), the command line client (corsair), their
settings files in /etc/corsair, and the systemd units corsair-broker.service
and corsair-worker@.service. It creates the corsair system user; no service
is enabled or started on installation.")
# Every file of /etc/corsair is a conffile, so that an upgrade keeps the administrator's edits
# (CPack marks none by itself).
set(corsair_conffiles "")
foreach(file IN LISTS corsair_config_files)
  cmake_path(GET file FILENAME name)
  string(APPEND corsair_conffiles "/etc/corsair/${name}\n")
endforeach()
file(GENERATE OUTPUT ${PROJECT_BINARY_DIR}/packaging/deb/conffiles CONTENT "${corsair_conffiles}")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_EXTRA
    ${PROJECT_BINARY_DIR}/packaging/deb/conffiles
    ${PROJECT_SOURCE_DIR}/packaging/deb/postinst
    ${PROJECT_SOURCE_DIR}/packaging/deb/prerm
    ${PROJECT_SOURCE_DIR}/packaging/deb/postrm)
# The scripts as they are in the source tree, executable whatever the checkout's modes.
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_NAME corsair-dev)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_SECTION libdevel)
# What the installed CMake package and pkg-config files find (docs/install.md): headers and
# libraries of Debian's -dev packages. The static libraries need no shared library of ours.
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_DEPENDS
    "libzmq3-dev, cppzmq-dev, libmsgpack-cxx-dev, libspdlog-dev, libfmt-dev")
set(CPACK_DEBIAN_DEVELOPMENT_DESCRIPTION "durable job broker over ZeroMQ - development files
The headers, static libraries, CMake package (find_package(Corsair), targets
Corsair::protocol, Corsair::worker and Corsair::producer) and pkg-config
files (corsair-protocol, corsair-worker, corsair-producer) to build custom
Corsair workers and producers in C++.")

# Turns CPack's staging tree into Debian's layout before the packages are made: /etc, compressed
# man pages, the copyright and changelog files, programs and static libraries stripped.
set(CPACK_PRE_BUILD_SCRIPTS ${PROJECT_SOURCE_DIR}/packaging/deb/prepare_staging.cmake)
set(CPACK_CORSAIR_SOURCE_DIR ${PROJECT_SOURCE_DIR})
set(CPACK_CORSAIR_STRIP ${CMAKE_STRIP})
set(CPACK_CORSAIR_CONFIG_DESTINATION "${corsair_config_destination}")
include(CPack)
