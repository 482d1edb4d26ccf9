/*
 * TUN offload logic without I/O (tested through the addon's *ForTest exports):
 * - splitting a super-packet read with a virtio_net_hdr (TSO/USO) into MTU-sized segments,
 *   finishing partial checksums;
 * - planning GRO-like coalescing of in-order same-flow TCP segments of a write batch into
 *   GSO super-packets, and building each output frame as iovecs.
 */
#ifndef TSG_OFFLOAD_H
#define TSG_OFFLOAD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define TSG_VNET_HDR_LEN 10
#define TSG_VNET_F_NEEDS_CSUM 1
#define TSG_GSO_NONE 0
#define TSG_GSO_TCPV4 1
#define TSG_GSO_UDP 3
#define TSG_GSO_TCPV6 4
#define TSG_GSO_UDP_L4 5
#define TSG_GSO_ECN 0x80

/* Largest IP + transport header a segment template holds (60 + 60). */
#define TSG_MAX_HDR 128
/* Most packets coalesced into one GSO write (and iovecs per frame: vnet, header, payloads). */
#define TSG_GRO_MAX_SEGS 64
#define TSG_GRO_MAX_IOV (TSG_GRO_MAX_SEGS + 2)

typedef struct {
  uint8_t flags, gso_type;
  uint16_t hdr_len, gso_size, csum_start, csum_offset;
} tsg_vnet_hdr;

void tsg_vnet_parse(const uint8_t *p, tsg_vnet_hdr *h);
void tsg_vnet_write(uint8_t *p, const tsg_vnet_hdr *h);

/* Internet checksum helpers over memory bytes (native-order partial sums). */
uint64_t tsg_csum_partial(const uint8_t *p, size_t len, uint64_t sum);
/* Folds to 16 bits (not inverted), as the 2 bytes to store in memory. */
uint16_t tsg_csum_fold(uint64_t sum);

/* A super-packet being split: the source and a copy of its headers. */
typedef struct {
  const uint8_t *pkt; /* source; may be repointed to a copy of the same bytes */
  uint32_t len;
  uint32_t nsegs;
  uint32_t gso;  /* segment payload size (0 when not split) */
  uint32_t iphl; /* IP header length */
  uint32_t hl;   /* IP + transport header length (recomputed, not trusted) */
  uint8_t v6, proto, gso_type;
  uint8_t csum_only; /* one segment: finish the checksum at csum_pos, if any */
  uint32_t csum_start, csum_pos;
  uint8_t hdr[TSG_MAX_HDR];
} tsg_gso_iter;

/*
 * Prepares splitting `pkt` (the bytes after the virtio header). Returns the number of
 * segments (≥ 1), or -1 when the packet must be dropped (unsupported gso type, malformed).
 */
int tsg_gso_prepare(tsg_gso_iter *it, const uint8_t *pkt, uint32_t len, const tsg_vnet_hdr *h);
/*
 * Writes segment k into `dst` (which may be it->pkt for k = 0: only its header bytes change)
 * and returns its length. Lengths, IPv4 ID, TCP sequence/flags and checksums are fixed.
 */
uint32_t tsg_gso_segment(const tsg_gso_iter *it, uint32_t k, uint8_t *dst);

/* Coalescing plan for one write batch; arrays grow on demand and are reused. */
typedef struct {
  uint32_t cap;
  uint32_t ngroups;
  int32_t *next;   /* per packet: next member of its group, -1 at the end */
  uint32_t *first; /* per group: first packet */
  uint32_t *last;
  uint32_t *count;
  uint32_t *gso;   /* payload size of the first member */
  uint32_t *total; /* payload bytes */
  uint32_t *next_seq;
  uint8_t *state;  /* bit 0: closed, bit 1: coalescable TCP, bit 2: PSH seen */
  uint8_t *hl;     /* header length of the group's packets (IP + TCP) */
} tsg_gro_plan;

int tsg_gro_reserve(tsg_gro_plan *p, uint32_t n);
void tsg_gro_free(tsg_gro_plan *p);
/*
 * Groups packets [0, count) of a batch. Packets with len 0 or out of bounds (caller's
 * `valid` check) must be given length 0; they form groups of their own and are skipped.
 */
void tsg_gro_plan_batch(tsg_gro_plan *p, const uint8_t *data, const uint32_t *offs, const uint32_t *lens,
                        uint32_t count);
/*
 * Builds group g's frame: iov[0] the virtio header (in `vnet`), then either the single packet
 * or the merged header (in `hdr`) and each member's payload. Returns the iovec count.
 */
int tsg_gro_frame(const tsg_gro_plan *p, uint32_t g, const uint8_t *data, const uint32_t *offs,
                  const uint32_t *lens, uint8_t vnet[TSG_VNET_HDR_LEN], uint8_t hdr[TSG_MAX_HDR], struct iovec *iov);

#endif
