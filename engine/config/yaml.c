// SPDX-License-Identifier: BSD-2-Clause
/*
 * yaml.c - loads the YAML configuration file (schema in docs/config.md) into
 * a struct rp_config with libyaml's document API, whose nodes carry the
 * line and column where they start. Each mapping is checked against a table
 * of the keys it may hold (name, kind, where the value goes), as the command
 * line's options are, and every problem is reported with its place and
 * loading goes on, so that `ringproxy check` lists them all at once. Names
 * (a listener's cluster) and duplicates are resolved once the whole document
 * has been read, since clusters may come after the listeners that use them.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "balance/balance.h"
#include "config/cli.h"
#include "net/net.h"

#define RP_CONFIG_MAX_FILE (1u << 20)

enum field_kind {
	F_UINT,	      /* unsigned in [min, max] */
	F_POW2,	      /* unsigned in [min, max], a power of two */
	F_INT,	      /* int in [min, max] */
	F_DURATION,   /* unsigned ms, at least min */
	F_SIZE,	      /* unsigned bytes in [min, max] */
	F_BOOL,	      /* int 0 or 1 */
	F_CPUS,	      /* cpus + ncpus */
	F_LOG_LEVEL,  /* enum rp_log_level */
	F_LISTENERS,  /* the list of listeners */
	F_CLUSTERS,   /* the mapping of clusters */
	F_ADDR,	      /* struct rp_addr, a port required */
	F_MODE,	      /* enum rp_listener_mode */
	F_TUNNEL,     /* enum rp_tunnel_mode */
	F_CLUSTER,    /* a listener's cluster, by name */
	F_BALANCE,    /* char[16], an algorithm the balance module has */
	F_SEND_PROXY, /* unsigned 0, 1 or 2 */
	F_BACKENDS,   /* a cluster's list of backends */
	F_WEIGHT,     /* a backend's weight */
};

struct field {
	const char *key;
	enum field_kind kind;
	size_t off;
	unsigned min, max;
};

#define G(f) offsetof(struct rp_config, f)
#define L(f) offsetof(struct rp_listener_config, f)
#define C(f) offsetof(struct rp_cluster_config, f)

static const struct field global_fields[] = {
	{"reactors", F_UINT, G(reactors), 1, RP_MAX_REACTORS},
	{"cpus", F_CPUS, 0, 0, 0},
	{"drain_timeout", F_DURATION, G(drain_timeout_ms), 0, 0},
	{"max_conns", F_UINT, G(max_conns), 1, 10000000},
	{"pipe_size", F_SIZE, G(pipe_size), 4096, 1u << 30},
	{"max_pipes", F_UINT, G(max_pipes), 1, 1000000},
	{"buffers", F_POW2, G(buf_count), 1, 32768},
	{"buffer_size", F_SIZE, G(buf_size), 1024, 1u << 20},
	{"iowq_workers", F_UINT, G(iowq_workers), 1, 64},
	{"auto_bulk_reads", F_UINT, G(auto_bulk_reads), 1, 1000},
	{"log_level", F_LOG_LEVEL, G(log_level), 0, 0},
	{"listeners", F_LISTENERS, 0, 0, 0},
	{"clusters", F_CLUSTERS, 0, 0, 0},
};

static const struct field listener_fields[] = {
	{"bind", F_ADDR, L(addr), 0, 0},
	{"mode", F_MODE, L(mode), 0, 0},
	{"cluster", F_CLUSTER, 0, 0, 0},
	{"backlog", F_INT, L(backlog), 1, 1u << 20},
	{"accept_proxy", F_BOOL, L(accept_proxy), 0, 0},
	{"proxy_timeout", F_DURATION, L(proxy_timeout_ms), 1, 0},
	{"tunnel", F_TUNNEL, L(tunnel), 0, 0},
	{"idle_timeout", F_DURATION, L(idle_timeout_ms), 1, 0},
};

