/*
 * TUN offloads without I/O: TSO/USO split on read, TCP GRO-like coalescing on write
 * (see offload.h). Mirrors what the kernel's tcp_gso_segment / tcp_gro_receive do.
 */
#include "offload.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_CWR 0x80

#define G_CLOSED 1
#define G_TCPFLOW 2
#define G_MERGE 4
#define G_PSH 8
/* Groups looked at (newest first) when finding a packet's flow. */
#define GRO_SCAN 8
#define IP_MAX 65535u

static uint16_t rd16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static uint32_t rd32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static void wr16(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static void wr32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}
static uint16_t rdle16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static void wrle16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}

void tsg_vnet_parse(const uint8_t *p, tsg_vnet_hdr *h) {
  h->flags = p[0];
  h->gso_type = p[1];
  h->hdr_len = rdle16(p + 2);
  h->gso_size = rdle16(p + 4);
  h->csum_start = rdle16(p + 6);
  h->csum_offset = rdle16(p + 8);
}

void tsg_vnet_write(uint8_t *p, const tsg_vnet_hdr *h) {
  p[0] = h->flags;
  p[1] = h->gso_type;
  wrle16(p + 2, h->hdr_len);
  wrle16(p + 4, h->gso_size);
  wrle16(p + 6, h->csum_start);
  wrle16(p + 8, h->csum_offset);
}

uint64_t tsg_csum_partial(const uint8_t *p, size_t len, uint64_t sum) {
  while (len >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    sum += (w & 0xffffffffu) + (w >> 32);
    p += 8;
    len -= 8;
  }
  if (len >= 4) {
    uint32_t w;
    memcpy(&w, p, 4);
    sum += w;
    p += 4;
    len -= 4;
  }
  if (len >= 2) {
    uint16_t w;
    memcpy(&w, p, 2);
    sum += w;
    p += 2;
    len -= 2;
  }
  if (len) {
    uint16_t w = 0;
    memcpy(&w, p, 1); /* the odd byte, padded with a zero byte in memory order */
    sum += w;
  }
  return sum;
}

uint16_t tsg_csum_fold(uint64_t s) {
  s = (s & 0xffffffffu) + (s >> 32);
  s = (s & 0xffffffffu) + (s >> 32);
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return (uint16_t)s;
}

static void store_csum(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }

/* Pseudo-header sum for an L4 segment of `l4len` bytes (≤ 65535). */
static uint64_t pseudo_sum(const uint8_t *ip, int v6, uint8_t proto, uint32_t l4len) {
  uint64_t s = v6 ? tsg_csum_partial(ip + 8, 32, 0) : tsg_csum_partial(ip + 12, 8, 0);
  return s + htons(proto) + htons((uint16_t)l4len);
}

static void ipv4_fix_csum(uint8_t *ip, uint32_t iphl) {
  ip[10] = ip[11] = 0;
  store_csum(ip + 10, (uint16_t)~tsg_csum_fold(tsg_csum_partial(ip, iphl, 0)));
}

