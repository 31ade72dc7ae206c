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

find_path(URING_INCLUDE_DIR liburing.h)
find_library(URING_LIBRARY uring)
rp_require(URING_INCLUDE_DIR liburing-dev "liburing headers")
rp_require(URING_LIBRARY liburing-dev "liburing")
add_library(rp::uring UNKNOWN IMPORTED)
set_target_properties(rp::uring PROPERTIES IMPORTED_LOCATION ${URING_LIBRARY}
	INTERFACE_INCLUDE_DIRECTORIES ${URING_INCLUDE_DIR})

find_path(YAML_INCLUDE_DIR yaml.h)
find_library(YAML_LIBRARY yaml)
rp_require(YAML_INCLUDE_DIR libyaml-dev "libyaml headers")
rp_require(YAML_LIBRARY libyaml-dev "libyaml")
add_library(rp::yaml UNKNOWN IMPORTED)
set_target_properties(rp::yaml PROPERTIES IMPORTED_LOCATION ${YAML_LIBRARY}
	INTERFACE_INCLUDE_DIRECTORIES ${YAML_INCLUDE_DIR})

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

find_path(JEMALLOC_INCLUDE_DIR jemalloc/jemalloc.h)
find_library(JEMALLOC_LIBRARY jemalloc)
rp_require(JEMALLOC_INCLUDE_DIR libjemalloc-dev "jemalloc headers")
rp_require(JEMALLOC_LIBRARY libjemalloc-dev "jemalloc")
add_library(rp::jemalloc UNKNOWN IMPORTED)
set_target_properties(rp::jemalloc PROPERTIES IMPORTED_LOCATION ${JEMALLOC_LIBRARY})

if(RP_TESTS)
	find_path(CUNIT_INCLUDE_DIR CUnit/Basic.h)
	find_library(CUNIT_LIBRARY cunit)
	rp_require(CUNIT_INCLUDE_DIR libcunit1-dev "CUnit headers")
	rp_require(CUNIT_LIBRARY libcunit1-dev "CUnit")
	add_library(rp::cunit UNKNOWN IMPORTED)
	set_target_properties(rp::cunit PROPERTIES IMPORTED_LOCATION ${CUNIT_LIBRARY}
		INTERFACE_INCLUDE_DIRECTORIES ${CUNIT_INCLUDE_DIR})
endif()

if(RP_BENCHMARKS)
	find_package(benchmark CONFIG QUIET)
	rp_require(benchmark_FOUND libbenchmark-dev "Google Benchmark")
endif()
