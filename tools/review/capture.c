/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Capture reading for mosh-helper-review: libpcap (pcap and pcapng), the
 * link layers a mosh capture comes in (Ethernet with VLAN tags, Linux
 * cooked v1/v2, raw IP, BSD loopback) stripped down to the IP header, and
 * the byte offset of every record so a broken file is reported precisely.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "review.h"

#define PCAP_FILE_HDR   24   /* pcap: file header */
#define PCAP_REC_HDR    16   /* pcap: per-record header */
#define ETH_HDR         14
#define VLAN_TAG        4
#define MAX_VLAN_TAGS   2
#define SLL_HDR         16
#define SLL2_HDR        20
#define NULL_HDR        4
#define ETHERTYPE_IPV4  0x0800
#define ETHERTYPE_IPV6  0x86dd
#define MAX_TIME_S      (INT64_C(1) << 40)   /* year 36812: beyond any real capture */

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static bool ip_ethertype(uint16_t t)
{
	return t == ETHERTYPE_IPV4 || t == ETHERTYPE_IPV6;
}

/* Offset of the IP header in a frame, or -1 if the frame carries no IP. */
static long ethernet_offset(const uint8_t *f, size_t len)
{
	size_t off = ETH_HDR;
	uint16_t type;
	int tags;

	if (len < ETH_HDR)
		return -1;
	type = rd16(f + 12);
	for (tags = 0; tags < MAX_VLAN_TAGS && (type == 0x8100 || type == 0x88a8); tags++) {
		if (len < off + VLAN_TAG)
			return -1;
		type = rd16(f + off + 2);
		off += VLAN_TAG;
	}
	return ip_ethertype(type) ? (long)off : -1;
}

static long link_offset(int dlt, const uint8_t *f, size_t len)
{
	switch (dlt) {
	case DLT_EN10MB:
		return ethernet_offset(f, len);
	case DLT_LINUX_SLL:
		return len >= SLL_HDR && ip_ethertype(rd16(f + 14)) ? SLL_HDR : -1;
	case DLT_LINUX_SLL2:
		return len >= SLL2_HDR && ip_ethertype(rd16(f)) ? SLL2_HDR : -1;
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
		return 0;
	case DLT_NULL:
	case DLT_LOOP:
		return len > NULL_HDR ? NULL_HDR : -1;
	default:
		return -1;
	}
}

static bool dlt_supported(int dlt)
{
	switch (dlt) {
	case DLT_EN10MB: case DLT_LINUX_SLL: case DLT_LINUX_SLL2:
	case DLT_RAW: case DLT_IPV4: case DLT_IPV6: case DLT_NULL: case DLT_LOOP:
		return true;
	default:
		return false;
	}
}

/* Microseconds since the epoch; a corrupt time stamp is clamped so later
 * arithmetic (differences, timeouts) cannot overflow. */
static rv_time packet_time(const struct pcap_pkthdr *h)
{
	int64_t sec = h->ts.tv_sec, usec = h->ts.tv_usec;

	if (sec < 0)
		sec = 0;
	if (sec > MAX_TIME_S)
		sec = MAX_TIME_S;
	if (usec < 0 || usec >= RV_US_PER_S)
		usec = 0;
	return sec * RV_US_PER_S + usec;
}

static void hand_over(struct rv_capture *c, int dlt,
		      const struct pcap_pkthdr *h, const uint8_t *f,
		      rv_packet_fn fn, void *ctx)
{
	struct rv_packet p;
	long off = link_offset(dlt, f, h->caplen);

	if (off < 0) {
		c->non_ip++;
		return;
	}
	p.ts = packet_time(h);
	p.l3 = f + off;
	p.l3_len = h->caplen - (size_t)off;
	p.wire_len = h->len >= (size_t)off ? h->len - (size_t)off : 0;
	p.index = c->records;
	if (c->records == 1)
		c->first = p.ts;
	c->last = p.ts;
	fn(ctx, &p);
}

static void read_failed(struct rv_capture *c, bool ng, uint64_t off,
			const char *msg)
{
	c->failed = true;
	c->has_offset = true;
	c->err_offset = off;
	snprintf(c->err, sizeof(c->err),
		 "%s: truncated or corrupt capture %s byte offset %llu (record %llu%s): %s",
		 c->path, ng ? "at or after" : "at", (unsigned long long)off,
		 (unsigned long long)c->records + 1,
		 ng ? ", pcapng block" : "", msg);
}

/* Current file position: ftell on libpcap's stream, else our own count. */
static uint64_t position(pcap_t *p, uint64_t computed)
{
	FILE *fp = pcap_file(p);
	long pos = fp ? ftell(fp) : -1;

	return pos >= 0 ? (uint64_t)pos : computed;
}

int rv_capture_read(struct rv_capture *c, rv_packet_fn fn, void *ctx)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	struct pcap_pkthdr *h;
	const u_char *data;
	uint64_t computed = PCAP_FILE_HDR, off;
	pcap_t *p;
	bool ng;
	int dlt, rc;

	p = pcap_open_offline_with_tstamp_precision(c->path,
			PCAP_TSTAMP_PRECISION_MICRO, errbuf);
	if (!p) {
		c->failed = true;
		if (access(c->path, R_OK) != 0)
			snprintf(c->err, sizeof(c->err), "%s: cannot open: %s", c->path,
				 strerror(errno));
		else
			snprintf(c->err, sizeof(c->err),
				 "%s: not a readable pcap/pcapng file, error in the file header at byte offset 0: %s",
				 c->path, errbuf);
		return -1;
	}
	dlt = pcap_datalink(p);
	ng = pcap_major_version(p) == 1;   /* pcapng section header 1.x; pcap is 2.4 */
	snprintf(c->linktype, sizeof(c->linktype), "%s",
		 pcap_datalink_val_to_name(dlt) ? pcap_datalink_val_to_name(dlt) : "?");
	if (!dlt_supported(dlt)) {
		c->failed = true;
		snprintf(c->err, sizeof(c->err), "%s: unsupported link type %d (%s)",
			 c->path, dlt, c->linktype);
		pcap_close(p);
		return -1;
	}
	for (;;) {
		off = position(p, computed);
		rc = pcap_next_ex(p, &h, &data);
		if (rc != 1)
			break;
		c->records++;
		computed += PCAP_REC_HDR + h->caplen;
		hand_over(c, dlt, h, data, fn, ctx);
	}
	if (rc == PCAP_ERROR)
		read_failed(c, ng, off, pcap_geterr(p));
	pcap_close(p);
	return c->failed ? -1 : 0;
}
