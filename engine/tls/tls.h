/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tls.h - TLS with BoringSSL over memory, the ring doing every socket I/O.
 *
 * A struct rp_tls is one connection's TLS state: the SSL object and two
 * byte buffers that its BIO reads from and writes to. The owner receives
 * ciphertext into rp__tls_in_room() with a ring recv and commits it, lets
 * BoringSSL consume it (handshake or read), and sends what rp__tls_out()
 * holds with a ring send. Nothing here touches a socket except the kTLS
 * handoff, which is setsockopt(2) only.
 *
 * Contexts are built once, at engine creation, and shared read-only by the
 * reactors: a server context per TLS listener (one SSL_CTX per certificate,
 * picked by SNI) and a client context per cluster that re-encrypts.
 *
 * kTLS: rp__ktls_probe() tells, once, whether the kernel has the tls ULP and
 * which ciphers it takes. After a handshake, rp__tls_ktls() installs the RX
 * then the TX keys; from then on the socket is plain to its owner (ring recv,
 * send and splice), apart from control records, which rp__ktls_control()
 * reads. TLS 1.3 traffic secrets come from BoringSSL's key-log callback: this
 * BoringSSL has no SSL_get_traffic_secrets, and the callback keeps the build
 * pure C (no C++ shim).
 */
#ifndef RP_TLS_H
#define RP_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ringproxy/ringproxy.h>

struct rp_tls_server;
struct rp_tls_client;

/* What the kernel offers for kTLS, probed once. */
struct rp_ktls_caps {
	bool ulp;      /* the tls ULP attaches */
	bool aes128;   /* TLS_CIPHER_AES_GCM_128 */
	bool aes256;   /* TLS_CIPHER_AES_GCM_256 */
	bool chacha;   /* TLS_CIPHER_CHACHA20_POLY1305 */
	int ulp_errno; /* why not, when !ulp */
};

/* Probes the kernel once (later calls return the first answer). */
const struct rp_ktls_caps *rp__ktls_probe(void);

/* One line for the log: "kTLS: available (aes-128-gcm ...)" or why not. */
void rp__ktls_describe(const struct rp_ktls_caps *caps, char *out, size_t cap);

/*
 * Builds the server side of listener @l (its tls block must be enabled):
 * loads and checks every certificate and key, and names each by its SANs.
 * @http picks the default ALPN. Errors name the file and say what is wrong.
 */
int rp__tls_server_new(const struct rp_listener_config *l, bool http,
		       struct rp_tls_server **out, char *err, size_t errlen);
void rp__tls_server_free(struct rp_tls_server *s);

/* "h2" or "h2c" when the comma-separated ALPN @list names HTTP/2 (which
 * mode http does not speak yet), else NULL. Pure text: for the loaders. */
const char *rp__tls_alpn_h2(const char *list);

/* Index of the certificate that answers for @name (exact, then wildcard), or
 * -1. Exposed for the tests. */
int rp__tls_server_pick(const struct rp_tls_server *s, const char *name);

/* The client side of cluster @c (its tls block must be enabled). */
int rp__tls_client_new(const struct rp_cluster_config *c, struct rp_tls_client **out,
		       char *err, size_t errlen);
void rp__tls_client_free(struct rp_tls_client *c);

/* ---- one connection --------------------------------------------------------- */

#define RP_TLS_WIRE_RECORD_MAX (16384 + 256 + 5) /* largest ciphertext record */

enum rp_tls_want {
	RP_TLS_DONE = 1,    /* handshake finished */
	RP_TLS_WANT = 0,    /* needs more ciphertext (send rp__tls_out first) */
	RP_TLS_FAILED = -1, /* handshake or record error: close */
	RP_TLS_CLOSED = -2, /* the peer's close_notify */
	RP_TLS_NOMEM = -3,
};

struct rp_tls {
	void *ssl; /* SSL * */
	uint8_t *in;
	unsigned in_off, in_len, in_cap; /* ciphertext received, [off, len) unread */
	unsigned whole_end;		 /* in[in_off, whole_end) holds whole records */
	uint8_t *out;
	unsigned out_off, out_len, out_cap; /* ciphertext to send, [off, len) */
	bool server;
	bool want_ktls; /* keys are being captured for a handoff */
	bool ktls_tx, ktls_rx;
	bool have_secrets; /* TLS 1.3 secrets captured */
	uint8_t secret_len;
	uint8_t client_secret[48], server_secret[48];
	char errbuf[96]; /* why the handshake failed, for the log */
};