static const struct field cluster_fields[] = {
	{"balance", F_BALANCE, C(balance), 0, 0},
	{"connect_timeout", F_DURATION, C(connect_timeout_ms), 1, 0},
	{"retries", F_UINT, C(retries), 0, RP_MAX_BACKENDS},
	{"fall", F_UINT, C(fall), 1, 1000},
	{"cooldown", F_DURATION, C(cooldown_ms), 0, 0},
	{"send_proxy", F_SEND_PROXY, C(send_proxy), 0, 0},
	{"backends", F_BACKENDS, 0, 0, 0},
};

/* A backend given as a mapping; its offsets are into a struct backend_in. */
struct backend_in {
	struct rp_addr addr;
	unsigned weight;
};

static const struct field backend_fields[] = {
	{"address", F_ADDR, offsetof(struct backend_in, addr), 0, 0},
	{"weight", F_WEIGHT, offsetof(struct backend_in, weight), 1, 65535},
};

#define NFIELDS(t) (sizeof(t) / sizeof((t)[0]))

struct loader {
	const char *name;
	yaml_document_t doc;
	struct rp_config *cfg;
	rp_config_report_fn report;
	void *arg;
	unsigned problems;
	/* Resolved after the walk. */
	char lcluster[RP_MAX_LISTENERS][RP_CLUSTER_NAME];
	yaml_mark_t lcluster_mark[RP_MAX_LISTENERS];
	bool lcluster_bad[RP_MAX_LISTENERS]; /* reported already */
	yaml_mark_t lbind_mark[RP_MAX_LISTENERS];
	yaml_mark_t cluster_mark[RP_MAX_CLUSTERS];
	yaml_mark_t backend_mark[RP_MAX_BACKENDS]; /* of the current cluster */
	/* What the current mapping walk found (keys present, valid or not). */
	bool have_bind, have_cluster, have_backends, backends_empty;
};

__attribute__((format(printf, 3, 4))) static void
problem(struct loader *ld, const yaml_mark_t *m, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (ld->problems++ >= RP_CONFIG_MAX_REPORTS)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ld->problems == RP_CONFIG_MAX_REPORTS)
		snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg),
			 " (too many problems; the rest are not shown)");
	ld->report(ld->arg, ld->name, m ? (unsigned)m->line + 1 : 0,
		   m ? (unsigned)m->column + 1 : 0, msg);
}

static const char *node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return "a scalar";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}

/* The node's text, or NULL (reported) when it is not a scalar. Scalars are
 * NUL-terminated by libyaml; one with a NUL inside is refused. */
static const char *scalar(struct loader *ld, const yaml_node_t *n, const char *key,
			  const char *want)
{
	const char *s;

	if (n->type != YAML_SCALAR_NODE) {
		problem(ld, &n->start_mark, "%s: expected %s, got %s", key, want,
			node_kind(n));
		return NULL;
	}
	s = (const char *)n->data.scalar.value;
	if (strlen(s) != n->data.scalar.length) {
		problem(ld, &n->start_mark, "%s: expected %s, got a NUL byte", key, want);
		return NULL;
	}
	return s;
}

static bool parse_bool(const char *s, int *out)
{
	static const char *const yes[] = {"true", "yes", "on", "True", "TRUE"};
	static const char *const no[] = {"false", "no", "off", "False", "FALSE"};

	for (unsigned i = 0; i < NFIELDS(yes); i++) {
		if (!strcmp(s, yes[i])) {
			*out = 1;
			return true;
		}
		if (!strcmp(s, no[i])) {
			*out = 0;
			return true;
		}
	}
	return false;
}

/* What a value of @kind looks like, for "expected ..., got a list". */
static const char *kind_wants(enum field_kind kind)
{
	switch (kind) {
	case F_UINT:
	case F_POW2:
	case F_INT:
	case F_WEIGHT:
		return "a whole number";
	case F_DURATION:
		return "a duration such as 500ms, 5s or 2m";
	case F_SIZE:
		return "a size such as 4096, 64k or 1m";
	case F_BOOL:
		return "true or false";
	case F_CPUS:
		return "a CPU list such as \"0-3,6\"";
	case F_ADDR:
		return "IP:PORT (quote an IPv6 one: \"[::1]:8080\")";
	case F_CLUSTER:
		return "a cluster name";
	default:
		return "a name";
	}
}

