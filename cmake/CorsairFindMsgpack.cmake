# corsair_find_msgpack(): finds msgpack-cxx (Debian: libmsgpack-cxx-dev) and its target
# msgpackc-cxx, for this tree's CMakeLists.txt and for the installed CorsairConfig.cmake alike.
# Debian's msgpack-cxx installs its msgpack-config.cmake in cmake/msgpackc-cxx/, and the msgpack C
# library (libmsgpack-dev, on any machine that builds C software using msgpack) one of the same
# package name in cmake/msgpack/: a plain find_package(msgpack) may take the C one, and the link
# then fails on -lmsgpackc-cxx. So look in the C++ package's folder first, and report whatever
# lacks the C++ target. Sets corsair_msgpack_error in the caller's scope: empty when the target
# msgpackc-cxx exists, else why not.
function(corsair_find_msgpack)
  set(hints)
  foreach(prefix IN LISTS CMAKE_PREFIX_PATH CMAKE_SYSTEM_PREFIX_PATH)
    list(APPEND hints "${prefix}/lib/${CMAKE_LIBRARY_ARCHITECTURE}/cmake/msgpackc-cxx" "${prefix}/lib/cmake/msgpackc-cxx")
  endforeach()
  find_package(msgpack CONFIG QUIET HINTS ${hints})
  if(TARGET msgpackc-cxx)
    set(corsair_msgpack_error "" PARENT_SCOPE)
  elseif(msgpack_FOUND)
    string(CONCAT error "msgpack-cxx is missing (Debian: apt-get install libmsgpack-cxx-dev): find_package(msgpack) "
                  "found ${msgpack_DIR}, which does not define the target msgpackc-cxx (the msgpack C library's "
                  "package, libmsgpack-dev, has that name too)")
    set(corsair_msgpack_error "${error}" PARENT_SCOPE)
  else()
    set(corsair_msgpack_error "msgpack-cxx is missing (Debian: apt-get install libmsgpack-cxx-dev): find_package(msgpack) found nothing"
        PARENT_SCOPE)
  endif()
endfunction()