int tsg_gso_prepare(tsg_gso_iter *it, const uint8_t *pkt, uint32_t len, const tsg_vnet_hdr *h) {
  it->pkt = pkt;
  it->len = len;
  it->nsegs = 1;
  it->gso = 0;
  it->csum_only = 0;
  uint8_t type = h->gso_type & (uint8_t)~TSG_GSO_ECN;
  if (type == TSG_GSO_NONE) {
    if (h->flags & TSG_VNET_F_NEEDS_CSUM) {
      uint32_t cs = h->csum_start, pos = (uint32_t)h->csum_start + h->csum_offset;
      if (cs >= len || pos + 2 > len) return -1;
      it->csum_only = 1;
      it->csum_start = cs;
      it->csum_pos = pos;
    }
    return len > 0 ? 1 : -1;
  }
  if (len < 20) return -1;
  uint32_t iphl;
  uint8_t proto, v6;
  if ((pkt[0] >> 4) == 4) {
    iphl = (uint32_t)(pkt[0] & 15) * 4;
    if (iphl < 20 || iphl > len || (pkt[6] & 0x3f) || pkt[7]) return -1; /* a fragment is never GSO */
    proto = pkt[9];
    v6 = 0;
  } else if ((pkt[0] >> 4) == 6) {
    if (len < 40) return -1;
    iphl = 40; /* extension headers are not supported: dropped below */
    proto = pkt[6];
    v6 = 1;
  } else {
    return -1;
  }
  if (type == TSG_GSO_TCPV4) {
    if (v6 || proto != 6) return -1;
  } else if (type == TSG_GSO_TCPV6) {
    if (!v6 || proto != 6) return -1;
  } else if (type == TSG_GSO_UDP_L4) {
    if (proto != 17) return -1;
  } else {
    return -1;
  }
  uint32_t l4hl = 8;
  if (proto == 6) {
    if (iphl + 20 > len) return -1;
    l4hl = (uint32_t)(pkt[iphl + 12] >> 4) * 4;
    if (l4hl < 20) return -1;
  }
  uint32_t hl = iphl + l4hl;
  if (hl > len || hl > TSG_MAX_HDR || h->gso_size == 0) return -1;
  it->gso = h->gso_size;
  it->iphl = iphl;
  it->hl = hl;
  it->v6 = v6;
  it->proto = proto;
  it->gso_type = type;
  memcpy(it->hdr, pkt, hl);
  uint32_t plen = len - hl;
  it->nsegs = plen == 0 ? 1 : (plen + it->gso - 1) / it->gso;
  return (int)it->nsegs;
}

uint32_t tsg_gso_segment(const tsg_gso_iter *it, uint32_t k, uint8_t *dst) {
  if (it->gso == 0) {
    if (dst != it->pkt) memcpy(dst, it->pkt, it->len);
    if (it->csum_only) {
      /* The field holds the pseudo-header sum; the sum over [csum_start, end) completes it. */
      uint16_t c = (uint16_t)~tsg_csum_fold(tsg_csum_partial(dst + it->csum_start, it->len - it->csum_start, 0));
      store_csum(dst + it->csum_pos, c);
    }
    return it->len;
  }
  uint32_t hl = it->hl, iphl = it->iphl;
  uint32_t plen = it->len - hl, off = k * it->gso;
  uint32_t p = plen - off < it->gso ? plen - off : it->gso;
  memcpy(dst, it->hdr, hl);
  if (dst + hl != it->pkt + hl + off) memmove(dst + hl, it->pkt + hl + off, p);
  uint32_t l4len = hl - iphl + p;
  if (it->v6) {
    wr16(dst + 4, l4len);
  } else {
    wr16(dst + 2, hl + p);
    wr16(dst + 4, (uint32_t)rd16(it->hdr + 4) + k);
    ipv4_fix_csum(dst, iphl);
  }
  uint8_t *l4 = dst + iphl;
  uint64_t sum = pseudo_sum(dst, it->v6, it->proto, l4len);
  if (it->proto == 6) {
    wr32(l4 + 4, rd32(it->hdr + iphl + 4) + off);
    if (k != it->nsegs - 1) l4[13] &= (uint8_t)~(TCP_FIN | TCP_PSH);
    if (k != 0) l4[13] &= (uint8_t)~TCP_CWR;
    l4[16] = l4[17] = 0;
    store_csum(l4 + 16, (uint16_t)~tsg_csum_fold(tsg_csum_partial(l4, l4len, sum)));
  } else {
    wr16(l4 + 4, l4len);
    l4[6] = l4[7] = 0;
    uint16_t c = (uint16_t)~tsg_csum_fold(tsg_csum_partial(l4, l4len, sum));
    store_csum(l4 + 6, c == 0 ? 0xffff : c);
  }
  return hl + p;
}

/* ---- coalescing ---- */

typedef struct {
  uint8_t tcp;   /* TCP with a parseable header: has a flow */
  uint8_t merge; /* may join or start a GSO group */
  uint8_t v6, flags;
  uint32_t iphl, hl, payload, seq;
} pkt_info;

