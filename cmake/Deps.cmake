# SPDX-License-Identifier: BSD-2-Clause
# Finds ringproxy's dependencies from Debian 12 packages and exposes each as an
# imported target. BoringSSL lives in a private prefix (android-libboringssl-dev)
# so that OpenSSL's headers never reach TLS code; binaries get an rpath to it.
find_package(Threads REQUIRED)

macro(rp_require var pkg what)
	if(NOT ${var})
		message(FATAL_ERROR "${what} not found: install the Debian package '${pkg}' "
			"(apt-get install ${pkg}), or run scripts/deps.sh")
	endif()
endmacro()

# rp_import(TARGET PREFIX HEADER LIB PACKAGE): finds a library and its header
# in the system paths, stops with the Debian package's name if either is
# missing, and exposes them as the imported target TARGET.
macro(rp_import target prefix header lib pkg)
	find_path(${prefix}_INCLUDE_DIR ${header})
	find_library(${prefix}_LIBRARY ${lib})
	rp_require(${prefix}_INCLUDE_DIR ${pkg} "${lib} headers (${header})")
	rp_require(${prefix}_LIBRARY ${pkg} "lib${lib}")
	add_library(${target} UNKNOWN IMPORTED)
	set_target_properties(${target} PROPERTIES IMPORTED_LOCATION ${${prefix}_LIBRARY}
		INTERFACE_INCLUDE_DIRECTORIES ${${prefix}_INCLUDE_DIR})
endmacro()

rp_import(rp::uring URING liburing.h uring liburing-dev)
rp_import(rp::yaml YAML yaml.h yaml libyaml-dev)
rp_import(rp::cares CARES ares.h cares libc-ares-dev)

set(RP_BORINGSSL_INCLUDE /usr/include/android CACHE PATH "BoringSSL headers")
set(RP_BORINGSSL_LIBDIR /usr/lib/x86_64-linux-gnu/android CACHE PATH "BoringSSL libraries")
find_path(BORINGSSL_INCLUDE_DIR openssl/base.h PATHS ${RP_BORINGSSL_INCLUDE} NO_DEFAULT_PATH)
find_library(BORINGSSL_CRYPTO crypto PATHS ${RP_BORINGSSL_LIBDIR} NO_DEFAULT_PATH)
find_library(BORINGSSL_SSL ssl PATHS ${RP_BORINGSSL_LIBDIR} NO_DEFAULT_PATH)
rp_require(BORINGSSL_INCLUDE_DIR android-libboringssl-dev "BoringSSL headers")
rp_require(BORINGSSL_CRYPTO android-libboringssl-dev "BoringSSL libcrypto")
rp_require(BORINGSSL_SSL android-libboringssl-dev "BoringSSL libssl")
add_library(rp::crypto UNKNOWN IMPORTED)
set_target_properties(rp::crypto PROPERTIES IMPORTED_LOCATION ${BORINGSSL_CRYPTO}
	INTERFACE_INCLUDE_DIRECTORIES ${BORINGSSL_INCLUDE_DIR})
add_library(rp::ssl UNKNOWN IMPORTED)
set_target_properties(rp::ssl PROPERTIES IMPORTED_LOCATION ${BORINGSSL_SSL}
	INTERFACE_INCLUDE_DIRECTORIES ${BORINGSSL_INCLUDE_DIR}
	INTERFACE_LINK_LIBRARIES rp::crypto)
list(APPEND CMAKE_BUILD_RPATH ${RP_BORINGSSL_LIBDIR})
list(APPEND CMAKE_INSTALL_RPATH ${RP_BORINGSSL_LIBDIR})

rp_import(rp::jemalloc JEMALLOC jemalloc/jemalloc.h jemalloc libjemalloc-dev)

if(RP_TESTS)
	rp_import(rp::cunit CUNIT CUnit/Basic.h cunit libcunit1-dev)
	include(${CMAKE_CURRENT_LIST_DIR}/TestDeps.cmake)
endif()

if(RP_BENCHMARKS)
	find_package(benchmark CONFIG QUIET)
	rp_require(benchmark_FOUND libbenchmark-dev "Google Benchmark")
endif()