static void load_listeners(struct loader *ld, yaml_node_t *n);
static void load_clusters(struct loader *ld, yaml_node_t *n);
static void load_backends(struct loader *ld, yaml_node_t *n,
			  struct rp_cluster_config *cl);

/* Applies the value @v of key @f to @base. */
static void load_value(struct loader *ld, const struct field *f, yaml_node_t *v,
		       char *base)
{
	unsigned *u = (unsigned *)(base + f->off);
	const char *s;
	unsigned x;

	if (f == &listener_fields[0])
		ld->have_bind = true;
	if (f->kind == F_CLUSTER)
		ld->have_cluster = true;
	if (f->kind == F_BACKENDS)
		ld->have_backends = true;
	switch (f->kind) {
	case F_LISTENERS:
		load_listeners(ld, v);
		return;
	case F_CLUSTERS:
		load_clusters(ld, v);
		return;
	case F_BACKENDS:
		load_backends(ld, v, (struct rp_cluster_config *)base);
		return;
	default:
		break;
	}
	s = scalar(ld, v, f->key, kind_wants(f->kind));
	if (!s)
		return;
	switch (f->kind) {
	case F_UINT:
	case F_POW2:
	case F_INT:
	case F_WEIGHT:
		if (rp__parse_uint(s, f->min, f->max, &x) < 0)
			problem(ld, &v->start_mark,
				"%s: expected a whole number from %u to %u, got '%s'",
				f->key, f->min, f->max, s);
		else if (f->kind == F_POW2 && (x & (x - 1)))
			problem(ld, &v->start_mark,
				"%s: must be a power of two, got '%s'", f->key, s);
		else if (f->kind == F_INT)
			*(int *)(base + f->off) = (int)x;
		else
			*u = x;
		break;
	case F_DURATION:
		if (rp__parse_duration_ms(s, &x) < 0 || x < f->min)
			problem(ld, &v->start_mark,
				"%s: expected a duration such as 500ms, 5s or 2m%s, got "
				"'%s'",
				f->key, f->min ? " (not zero)" : "", s);
		else
			*u = x;
		break;
	case F_SIZE:
		if (rp__parse_size(s, &x) < 0 || x < f->min || x > f->max)
			problem(ld, &v->start_mark,
				"%s: expected a size from %u to %u bytes (suffixes k, m, "
				"g), got '%s'",
				f->key, f->min, f->max, s);
		else
			*u = x;
		break;
	case F_BOOL:
		if (!parse_bool(s, (int *)(base + f->off)))
			problem(ld, &v->start_mark,
				"%s: expected true or false, got '%s'", f->key, s);
		break;
	case F_CPUS: {
		struct rp_config *cfg = ld->cfg;
		int bad;

		if (rp__cpulist_parse(s, cfg->cpus, RP_MAX_REACTORS, &cfg->ncpus) < 0) {
			cfg->ncpus = 0;
			problem(ld, &v->start_mark,
				"%s: expected a CPU list such as 0-3,6, got '%s'", f->key,
				s);
		} else if (rp__cpus_check_allowed(cfg->cpus, cfg->ncpus, &bad) < 0) {
			problem(ld, &v->start_mark,
				"%s: CPU %d is not available to this process (see "
				"taskset -p $$ or the cgroup cpuset)",
				f->key, bad);
		}
		break;
	}
	case F_LOG_LEVEL: {
		static const char *const names[] = {"error", "warn", "info", "debug"};
		unsigned i;

		for (i = 0; i < NFIELDS(names); i++)
			if (!strcmp(s, names[i]))
				break;
		if (i == NFIELDS(names))
			problem(ld, &v->start_mark,
				"%s: expected error, warn, info or debug, got '%s'",
				f->key, s);
		else
			*(enum rp_log_level *)(base + f->off) = (enum rp_log_level)i;
		break;
	}
	case F_ADDR:
		if (rp__addr_parse(s, (struct rp_addr *)(base + f->off), false) < 0) {
			problem(ld, &v->start_mark,
				"%s: expected IP:PORT such as 127.0.0.1:8080 or "
				"[::1]:8080, got '%s'",
				f->key, s);
		} else if (f == &listener_fields[0]) {
			ld->lbind_mark[ld->cfg->nlisteners] = v->start_mark;
		}
		break;
	case F_MODE: {
		unsigned m;

		for (m = 0; m < RP_MODE_NMODES; m++)
			if (!strcmp(s, rp_listener_mode_name((enum rp_listener_mode)m)))
				break;
		if (m == RP_MODE_NMODES)
			problem(ld, &v->start_mark,
				"%s: expected tcp, http or forward, got '%s'", f->key, s);
		else if (m != RP_MODE_TCP)
			problem(ld, &v->start_mark,
				"%s: '%s' is not available yet (only tcp)", f->key, s);
		else
			*(enum rp_listener_mode *)(base + f->off) = RP_MODE_TCP;
		break;
	}
	case F_TUNNEL: {
		unsigned m;

		for (m = 0; m < RP_TUNNEL_NMODES; m++)
			if (!strcmp(s, rp_tunnel_mode_name((enum rp_tunnel_mode)m)))
				break;
		if (m == RP_TUNNEL_NMODES)
			problem(ld, &v->start_mark,
				"%s: expected splice, ring-splice, copy or auto, got "
				"'%s'",
				f->key, s);
		else
			*(enum rp_tunnel_mode *)(base + f->off) = (enum rp_tunnel_mode)m;
		break;
	}
	case F_CLUSTER: {
		unsigned i = ld->cfg->nlisteners;

		ld->lcluster_mark[i] = v->start_mark;
		if (!*s || strlen(s) >= RP_CLUSTER_NAME) {
			problem(ld, &v->start_mark,
				"%s: expected a cluster name of 1 to %d characters, got "
				"'%s'",
				f->key, RP_CLUSTER_NAME - 1, s);
		} else {
			snprintf(ld->lcluster[i], RP_CLUSTER_NAME, "%s", s);
			ld->lcluster_bad[i] = false;
		}
		break;
	}
	case F_BALANCE:
		if (strlen(s) >= 16 || !rp__balance_ops_find(s))
			problem(ld, &v->start_mark,
				"%s: expected roundrobin, wrr, leastconn, p2c, ringhash "
				"or "
				"maglev, got '%s'",
				f->key, s);
		else
			snprintf(base + f->off, 16, "%s", s);
		break;
	case F_SEND_PROXY:
		if (!strcmp(s, "v1"))
			*u = 1;
		else if (!strcmp(s, "v2"))
			*u = 2;
		else if (!strcmp(s, "off") || !strcmp(s, "false") || !strcmp(s, "no"))
			*u = 0;
		else
			problem(ld, &v->start_mark,
				"%s: expected v1, v2 or off, got '%s'", f->key, s);
		break;
	default:
		break;
	}
}

