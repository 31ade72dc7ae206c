# SPDX-License-Identifier: BSD-2-Clause
# The programs the tests run (RP_TESTS=ON), each with the Debian package that
# brings it; scripts/deps.sh test installs them all. A missing one stops
# configure with one line naming every package to install: a test binary or
# suite is never dropped for a missing tool, and a test whose tool vanished
# after configure fails rather than passes.
set(RP_TEST_MISSING)
set(RP_TEST_MISSING_PKGS)

# rp_test_program(VAR PROGRAM PACKAGE): VAR is the path of PROGRAM, looked up
# in the system directories (/usr/sbin is not on every user's PATH).
macro(rp_test_program var program pkg)
	find_program(${var} ${program} PATHS /usr/sbin /usr/bin /sbin /bin)
	if(NOT ${var})
		list(APPEND RP_TEST_MISSING "${program} (${pkg})")
		list(APPEND RP_TEST_MISSING_PKGS ${pkg})
	endif()
endmacro()

# Python: Debian's interpreter by its path, not whichever python3 is first on
# PATH (on developer machines a pyenv build, with other modules and another
# OpenSSL). The tests use only the standard library, ssl included.
# RP_PYTHON3 is a plain variable, so that it hides the PATH lookup an older
# tree left in the cache under that name; -DRP_TEST_PYTHON3=... overrides.
set(RP_TEST_PYTHON3 /usr/bin/python3 CACHE FILEPATH
	"Python 3 that runs the integration tests (Debian's python3 package)")
set(RP_PYTHON3 ${RP_TEST_PYTHON3})
if(EXISTS ${RP_PYTHON3})
	execute_process(COMMAND ${RP_PYTHON3} -c
		"import ssl, json, hashlib, unittest, socket, threading, http.server"
		RESULT_VARIABLE rp_py_ret OUTPUT_QUIET ERROR_QUIET)
	if(NOT rp_py_ret EQUAL 0)
		list(APPEND RP_TEST_MISSING "the modules ssl, json, unittest... of ${RP_PYTHON3} (python3)")
		list(APPEND RP_TEST_MISSING_PKGS python3)
	endif()
else()
	list(APPEND RP_TEST_MISSING "${RP_PYTHON3} (python3)")
	list(APPEND RP_TEST_MISSING_PKGS python3)
endif()

# integration peers and clients (tests/integration)
rp_test_program(RP_CURL curl curl)
rp_test_program(RP_OPENSSL openssl openssl)
rp_test_program(RP_NGINX nginx nginx-light)
rp_test_program(RP_HAPROXY haproxy haproxy)
rp_test_program(RP_WRK wrk wrk)
rp_test_program(RP_SIEGE siege siege)
rp_test_program(RP_AB ab apache2-utils)
rp_test_program(RP_ARIA2C aria2c aria2)
rp_test_program(RP_MICROSOCKS microsocks microsocks)
rp_test_program(RP_TINYPROXY tinyproxy tinyproxy)
rp_test_program(RP_GNUTLS_CLI gnutls-cli gnutls-bin)
rp_test_program(RP_SQUID squid squid)

# the kTLS tests (tests/ktls/run.sh): Debian's stock kernel booted under qemu
# TCG, with busybox-static as the guest's userland
rp_test_program(RP_QEMU qemu-system-x86_64 qemu-system-x86)
rp_test_program(RP_CPIO cpio cpio)
rp_test_program(RP_MODINFO modinfo kmod)
if(NOT EXISTS /bin/busybox)
	list(APPEND RP_TEST_MISSING "/bin/busybox (busybox-static)")
	list(APPEND RP_TEST_MISSING_PKGS busybox-static)
endif()
file(GLOB rp_vmlinuz /boot/vmlinuz-*)
if(NOT rp_vmlinuz)
	list(APPEND RP_TEST_MISSING "a kernel in /boot (linux-image-amd64)")
	list(APPEND RP_TEST_MISSING_PKGS linux-image-amd64)
endif()

if(RP_TEST_MISSING)
	list(REMOVE_DUPLICATES RP_TEST_MISSING_PKGS)
	string(REPLACE ";" ", " rp_what "${RP_TEST_MISSING}")
	string(REPLACE ";" " " rp_pkgs "${RP_TEST_MISSING_PKGS}")
	message(FATAL_ERROR "the tests need programs that are missing: ${rp_what}. "
		"Install them (apt-get install ${rp_pkgs}, or scripts/deps.sh test), "
		"or configure with -DRP_TESTS=OFF")
endif()
