// SPDX-License-Identifier: BSD-2-Clause
/*
 * qemu_exit CODE: ends the qemu guest it runs in through qemu's
 * "-device isa-debug-exit,iobase=0xf4,iosize=0x04": the byte CODE written to
 * port 0xf4 makes qemu exit with status (CODE << 1) | 1, so the host learns
 * the payload's exit code from qemu's own status (tests/ktls/run.sh decodes
 * it). Built static for the initramfs; busybox has no port I/O applet.
 * Returns 1 if the write did not end the machine (no such device, no ioperm).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/io.h>

int main(int argc, char **argv)
{
	int code = argc > 1 ? atoi(argv[1]) : 0;

	if (ioperm(0xf4, 4, 1) != 0) {
		perror("qemu_exit: ioperm(0xf4)");
		return 1;
	}
	outl((unsigned)(code & 0x7f), 0xf4);
	fprintf(stderr, "qemu_exit: port 0xf4 write did not stop the machine\n");
	return 1;
}