/* Walks mapping @n against @fields, into @base. @what names the mapping
 * in messages ("the top level", "a listener"...). */
static void load_map(struct loader *ld, yaml_node_t *n, const struct field *fields,
		     unsigned nfields, char *base, const char *what)
{
	yaml_mark_t seen[16];
	uint32_t seen_mask = 0;

	if (n->type != YAML_MAPPING_NODE) {
		problem(ld, &n->start_mark, "%s: expected a mapping (key: value), got %s",
			what, node_kind(n));
		return;
	}
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
	     p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(&ld->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(&ld->doc, p->value);
		const char *key;
		unsigned i;

		if (!k || !v)
			continue;
		key = scalar(ld, k, what, "a key");
		if (!key)
			continue;
		for (i = 0; i < nfields; i++)
			if (!strcmp(key, fields[i].key))
				break;
		if (i == nfields) {
			char list[256];
			size_t len = 0;

			for (unsigned j = 0; j < nfields && len < sizeof(list); j++)
				len += (size_t)snprintf(list + len, sizeof(list) - len,
							"%s%s", j ? ", " : "",
							fields[j].key);
			problem(ld, &k->start_mark,
				"unknown key '%s' in %s (expected %s)", key, what, list);
			continue;
		}
		if (seen_mask & (1u << i)) {
			problem(ld, &k->start_mark,
				"duplicate key '%s' in %s (first at %lu:%lu)", key, what,
				(unsigned long)seen[i].line + 1,
				(unsigned long)seen[i].column + 1);
			continue;
		}
		seen_mask |= 1u << i;
		seen[i] = k->start_mark;
		load_value(ld, &fields[i], v, base);
	}
}

