/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mosh-helper.conf: the configuration every program reads (libconfig).
 * Loading validates every key, refuses unknown ones, and reports the file,
 * line and reason of the first problem. Pure: no sockets.
 */
#ifndef MH_CONFIG_H
#define MH_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define MH_DEFAULT_CONFIG "/etc/mosh-helper.conf"
#define MH_SUN_PATH_MAX 108

#define MH_GATEWAYS_MAX      8     /* gateways a relay announces to */
#define MH_GATEWAY_TEXT_MAX  64    /* "[V6]:PORT" with its NUL */
#define MH_RELAY_SERVERS_MAX 16    /* relay_servers */
#define MH_RELAY_ADDRS_MAX   4     /* relay_addresses */
#define MH_RELAY_NAME_MAX    64    /* the wire's name field */
#define MH_RELAY_DEFAULT_PORT 7710

struct mh_port_range {
	uint16_t low, high;
};

struct mh_config {
	uint16_t port_low, port_high;      /* ports = "60000-61000"; */
	bool reserve_ports;                /* the range (and public port) out of the ephemeral allocator */
	bool local_flows;                  /* opt-in: non-session range ports may send to anyone */
	unsigned idle_timeout;             /* s: pinhole lifetime without inbound datagrams */
	unsigned handshake_timeout;        /* s: announced session never contacted */
	unsigned session_timeout;          /* s: session with no pinhole is forgotten */
	unsigned candidate_lifetime;       /* s: authentic new source awaits mosh-server's reply */
	char control_socket[MH_SUN_PATH_MAX];
	char server_path[PATH_MAX];        /* the real mosh-server, run by the hook */
	unsigned max_sessions;             /* global quota */
	unsigned max_sessions_per_user;    /* per-uid quota */
	unsigned crowded_port_lookups;     /* per-uid socket lookups/s, crowded ports (0: no limit) */
	unsigned max_pinholes_per_session;
	uint16_t queue_num;                /* NFQUEUE number */
	unsigned queue_maxlen;             /* kernel queue length (packets) */
	unsigned slow_path_rate;           /* datagrams/s admitted to the queue per direction */
	unsigned slow_path_rate_per_source; /* datagrams/s one source (IPv6: /64) may queue; 0 = no limit */
	unsigned slow_path_rate_per_session; /* datagrams/s one session port may queue, per direction; 0 = no limit */
	unsigned hook_timeout;             /* s: the hook waits this long for the daemon */
	/* Site defaults for every mosh-server the hook starts (mosh #1314,
	 * #439, #345); the daemon does not use them. */
	struct mh_port_range server_ports; /* "LOW-HIGH" inside ports: -p when none is
					      given, others refused; 0-0: "" (off) */
	unsigned server_network_timeout;   /* s: MOSH_SERVER_NETWORK_TMOUT at most this; 0 = off */
	char table[64];                    /* nftables table name (family inet) */
	int table_flags;                   /* MH_TABLE_FLAGS_*: owned + persistent if the kernel can */
	unsigned accept_mark;              /* bits ORed into the mark of what the table lets on; 0 = off */
	int log_level;                     /* MH_LOG_* */
	/* single_port = { enable = true; port = 60000; };  (mosh #295) */
	bool single_port;
	uint16_t public_port;
	/* Audit trail: each an absolute path, or "" for off. */
	char audit_log[PATH_MAX];          /* JSON lines, one event each */
	char key_log[PATH_MAX];            /* "<port> <key> bound=..." lines, 0600; for review only */
	bool keyless;                      /* no session key reaches the daemon (issue 16) */
	char slowpath_pcap[PATH_MAX];      /* every queued datagram, with verdicts in audit_log */
	/* Hardening after start-up (nfq-helper/process/harden.c). */
	char user[33];                     /* "" keeps the starting uid; else run as this user */
	bool user_default;                 /* user not set: MH_DEFAULT_USER if it exists */
	bool seccomp;                      /* syscall filter (kills on anything unexpected) */
	/* Perimeter gateway (deployment 3): this daemon's part in it. */
	int role;                          /* enum mh_role */
	/* TLS between relay and gateway: absolute paths, "" if not set. */
	char tls_ca[PATH_MAX];             /* the site CA (PEM) */
	char tls_cert[PATH_MAX];           /* this daemon's certificate (PEM) */
	char tls_key[PATH_MAX];            /* its private key (PEM) */
	char tls_crl[PATH_MAX];            /* the site CA's CRL (PEM); "" = none */
	/* role = relay: the gateways every session is announced to */
	unsigned n_gateways;
	char gateways[MH_GATEWAYS_MAX][MH_GATEWAY_TEXT_MAX]; /* "ADDR:PORT", "[V6]:PORT" */
	int gateway_ack;                   /* MH_ACK_ALL / MH_ACK_ANY */
	unsigned gateway_timeout;          /* ms: the hook's reply waits this long for them */
	char relay_name[MH_RELAY_NAME_MAX + 1]; /* HELLO's name; "" = the host name */
	unsigned relay_heartbeat;          /* s between HEARTBEATs to each gateway */
	unsigned n_relay_addresses;        /* server addresses of sessions whose socket */
	char relay_addresses[MH_RELAY_ADDRS_MAX][MH_GATEWAY_TEXT_MAX]; /* is bound to the wildcard */
	/* role = gateway: the relay listener (nfq-helper/intake/gwlisten.c) */
	char relay_listen[64];             /* "ADDR:PORT", "[ADDR6]:PORT" */
	unsigned relay_max_connections;    /* relay connections open at once */
	unsigned relay_handshake_timeout;  /* s: TCP accept to HELLO */
	/* The gateway's core (nfq-helper/lifecycle/gwcore.c) */
	unsigned relay_orphan_grace;       /* s: a gone relay's sessions live on this long */
	unsigned max_sessions_per_relay;   /* gateway: sessions one relay may hold */
	unsigned n_relay_servers;          /* gateway: prefixes every session's server */
	char relay_servers[MH_RELAY_SERVERS_MAX][MH_GATEWAY_TEXT_MAX]; /* address is in */
	unsigned relay_resync_grace;       /* s: sessions a resync left out live on this long */
};