static void classify(const uint8_t *pkt, uint32_t len, pkt_info *c) {
  memset(c, 0, sizeof *c);
  uint32_t iphl;
  int exact;
  if (len >= 20 && (pkt[0] >> 4) == 4) {
    iphl = (uint32_t)(pkt[0] & 15) * 4;
    if (iphl < 20 || pkt[9] != 6 || (pkt[6] & 0x3f) || pkt[7]) return;
    exact = iphl == 20 && rd16(pkt + 2) == len;
  } else if (len >= 40 && (pkt[0] >> 4) == 6) {
    iphl = 40;
    if (pkt[6] != 6) return;
    exact = (uint32_t)rd16(pkt + 4) + 40 == len;
    c->v6 = 1;
  } else {
    return;
  }
  if (iphl + 20 > len) return;
  uint32_t hl = iphl + (uint32_t)(pkt[iphl + 12] >> 4) * 4;
  if (hl < iphl + 20 || hl > len) return;
  c->tcp = 1;
  c->iphl = iphl;
  c->hl = hl;
  c->payload = len - hl;
  c->seq = rd32(pkt + iphl + 4);
  c->flags = pkt[iphl + 13];
  c->merge = exact && c->payload > 0 && hl <= TSG_MAX_HDR && (c->flags & TCP_ACK) &&
             (c->flags & (uint8_t)~(TCP_ACK | TCP_PSH)) == 0;
}

static int same_flow(const uint8_t *a, const uint8_t *b, const pkt_info *ca, const pkt_info *cb) {
  if (ca->v6 != cb->v6 || ca->iphl != cb->iphl) return 0;
  if (ca->v6 ? memcmp(a + 8, b + 8, 32) : memcmp(a + 12, b + 12, 8)) return 0;
  return memcmp(a + ca->iphl, b + cb->iphl, 4) == 0; /* ports */
}

/* Same IP fields, ACK number, window, header length and options (as tcp_gro_receive). */
static int same_headers(const uint8_t *a, const uint8_t *b, const pkt_info *ca, const pkt_info *cb) {
  if (ca->hl != cb->hl) return 0;
  if (ca->v6) {
    if (memcmp(a, b, 4) || a[7] != b[7]) return 0;
  } else if (a[1] != b[1] || a[8] != b[8] || (a[6] & 0x40) != (b[6] & 0x40)) {
    return 0;
  }
  const uint8_t *ta = a + ca->iphl, *tb = b + cb->iphl;
  if (memcmp(ta + 8, tb + 8, 5) || memcmp(ta + 14, tb + 14, 2)) return 0; /* ack, offset, window */
  return memcmp(ta + 20, tb + 20, ca->hl - ca->iphl - 20) == 0;
}

int tsg_gro_reserve(tsg_gro_plan *p, uint32_t n) {
  if (n <= p->cap) return 1;
  tsg_gro_free(p);
  p->next = malloc(n * sizeof *p->next);
  p->first = malloc(n * sizeof *p->first);
  p->last = malloc(n * sizeof *p->last);
  p->count = malloc(n * sizeof *p->count);
  p->gso = malloc(n * sizeof *p->gso);
  p->total = malloc(n * sizeof *p->total);
  p->next_seq = malloc(n * sizeof *p->next_seq);
  p->state = malloc(n);
  p->hl = malloc(n);
  if (!p->next || !p->first || !p->last || !p->count || !p->gso || !p->total || !p->next_seq || !p->state ||
      !p->hl) {
    tsg_gro_free(p);
    return 0;
  }
  p->cap = n;
  return 1;
}

void tsg_gro_free(tsg_gro_plan *p) {
  free(p->next);
  free(p->first);
  free(p->last);
  free(p->count);
  free(p->gso);
  free(p->total);
  free(p->next_seq);
  free(p->state);
  free(p->hl);
  memset(p, 0, sizeof *p);
}