static void load_listeners(struct loader *ld, yaml_node_t *n)
{
	struct rp_config *cfg = ld->cfg;
	bool too_many = false;

	if (n->type != YAML_SEQUENCE_NODE) {
		problem(ld, &n->start_mark, "listeners: expected a list, got %s",
			node_kind(n));
		return;
	}
	for (yaml_node_item_t *it = n->data.sequence.items.start;
	     it < n->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_document_get_node(&ld->doc, *it);
		struct rp_listener_config *l;

		if (!item)
			continue;
		if (cfg->nlisteners == RP_MAX_LISTENERS) {
			if (!too_many)
				problem(ld, &item->start_mark,
					"too many listeners (at most %d)",
					RP_MAX_LISTENERS);
			too_many = true;
			continue;
		}
		l = &cfg->listeners[cfg->nlisteners];
		rp_listener_config_init(l);
		ld->have_bind = ld->have_cluster = false;
		/* Set when a valid bind and cluster are found. */
		ld->lbind_mark[cfg->nlisteners].line = (size_t)-1;
		ld->lcluster_bad[cfg->nlisteners] = true;
		load_map(ld, item, listener_fields, NFIELDS(listener_fields), (char *)l,
			 "a listener");
		if (item->type == YAML_MAPPING_NODE) {
			if (!ld->have_bind)
				problem(ld, &item->start_mark,
					"listener without 'bind' (its address)");
			if (!ld->have_cluster)
				problem(ld, &item->start_mark,
					"listener without 'cluster' (where it forwards)");
		}
		/* Kept even when broken, so later listeners keep their places;
		 * the problem count says the result is unusable. */
		cfg->nlisteners++;
	}
}

static void load_backends(struct loader *ld, yaml_node_t *n, struct rp_cluster_config *cl)
{
	bool too_many = false;

	if (n->type != YAML_SEQUENCE_NODE) {
		problem(ld, &n->start_mark,
			"backends: expected a list of IP:PORT or {address, weight}, got "
			"%s",
			node_kind(n));
		return;
	}
	ld->backends_empty = n->data.sequence.items.top == n->data.sequence.items.start;
	for (yaml_node_item_t *it = n->data.sequence.items.start;
	     it < n->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_document_get_node(&ld->doc, *it);
		struct backend_in b = {.weight = 1};
		char a[RP_ADDRSTRLEN], o[RP_ADDRSTRLEN];
		unsigned before = ld->problems;

		if (!item)
			continue;
		if (cl->nbackends == RP_MAX_BACKENDS) {
			if (!too_many)
				problem(ld, &item->start_mark,
					"cluster '%s': too many backends (at most %d)",
					cl->name, RP_MAX_BACKENDS);
			too_many = true;
			continue;
		}
		if (item->type == YAML_SCALAR_NODE) {
			load_value(ld, &backend_fields[0], item, (char *)&b);
		} else if (item->type == YAML_MAPPING_NODE) {
			bool had = false;

			for (yaml_node_pair_t *p = item->data.mapping.pairs.start;
			     p < item->data.mapping.pairs.top; p++) {
				yaml_node_t *k = yaml_document_get_node(&ld->doc, p->key);

				if (k && k->type == YAML_SCALAR_NODE &&
				    !strcmp((const char *)k->data.scalar.value,
					    "address"))
					had = true;
			}
			load_map(ld, item, backend_fields, NFIELDS(backend_fields),
				 (char *)&b, "a backend");
			if (!had)
				problem(ld, &item->start_mark,
					"backend without 'address'");
		} else {
			problem(ld, &item->start_mark,
				"backend: expected IP:PORT or {address, weight}, got %s",
				node_kind(item));
		}
		if (ld->problems != before)
			continue;
		/* Backends are known by address (balancer identity): one
		 * address twice would be one backend counted twice. */
		rp__addr_format(&b.addr, a, sizeof(a));
		for (unsigned j = 0; j < cl->nbackends; j++) {
			if (strcmp(a, rp__addr_format(&cl->backends[j], o, sizeof(o))))
				continue;
			problem(ld, &item->start_mark,
				"cluster '%s': duplicate backend %s (first at %lu:%lu)",
				cl->name, a, (unsigned long)ld->backend_mark[j].line + 1,
				(unsigned long)ld->backend_mark[j].column + 1);
			break;
		}
		if (ld->problems != before)
			continue;
		ld->backend_mark[cl->nbackends] = item->start_mark;
		cl->backends[cl->nbackends] = b.addr;
		cl->weights[cl->nbackends] = b.weight;
		cl->nbackends++;
	}
}