/* role: "host" (the default: this host's own table), "relay" (a login
 * server that announces its sessions to the gateways), "gateway" (the
 * site firewall's forward table, fed by the relays). */
enum mh_role { MH_ROLE_HOST, MH_ROLE_RELAY, MH_ROLE_GATEWAY };
/* gateway_ack: the hook's answer waits for every gateway, or for one. */
enum { MH_ACK_ALL, MH_ACK_ANY };
#define MH_GATEWAY_TABLE "mosh_helper_gw"   /* role = gateway, table not set */
#define MH_DEFAULT_RELAY_LISTEN "[::]:7710"   /* every address, port 7710 */

/* table_flags = "auto": owner + persist where the kernel has both (else
 * rebuilt when deleted or flushed); "none": never owned, always the
 * rebuild (for a kernel without persist, or to test that path). */
enum { MH_TABLE_FLAGS_AUTO, MH_TABLE_FLAGS_NONE };
#define MH_DEFAULT_ACCEPT_MARK 0x10000000u
/* The user the daemon becomes when `user` is not set, if it exists. */
#define MH_DEFAULT_USER "mosh-helper"

void mh_config_defaults(struct mh_config *c);

/* A gateway of the relay's list: "A.B.C.D", "A.B.C.D:PORT", "[V6]" or
 * "[V6]:PORT" (port 1..65535, MH_RELAY_DEFAULT_PORT when left out).
 * Fills *family (AF_INET/AF_INET6), ip (network order) and *port; 0 or
 * -EINVAL. */
int mh_config_parse_gateway(const char *s, int *family, uint8_t ip[16],
			    uint16_t *port);

/* Load and validate path over the defaults. Returns 0, or -errno with err
 * holding "FILE:LINE: reason" (or "FILE: reason" without a line). */
int mh_config_load(const char *path, struct mh_config *c, char *err,
		   size_t errlen);

/* Print the effective configuration as a valid mosh-helper.conf. */
void mh_config_print(FILE *f, const struct mh_config *c);

/* What SIGHUP does with a changed top-level key, from the key table:
 * identity keys keep their running value until a restart; live keys take
 * the new one; rebuild keys are live and the table is built from them. */
enum mh_key_apply { MH_KEY_IDENTITY, MH_KEY_LIVE, MH_KEY_REBUILD };
enum mh_key_apply mh_config_key_apply(const char *name);  /* unknown: identity */
/* What a live change means where it is not simply "in effect now", or NULL. */
const char *mh_config_key_note(const char *name);
/* The running configuration run with every live (and rebuild) key of n. */
struct mh_config mh_config_take_live(const struct mh_config *run,
				     const struct mh_config *n);
/* Whether o and n differ in a key the table is built from. */
bool mh_config_rebuild_differs(const struct mh_config *o,
			       const struct mh_config *n);

#endif