/* A server connection on @s; @ktls: capture what a kTLS handoff needs. */
struct rp_tls *rp__tls_new_server(struct rp_tls_server *s, bool ktls);

/* A client connection on @c (SNI and verification set from its config). */
struct rp_tls *rp__tls_new_client(struct rp_tls_client *c, bool ktls);

void rp__tls_free(struct rp_tls *t);

/*
 * Where the next ciphertext may be received. BoringSSL is only ever handed
 * whole records (a partial one waits in the in buffer), so there is always
 * room for the rest of a record.
 */
uint8_t *rp__tls_in_room(struct rp_tls *t, unsigned *room);

/* Whether a read would make progress without more ciphertext: decrypted
 * bytes wait in BoringSSL (a read smaller than a record), or whole records
 * in the in buffer. */
bool rp__tls_readable(struct rp_tls *t);

/* Bytes the record in progress still lacks (0: none in progress). */
unsigned rp__tls_in_need(const struct rp_tls *t);

static inline void rp__tls_in_commit(struct rp_tls *t, unsigned n)
{
	t->in_len += n;
}

static inline unsigned rp__tls_in_pending(const struct rp_tls *t)
{
	return t->in_len - t->in_off;
}

/* Ciphertext waiting to be sent. */
static inline const uint8_t *rp__tls_out(const struct rp_tls *t, unsigned *len)
{
	*len = t->out_len - t->out_off;
	return t->out + t->out_off;
}

static inline void rp__tls_out_consumed(struct rp_tls *t, unsigned n)
{
	t->out_off += n;
	if (t->out_off == t->out_len)
		t->out_off = t->out_len = 0;
}

/* Advances the handshake with the ciphertext received so far. On a server,
 * RP_TLS_DONE comes with its session tickets in the out buffer, TLS 1.3's
 * too (they follow the handshake): sent before anything else, and before a
 * kTLS handoff, whose TX sequence then starts past them. */
enum rp_tls_want rp__tls_handshake(struct rp_tls *t);

/*
 * Decrypts into @buf: >0 bytes, RP_TLS_WANT (needs more ciphertext),
 * RP_TLS_CLOSED, or RP_TLS_FAILED.
 */
int rp__tls_read(struct rp_tls *t, void *buf, unsigned cap);

/* Encrypts all of @buf into the out buffer: 0, or RP_TLS_FAILED/NOMEM. */
int rp__tls_write(struct rp_tls *t, const void *buf, unsigned len);

/* Queues a close_notify (best effort). */
void rp__tls_close_notify(struct rp_tls *t);

/* After the handshake: "TLSv1.3", the cipher's name, resumed, ALPN. */
const char *rp__tls_version(const struct rp_tls *t);
const char *rp__tls_cipher(const struct rp_tls *t);
bool rp__tls_resumed(const struct rp_tls *t);
const char *rp__tls_sni(const struct rp_tls *t);

/* Whether the negotiated cipher (and version) can go to this kernel. */
bool rp__tls_ktls_cipher(const struct rp_tls *t, const struct rp_ktls_caps *caps);

/*
 * Installs RX then TX keys on @fd; the out buffer must have been sent and no
 * ciphertext be pending (else -EAGAIN). 0: both in the kernel (the SSL
 * object is no longer needed); -errno: nothing usable was installed when
 * *@clean, else RX went in and TX did not (the connection must be closed).
 */
int rp__tls_ktls(struct rp_tls *t, int fd, bool *clean);

/*
 * After kTLS RX reported a control record (recv: EIO, splice: EINVAL):
 * reads it. 0: close_notify (EOF of the peer's direction; nothing is sent
 * back: the caller sends ours once its own direction ends); 1: a record to
 * ignore (a NewSessionTicket to a client), go on reading; -errno: an alert,
 * or a KeyUpdate, which the kernels kTLS runs on here cannot follow: the
 * connection must end (nothing is sent from here).
 */
int rp__ktls_control(int fd);

/* Sends a close_notify on a kTLS TX socket (best effort, non-blocking). */
void rp__ktls_close_notify(int fd);

#endif