static void load_clusters(struct loader *ld, yaml_node_t *n)
{
	struct rp_config *cfg = ld->cfg;
	bool too_many = false;

	if (n->type != YAML_MAPPING_NODE) {
		problem(ld, &n->start_mark,
			"clusters: expected a mapping of names to clusters, got %s",
			node_kind(n));
		return;
	}
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
	     p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(&ld->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(&ld->doc, p->value);
		struct rp_cluster_config *cl;
		const char *name;
		bool dup = false;

		if (!k || !v)
			continue;
		name = scalar(ld, k, "clusters", "a cluster name");
		if (!name)
			continue;
		if (!*name || strlen(name) >= RP_CLUSTER_NAME) {
			problem(ld, &k->start_mark,
				"cluster name must be 1 to %d characters, got '%s'",
				RP_CLUSTER_NAME - 1, name);
			continue;
		}
		for (unsigned i = 0; i < cfg->nclusters && !dup; i++) {
			if (strcmp(cfg->clusters[i].name, name))
				continue;
			problem(ld, &k->start_mark,
				"duplicate cluster name '%s' (first at %lu:%lu)", name,
				(unsigned long)ld->cluster_mark[i].line + 1,
				(unsigned long)ld->cluster_mark[i].column + 1);
			dup = true;
		}
		if (dup)
			continue;
		if (cfg->nclusters == RP_MAX_CLUSTERS) {
			if (!too_many)
				problem(ld, &k->start_mark,
					"too many clusters (at most %d)",
					RP_MAX_CLUSTERS);
			too_many = true;
			continue;
		}
		cl = &cfg->clusters[cfg->nclusters];
		rp_cluster_config_init(cl, name);
		ld->cluster_mark[cfg->nclusters] = k->start_mark;
		ld->have_backends = ld->backends_empty = false;
		load_map(ld, v, cluster_fields, NFIELDS(cluster_fields), (char *)cl,
			 "a cluster");
		if (v->type == YAML_MAPPING_NODE && !ld->have_backends)
			problem(ld, &k->start_mark,
				"cluster '%s' has no backends: give backends: [IP:PORT, "
				"...]",
				name);
		else if (ld->backends_empty)
			problem(ld, &k->start_mark,
				"cluster '%s': the backend list is empty", name);
		cfg->nclusters++;
	}
}

/* After the walk: names to indices, duplicates, what must be there. */
static void resolve(struct loader *ld, const yaml_node_t *root)
{
	struct rp_config *cfg = ld->cfg;

	for (unsigned i = 0; i < cfg->nlisteners; i++) {
		struct rp_listener_config *l = &cfg->listeners[i];
		char a[RP_ADDRSTRLEN], o[RP_ADDRSTRLEN];
		unsigned k;

		if (!ld->lcluster_bad[i]) {
			for (k = 0; k < cfg->nclusters; k++)
				if (!strcmp(cfg->clusters[k].name, ld->lcluster[i]))
					break;
			if (k == cfg->nclusters)
				problem(ld, &ld->lcluster_mark[i],
					"cluster: unknown cluster '%s'%s",
					ld->lcluster[i],
					cfg->nclusters ? ""
						       : " (no clusters are defined)");
			else
				l->cluster = k;
		}
		if (ld->lbind_mark[i].line == (size_t)-1 || !l->addr.len)
			continue;
		rp__addr_format(&l->addr, a, sizeof(a));
		for (unsigned j = 0; j < i; j++) {
			if (ld->lbind_mark[j].line == (size_t)-1 ||
			    !cfg->listeners[j].addr.len)
				continue;
			if (strcmp(a, rp__addr_format(&cfg->listeners[j].addr, o,
						      sizeof(o))))
				continue;
			problem(ld, &ld->lbind_mark[i],
				"bind: duplicate listener address %s (first at %lu:%lu)",
				a, (unsigned long)ld->lbind_mark[j].line + 1,
				(unsigned long)ld->lbind_mark[j].column + 1);
			break;
		}
	}
	if (!cfg->nlisteners)
		problem(ld, &root->start_mark,
			"no listeners: give listeners: [{bind: IP:PORT, cluster: NAME}]");
	if (!cfg->nclusters)
		problem(ld, &root->start_mark,
			"no clusters: give clusters: {NAME: {backends: [IP:PORT]}}");
}