void tsg_gro_plan_batch(tsg_gro_plan *p, const uint8_t *data, const uint32_t *offs, const uint32_t *lens,
                        uint32_t count) {
  p->ngroups = 0;
  for (uint32_t i = 0; i < count; i++) {
    p->next[i] = -1;
    const uint8_t *pkt = data + offs[i];
    pkt_info c;
    if (lens[i] == 0) memset(&c, 0, sizeof c);
    else classify(pkt, lens[i], &c);
    int64_t sel = -1;
    if (c.tcp) {
      uint32_t steps = 0;
      for (int64_t g = (int64_t)p->ngroups - 1; g >= 0 && steps < GRO_SCAN; g--, steps++) {
        if (!(p->state[g] & G_TCPFLOW)) continue;
        const uint8_t *fp = data + offs[p->first[g]];
        pkt_info fc;
        classify(fp, lens[p->first[g]], &fc);
        if (!same_flow(fp, pkt, &fc, &c)) continue;
        /* The flow's newest group: join it, or close it so later packets cannot pass this one. */
        if (c.merge && (p->state[g] & (G_CLOSED | G_MERGE)) == G_MERGE && c.seq == p->next_seq[g] &&
            c.payload <= p->gso[g] && p->count[g] < TSG_GRO_MAX_SEGS &&
            (uint64_t)c.hl + p->total[g] + c.payload <= IP_MAX && same_headers(fp, pkt, &fc, &c))
          sel = g;
        else
          p->state[g] |= G_CLOSED;
        break;
      }
    }
    if (sel >= 0) {
      uint32_t g = (uint32_t)sel;
      p->next[p->last[g]] = (int32_t)i;
      p->last[g] = i;
      p->count[g]++;
      p->total[g] += c.payload;
      p->next_seq[g] += c.payload;
      if (c.flags & TCP_PSH) p->state[g] |= G_PSH | G_CLOSED;
      if (c.payload < p->gso[g]) p->state[g] |= G_CLOSED;
      continue;
    }
    uint32_t g = p->ngroups++;
    p->first[g] = p->last[g] = i;
    p->count[g] = 1;
    p->gso[g] = c.payload;
    p->total[g] = c.payload;
    p->next_seq[g] = c.seq + c.payload;
    p->hl[g] = (uint8_t)(c.merge ? c.hl : 0);
    uint8_t st = c.tcp ? G_TCPFLOW : 0;
    st |= c.merge ? G_MERGE : G_CLOSED;
    if (c.flags & TCP_PSH) st |= G_PSH | G_CLOSED;
    p->state[g] = st;
  }
}

int tsg_gro_frame(const tsg_gro_plan *p, uint32_t g, const uint8_t *data, const uint32_t *offs,
                  const uint32_t *lens, uint8_t vnet[TSG_VNET_HDR_LEN], uint8_t hdr[TSG_MAX_HDR], struct iovec *iov) {
  uint32_t f = p->first[g];
  memset(vnet, 0, TSG_VNET_HDR_LEN);
  iov[0].iov_base = vnet;
  iov[0].iov_len = TSG_VNET_HDR_LEN;
  if (p->count[g] == 1) {
    iov[1].iov_base = (void *)(data + offs[f]);
    iov[1].iov_len = lens[f];
    return 2;
  }
  const uint8_t *pkt = data + offs[f];
  int v6 = (pkt[0] >> 4) == 6;
  uint32_t iphl = v6 ? 40 : 20, hl = p->hl[g];
  uint32_t l4len = hl - iphl + p->total[g];
  memcpy(hdr, pkt, hl);
  if (v6) {
    wr16(hdr + 4, l4len);
  } else {
    wr16(hdr + 2, hl + p->total[g]);
    ipv4_fix_csum(hdr, iphl);
  }
  uint8_t *th = hdr + iphl;
  if (p->state[g] & G_PSH) th[13] |= TCP_PSH;
  /* CHECKSUM_PARTIAL convention: the field holds the (uninverted) pseudo-header sum. */
  th[16] = th[17] = 0;
  store_csum(th + 16, tsg_csum_fold(pseudo_sum(hdr, v6, 6, l4len)));
  tsg_vnet_hdr h = {TSG_VNET_F_NEEDS_CSUM, v6 ? TSG_GSO_TCPV6 : TSG_GSO_TCPV4, (uint16_t)hl, (uint16_t)p->gso[g],
                    (uint16_t)iphl, 16};
  tsg_vnet_write(vnet, &h);
  iov[1].iov_base = hdr;
  iov[1].iov_len = hl;
  int n = 2;
  for (int32_t m = (int32_t)f; m >= 0; m = p->next[m]) {
    iov[n].iov_base = (void *)(data + offs[m] + hl);
    iov[n].iov_len = lens[m] - hl;
    n++;
  }
  return n;
}