int rp__config_load_buffer(const char *name, const void *buf, size_t len,
			   struct rp_config *cfg, rp_config_report_fn report, void *arg)
{
	struct loader *ld;
	yaml_parser_t parser;
	yaml_node_t *root;
	int ret;

	rp_config_init(cfg);
	ld = calloc(1, sizeof(*ld));
	if (!ld)
		return -ENOMEM;
	ld->name = name;
	ld->cfg = cfg;
	ld->report = report;
	ld->arg = arg;
	if (!yaml_parser_initialize(&parser)) {
		free(ld);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, buf, len);
	if (!yaml_parser_load(&parser, &ld->doc)) {
		if (parser.error == YAML_MEMORY_ERROR) {
			ret = -ENOMEM;
			goto out_parser;
		}
		if (parser.context)
			problem(ld, &parser.problem_mark, "YAML syntax error: %s (%s)",
				parser.problem ? parser.problem : "malformed",
				parser.context);
		else
			problem(ld, &parser.problem_mark, "YAML syntax error: %s",
				parser.problem ? parser.problem : "malformed");
		ret = (int)ld->problems;
		goto out_parser;
	}
	root = yaml_document_get_root_node(&ld->doc);
	if (!root) {
		yaml_mark_t start = {0};

		problem(ld, &start, "empty configuration: give listeners and clusters");
	} else {
		load_map(ld, root, global_fields, NFIELDS(global_fields), (char *)cfg,
			 "the top level");
		if (root->type == YAML_MAPPING_NODE)
			resolve(ld, root);
	}
	if (root) {
		yaml_document_t next;

		/* A second document would be silently ignored: refuse it. */
		if (yaml_parser_load(&parser, &next)) {
			yaml_node_t *r2 = yaml_document_get_root_node(&next);

			if (r2)
				problem(ld, &r2->start_mark,
					"only one YAML document is allowed per file");
			yaml_document_delete(&next);
		} else if (parser.error == YAML_MEMORY_ERROR) {
			ret = -ENOMEM;
			yaml_document_delete(&ld->doc);
			goto out_parser;
		} else {
			problem(ld, &parser.problem_mark, "YAML syntax error: %s",
				parser.problem ? parser.problem : "malformed");
		}
	}
	yaml_document_delete(&ld->doc);
	ret = (int)ld->problems;
out_parser:
	yaml_parser_delete(&parser);
	free(ld);
	return ret;
}

int rp__config_load_file(const char *path, struct rp_config *cfg,
			 rp_config_report_fn report, void *arg)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;
	int ret;

	if (!f) {
		char msg[256];

		rp_config_init(cfg);
		snprintf(msg, sizeof(msg), "cannot read: %s", strerror(errno));
		report(arg, path, 0, 0, msg);
		return 1;
	}
	buf = malloc(RP_CONFIG_MAX_FILE + 1);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(buf, 1, RP_CONFIG_MAX_FILE + 1, f);
	if (ferror(f) || n > RP_CONFIG_MAX_FILE) {
		rp_config_init(cfg);
		report(arg, path, 0, 0,
		       ferror(f) ? "cannot read it" : "too large (at most 1 MiB)");
		ret = 1;
	} else {
		ret = rp__config_load_buffer(path, buf, n, cfg, report, arg);
	}
	free(buf);
	fclose(f);
	return ret;
}
