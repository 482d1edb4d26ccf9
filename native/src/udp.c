/*
 * UDP over IPv4 and IPv6 on one port: a pair of non-blocking sockets (IPV6_V6ONLY), batch
 * receive with recvmmsg into JS-owned buffers (uv_poll per socket), batch send with
 * sendmmsg, SO_MARK, 7 MiB buffers, and sticky source addresses via IP(V6)_PKTINFO.
 * Endpoint records follow src/io/endpoint.ts (48 bytes).
 *
 * Offloads: UDP GSO on send (runs of equal-size datagrams to one endpoint in one message
 * with a UDP_SEGMENT cmsg; EIO disables it for good) and UDP GRO on receive (coalesced
 * datagrams split back into one batch entry per datagram by the cmsg's segment size).
 *
 * Sticky sources are dropped on route change (conformance E7, F15 d): a NETLINK_ROUTE socket
 * bumps a route generation on every IPv4/IPv6 route event; received records carry the
 * generation they were learned in, and a record whose source is older is sent without it
 * (reported as ST_SOURCE_CLEARED, so the peer forgets it), letting the kernel pick the route.
 */
#include "common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/udp.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define EP_SIZE 48
#define EP_FAMILY 0
#define EP_FLAGS 1
#define EP_PORT 2
#define EP_SCOPE 4
#define EP_ADDR 8
#define EP_LOCAL 24
#define EP_IFINDEX 40
#define EP_ROUTE_GEN 44
#define EP_FLAG_LOCAL 1

/* Per-packet send status bits (udpSend's status array). */
#define ST_DROPPED 1
#define ST_SOURCE_CLEARED 2

#define SOCK_BUF (7 << 20)
#define CTL_LEN 96
#ifndef SOL_UDP
#define SOL_UDP 17
#endif
/* GSO limits: segments per send (UDP_MAX_SEGMENTS on older kernels) and payload bytes
   (an IPv6 UDP datagram's payload length minus the UDP header, with IPv4 room to spare). */
#define GSO_MAX_SEGS 64
#define GSO_MAX_BYTES (65535 - 40 - 8)
#define BIND_TRIES 100

typedef union {
  char buf[CTL_LEN];
  struct cmsghdr align;
} ctl_buf;

typedef struct udp_bind udp_bind;

typedef struct {
  uv_poll_t h;
  udp_bind *b;
  int fd;
} udp_poll;

struct udp_bind {
  int fd[2]; /* [0] IPv4, [1] IPv6; -1 when absent */
  udp_poll *poll[2];
  udp_poll *route_poll; /* route-change watch (fd: NETLINK_ROUTE), NULL when unavailable */
  uint32_t route_gen;
  uint16_t port;
  uint32_t mark;
  int started, closed, finalized, open_polls;
  int gso_on, gso_broken; /* requested; refused with EIO once (then off for good) */
  int gro_on, gro_active; /* requested; accepted by the kernel on the current sockets */
  napi_env env;
  napi_async_context actx;
  napi_ref cb, data_ref, offs_ref, lens_ref, eps_ref;
  uint8_t *data, *eps;
  uint32_t *offs, *lens;
  uint32_t capacity, slot_size, headroom, max_packet;
  /* receive scratch, sized to capacity at start */
  struct mmsghdr *rmsg;
  struct iovec *riov;
  struct sockaddr_in6 *raddr; /* large enough for both families */
  ctl_buf *rctl;
  /* send scratch, grown on demand */
  uint32_t scap;
  struct mmsghdr *smsg;
  struct iovec *siov;
  struct sockaddr_in6 *saddr;
  ctl_buf *sctl;
  uint32_t *sidx;
  uint32_t *mfirst, *mcount; /* per message: first packet in sidx/siov, packets */
};

static void udp_maybe_free(udp_bind *b) {
  if (!b->finalized || b->open_polls) return;
  free(b->rmsg);
  free(b->riov);
  free(b->raddr);
  free(b->rctl);
  free(b->smsg);
  free(b->siov);
  free(b->saddr);
  free(b->sctl);
  free(b->sidx);
  free(b->mfirst);
  free(b->mcount);
  free(b);
}

static void on_poll_closed(uv_handle_t *h) {
  udp_poll *p = h->data;
  udp_bind *b = p->b;
  free(p);
  b->open_polls--;
  udp_maybe_free(b);
}

static void stop_poll(udp_bind *b, int k) {
  if (!b->poll[k]) return;
  uv_poll_stop(&b->poll[k]->h);
  uv_close((uv_handle_t *)&b->poll[k]->h, on_poll_closed);
  b->poll[k] = NULL;
}

static void stop_route_watch(udp_bind *b) {
  if (!b->route_poll) return;
  int fd = b->route_poll->fd;
  uv_poll_stop(&b->route_poll->h);
  uv_close((uv_handle_t *)&b->route_poll->h, on_poll_closed);
  b->route_poll = NULL;
  close(fd);
}

static void close_sockets(udp_bind *b) {
  for (int k = 0; k < 2; k++) {
    stop_poll(b, k);
    if (b->fd[k] >= 0) close(b->fd[k]);
    b->fd[k] = -1;
  }
  b->port = 0;
}

static void del_ref(napi_env env, napi_ref *r) {
  if (*r) napi_delete_reference(env, *r);
  *r = NULL;
}

static void udp_do_close(udp_bind *b) {
  if (b->closed) return;
  b->closed = 1;
  close_sockets(b);
  stop_route_watch(b);
  del_ref(b->env, &b->cb);
  del_ref(b->env, &b->data_ref);
  del_ref(b->env, &b->offs_ref);
  del_ref(b->env, &b->lens_ref);
  del_ref(b->env, &b->eps_ref);
}

static void udp_finalize(napi_env env, void *data, void *hint) {
  udp_bind *b = data;
  udp_do_close(b);
  if (b->actx) napi_async_destroy(env, b->actx);
  b->actx = NULL;
  b->finalized = 1;
  udp_maybe_free(b);
}

static void set_buffer(int fd, int force_opt, int opt) {
  int v = SOCK_BUF;
  if (setsockopt(fd, SOL_SOCKET, force_opt, &v, sizeof v) < 0) setsockopt(fd, SOL_SOCKET, opt, &v, sizeof v);
}

/* UDP_GRO on or off (Linux ≥ 5.0); returns whether the kernel accepted it. */
static int set_gro(int fd, int on) {
  int v = on;
  return setsockopt(fd, SOL_UDP, UDP_GRO, &v, sizeof v) == 0;
}

/* Opens and binds one socket; returns 0 or errno. *port_io: requested in, bound out. */
static int open_socket(int family, uint16_t *port_io, uint32_t mark, int gro, int *out) {
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  int one = 1;
  int err = 0;
  if (family == AF_INET6) {
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0 ||
        setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one) < 0)
      err = errno;
  } else if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) < 0) {
    err = errno;
  }
  set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF);
  set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF);
  if (gro) set_gro(fd, 1); /* failure tolerated: datagrams then arrive one by one */
  if (!err && mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) < 0) err = errno;
  struct sockaddr_in6 sa;
  socklen_t sl;
  memset(&sa, 0, sizeof sa);
  if (family == AF_INET6) {
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(*port_io);
    sa.sin6_addr = in6addr_any;
    sl = sizeof(struct sockaddr_in6);
  } else {
    struct sockaddr_in *s4 = (struct sockaddr_in *)&sa;
    s4->sin_family = AF_INET;
    s4->sin_port = htons(*port_io);
    s4->sin_addr.s_addr = htonl(INADDR_ANY);
    sl = sizeof(struct sockaddr_in);
  }
  if (!err && bind(fd, (struct sockaddr *)&sa, sl) < 0) err = errno;
  if (!err && getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) err = errno;
  if (err) {
    close(fd);
    return err;
  }
  *port_io = ntohs(family == AF_INET6 ? sa.sin6_port : ((struct sockaddr_in *)&sa)->sin_port);
  *out = fd;
  return 0;
}

/*
 * Binds an IPv4+IPv6 pair on one port. Port 0: the v4 socket picks, v6 follows; retried
 * when that port is taken for v6. IPv6 failures other than EADDRINUSE leave v4 alone.
 */
static int bind_pair(uint16_t port, uint32_t mark, int gro, int fds[2], uint16_t *bound) {
  for (int attempt = 0; attempt < BIND_TRIES; attempt++) {
    uint16_t p = port;
    int fd4 = -1, fd6 = -1;
    int err = open_socket(AF_INET, &p, mark, gro, &fd4);
    if (err) return err;
    err = open_socket(AF_INET6, &p, mark, gro, &fd6);
    if (err == EADDRINUSE) {
      close(fd4);
      if (port != 0) return EADDRINUSE;
      continue;
    }
    if (err) fd6 = -1; /* IPv6 unavailable: continue with IPv4 only */
    fds[0] = fd4;
    fds[1] = fd6;
    *bound = p;
    return 0;
  }
  return EADDRINUSE;
}

static void write_le32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t read_le32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* Fills a 48-byte endpoint record from a received datagram's source and pktinfo. */
static void fill_record(uint8_t *rec, const struct sockaddr_in6 *from, struct msghdr *mh, uint32_t route_gen) {
  memset(rec, 0, EP_SIZE);
  if (from->sin6_family == AF_INET) {
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)from;
    rec[EP_FAMILY] = 4;
    memcpy(rec + EP_PORT, &s4->sin_port, 2);
    memcpy(rec + EP_ADDR, &s4->sin_addr, 4);
  } else {
    rec[EP_FAMILY] = 6;
    memcpy(rec + EP_PORT, &from->sin6_port, 2);
    write_le32(rec + EP_SCOPE, from->sin6_scope_id);
    memcpy(rec + EP_ADDR, &from->sin6_addr, 16);
  }
  for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      struct in_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof pi);
      memcpy(rec + EP_LOCAL, &pi.ipi_spec_dst, 4);
      write_le32(rec + EP_IFINDEX, (uint32_t)pi.ipi_ifindex);
      rec[EP_FLAGS] |= EP_FLAG_LOCAL;
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      struct in6_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof pi);
      memcpy(rec + EP_LOCAL, &pi.ipi6_addr, 16);
      write_le32(rec + EP_IFINDEX, (uint32_t)pi.ipi6_ifindex);
      rec[EP_FLAGS] |= EP_FLAG_LOCAL;
    }
  }
  if (rec[EP_FLAGS] & EP_FLAG_LOCAL) write_le32(rec + EP_ROUTE_GEN, route_gen);
}

/* Route events (or lost ones: ENOBUFS) make every cached source stale. */
static void route_on_readable(uv_poll_t *h, int status, int events) {
  udp_poll *p = h->data;
  udp_bind *b = p->b;
  if (b->closed || status < 0) return;
  static uint8_t buf[16384] __attribute__((aligned(NLMSG_ALIGNTO)));
  for (;;) {
    ssize_t len = recv(p->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (len < 0 && errno == EINTR) continue;
    if (len < 0 && errno == ENOBUFS) {
      b->route_gen++;
      continue;
    }
    if (len <= 0) break;
    for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)len); nh = NLMSG_NEXT(nh, len)) {
      if (nh->nlmsg_type == RTM_NEWROUTE || nh->nlmsg_type == RTM_DELROUTE) b->route_gen++;
    }
  }
  if (b->route_gen == 0) b->route_gen = 1; /* 0 never matches a learned record */
}

/* Best effort: without netlink, cached sources are only dropped when a send fails. */
static void start_route_watch(napi_env env, udp_bind *b) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return;
  struct sockaddr_nl local = {.nl_family = AF_NETLINK, .nl_groups = RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE};
  udp_poll *p = calloc(1, sizeof *p);
  if (!p || bind(fd, (struct sockaddr *)&local, sizeof local) < 0 || uv_poll_init(tsg_loop(env), &p->h, fd) < 0) {
    free(p);
    close(fd);
    return;
  }
  p->h.data = p;
  p->b = b;
  p->fd = fd;
  b->route_poll = p;
  b->open_polls++;
  if (uv_poll_start(&p->h, UV_READABLE, route_on_readable) < 0) stop_route_watch(b);
}

/* The segment size of a GRO-coalesced receive (UDP_GRO cmsg), 0 when not coalesced. */
static uint32_t gro_size(struct msghdr *mh) {
  for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
    if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
      int v = 0;
      memcpy(&v, CMSG_DATA(c), sizeof v);
      return v > 0 ? (uint32_t)v : 0;
    }
  }
  return 0;
}

static void udp_deliver(udp_bind *b, uint32_t n) {
  int32_t arg = (int32_t)n;
  tsg_call_js(b->env, b->actx, b->cb, 1, &arg);
}

static void udp_on_readable(uv_poll_t *h, int status, int events) {
  udp_poll *p = h->data;
  udp_bind *b = p->b;
  if (b->closed || status < 0) return;
  for (uint32_t j = 0; j < b->capacity; j++) {
    b->rmsg[j].msg_hdr.msg_namelen = sizeof(struct sockaddr_in6);
    b->rmsg[j].msg_hdr.msg_controllen = CTL_LEN;
    b->rmsg[j].msg_hdr.msg_flags = 0;
  }
  int r;
  do r = recvmmsg(p->fd, b->rmsg, b->capacity, MSG_DONTWAIT, NULL);
  while (r < 0 && errno == EINTR);
  if (r <= 0) return; /* EAGAIN or a transient error: nothing to deliver */
  uint32_t n = 0;
  uint8_t rec[EP_SIZE];
  for (int j = 0; j < r; j++) {
    struct msghdr *mh = &b->rmsg[j].msg_hdr;
    if (mh->msg_flags & MSG_TRUNC) continue; /* larger than a slot: drop */
    uint32_t base = j * b->slot_size + b->headroom, total = b->rmsg[j].msg_len;
    uint32_t seg = b->gro_active ? gro_size(mh) : 0;
    if (seg == 0 || seg > total) seg = total;
    fill_record(rec, &b->raddr[j], mh, b->route_gen);
    /* One entry per datagram; a coalesced receive becomes several, all from one source. */
    uint32_t pos = 0;
    do {
      if (n == b->capacity) { /* only with GRO: more datagrams than entries */
        udp_deliver(b, n);
        if (b->closed) return;
        n = 0;
      }
      b->offs[n] = base + pos;
      b->lens[n] = total - pos < seg ? total - pos : seg;
      memcpy(b->eps + (size_t)n * EP_SIZE, rec, EP_SIZE);
      n++;
      pos += seg;
    } while (pos < total);
  }
  if (n > 0) udp_deliver(b, n);
}

static int start_polls(napi_env env, udp_bind *b) {
  for (int k = 0; k < 2; k++) {
    if (b->fd[k] < 0 || b->poll[k]) continue;
    udp_poll *p = calloc(1, sizeof *p);
    if (!p) return ENOMEM;
    int r = uv_poll_init(tsg_loop(env), &p->h, b->fd[k]);
    if (r < 0) {
      free(p);
      return -r;
    }
    p->h.data = p;
    p->b = b;
    p->fd = b->fd[k];
    b->poll[k] = p;
    b->open_polls++;
    r = uv_poll_start(&p->h, UV_READABLE, udp_on_readable);
    if (r < 0) return -r;
  }
  return 0;
}

/* udpCreate(gso?, gro?): handle (unbound). */
static napi_value udp_create(napi_env env, napi_callback_info info) {
  TSG_ARGS(env, info, 2);
  bool gso = false, gro = false;
  if (argc > 0) napi_get_value_bool(env, argv[0], &gso);
  if (argc > 1) napi_get_value_bool(env, argv[1], &gro);
  udp_bind *b = calloc(1, sizeof *b);
  if (!b) {
    tsg_throw_errno(env, "calloc", ENOMEM);
    return NULL;
  }
  b->fd[0] = b->fd[1] = -1;
  b->route_gen = 1;
  b->env = env;
  b->gso_on = gso;
  b->gro_on = gro;
  napi_value ext, name;
  napi_create_external(env, b, udp_finalize, NULL, &ext);
  napi_create_string_utf8(env, "tsguard:udp", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &b->actx);
  return ext;
}

static udp_bind *get_open(napi_env env, napi_value v) {
  udp_bind *b = tsg_get_external(env, v);
  if (b && b->closed) {
    tsg_throw_errno(env, "UDP bind closed", EBADF);
    return NULL;
  }
  return b;
}

/*
 * udpBind(handle, port): bound port. The new pair is bound before the old one closes; on
 * failure the old pair stays and an Error with .errno (98 when the port is taken) is thrown.
 */
static napi_value udp_bind_fn(napi_env env, napi_callback_info info) {
  TSG_ARGS(env, info, 2);
  udp_bind *b = get_open(env, argv[0]);
  uint32_t port;
  if (!b || !tsg_get_u32(env, argv[1], &port)) return NULL;
  if (port > 65535) {
    tsg_throw_range(env, "port out of range");
    return NULL;
  }
  if (port != 0 && port == b->port) return tsg_int(env, (int32_t)port);
  int fds[2];
  uint16_t bound;
  int err = bind_pair((uint16_t)port, b->mark, b->gro_on, fds, &bound);
  if (err) {
    tsg_throw_errno(env, "bind", err);
    return NULL;
  }
  close_sockets(b);
  b->fd[0] = fds[0];
  b->fd[1] = fds[1];
  b->port = bound;
  b->gro_active = b->gro_on && set_gro(fds[0], 1);
  if (b->started) {
    err = start_polls(env, b);
    if (err) {
      tsg_throw_errno(env, "uv_poll_start", err);
      return NULL;
    }
  }
  return tsg_int(env, bound);
}

/* udpFamilies(handle): bit 0 = IPv4 socket open, bit 1 = IPv6 socket open. */
static napi_value udp_families(napi_env env, napi_callback_info info) {
  TSG_ARGS(env, info, 1);
  udp_bind *b = tsg_get_external(env, argv[0]);
  if (!b) return NULL;
  return tsg_int(env, (b->fd[0] >= 0 ? 1 : 0) | (b->fd[1] >= 0 ? 2 : 0));
}

/* udpSetMark(handle, mark): SO_MARK on both sockets (0 clears); kept for later rebinds. */
static napi_value udp_set_mark(napi_env env, napi_callback_info info) {
  TSG_ARGS(env, info, 2);
  udp_bind *b = get_open(env, argv[0]);
  uint32_t mark;
  if (!b || !tsg_get_u32(env, argv[1], &mark)) return NULL;
  for (int k = 0; k < 2; k++) {
    if (b->fd[k] >= 0 && setsockopt(b->fd[k], SOL_SOCKET, SO_MARK, &mark, sizeof mark) < 0) {
      tsg_throw_errno(env, "setsockopt SO_MARK", errno);
      return NULL;
    }
  }
  b->mark = mark;
  return tsg_undefined(env);
}

/* udpGetMark(handle, family 4|6): SO_MARK read back from that socket, -1 when absent. */
static napi_value udp_get_mark(napi_env env, napi_callback_info info) {
  TSG_ARGS(env, info, 2);
  udp_bind *b = tsg_get_external(env, argv[0]);
  int32_t fam;
  if (!b || !tsg_get_i32(env, argv[1], &fam)) return NULL;
  int fd = b->fd[fam == 6 ? 1 : 0];
  uint32_t mark = 0;
  socklen_t sl = sizeof mark;
  if (fd < 0) return tsg_int(env, -1);
  if (getsockopt(fd, SOL_SOCKET, SO_MARK, &mark, &sl) < 0) {
    tsg_throw_errno(env, "getsockopt SO_MARK", errno);
    return NULL;
  }
  return tsg_int(env, (int32_t)mark);
}

/*
 * udpStart(handle, data, offsets, lengths, endpoints, capacity, slotSize, headroom, maxPacket, cb)
 * Each wake-up of either socket receives up to `capacity` datagrams (slot j at
 * j*slotSize+headroom) and calls cb(count) with offsets/lengths/endpoints filled.
 */
static napi_value udp_start(napi_env env, napi_callback_info info) {
  TSG_ARGS(env, info, 10);
  udp_bind *b = get_open(env, argv[0]);
  tsg_array data, offs, lens, eps;
  uint32_t cap, slot, head, maxp;
  if (!b || !tsg_get_array(env, argv[1], napi_uint8_array, &data, "data") ||
      !tsg_get_array(env, argv[2], napi_uint32_array, &offs, "offsets") ||
      !tsg_get_array(env, argv[3], napi_uint32_array, &lens, "lengths") ||
      !tsg_get_array(env, argv[4], napi_uint8_array, &eps, "endpoints") || !tsg_get_u32(env, argv[5], &cap) ||
      !tsg_get_u32(env, argv[6], &slot) || !tsg_get_u32(env, argv[7], &head) || !tsg_get_u32(env, argv[8], &maxp))
    return NULL;
  if (b->started) {
    napi_throw_error(env, NULL, "UDP bind already started");
    return NULL;
  }
  if (cap == 0 || cap > 1024 || cap > offs.length || cap > lens.length || (uint64_t)cap * EP_SIZE > eps.length ||
      (uint64_t)head + maxp > slot || (uint64_t)cap * slot > data.length) {
    tsg_throw_range(env, "UDP batch geometry does not fit the buffers");
    return NULL;
  }
  b->rmsg = calloc(cap, sizeof *b->rmsg);
  b->riov = calloc(cap, sizeof *b->riov);
  b->raddr = calloc(cap, sizeof *b->raddr);
  b->rctl = calloc(cap, sizeof *b->rctl);
  if (!b->rmsg || !b->riov || !b->raddr || !b->rctl) {
    tsg_throw_errno(env, "calloc", ENOMEM);
    return NULL;
  }
  napi_create_reference(env, argv[9], 1, &b->cb);
  napi_create_reference(env, argv[1], 1, &b->data_ref);
  napi_create_reference(env, argv[2], 1, &b->offs_ref);
  napi_create_reference(env, argv[3], 1, &b->lens_ref);
  napi_create_reference(env, argv[4], 1, &b->eps_ref);
  /* Backing stores of non-resizable ArrayBuffers do not move; the refs keep them alive. */
  b->data = data.data;
  b->offs = offs.data;
  b->lens = lens.data;
  b->eps = eps.data;
  b->capacity = cap;
  b->slot_size = slot;
  b->headroom = head;
  b->max_packet = maxp;
  for (uint32_t j = 0; j < cap; j++) {
    b->riov[j].iov_base = b->data + (size_t)j * slot + head;
    b->riov[j].iov_len = maxp;
    struct msghdr *mh = &b->rmsg[j].msg_hdr;
    mh->msg_name = &b->raddr[j];
    mh->msg_iov = &b->riov[j];
    mh->msg_iovlen = 1;
    mh->msg_control = b->rctl[j].buf;
  }
  b->started = 1;
  start_route_watch(env, b);
  int err = start_polls(env, b);
  if (err) {
    tsg_throw_errno(env, "uv_poll_start", err);
    return NULL;
  }
  return tsg_undefined(env);
}

static int grow_send(udp_bind *b, uint32_t n) {
  if (n <= b->scap) return 1;
  free(b->smsg);
  free(b->siov);
  free(b->saddr);
  free(b->sctl);
  free(b->sidx);
  free(b->mfirst);
  free(b->mcount);
  b->smsg = calloc(n, sizeof *b->smsg);
  b->siov = calloc(n, sizeof *b->siov);
  b->saddr = calloc(n, sizeof *b->saddr);
  b->sctl = calloc(n, sizeof *b->sctl);
  b->sidx = calloc(n, sizeof *b->sidx);
  b->mfirst = calloc(n, sizeof *b->mfirst);
  b->mcount = calloc(n, sizeof *b->mcount);
  b->scap = (b->smsg && b->siov && b->saddr && b->sctl && b->sidx && b->mfirst && b->mcount) ? n : 0;
  return b->scap != 0;
}

static int is_link_local6(const uint8_t *a) { return a[0] == 0xfe && (a[1] & 0xc0) == 0x80; }

/*
 * Builds message m for the record: destination, the iovecs (one datagram, or a GSO run when
 * gso_size > 0) and the cmsgs (sticky source if flagged and with_src, UDP_SEGMENT).
 */
static void build_msg(udp_bind *b, uint32_t m, const uint8_t *rec, struct iovec *iov, uint32_t iovcnt,
                      uint16_t gso_size, int with_src) {
  struct msghdr *mh = &b->smsg[m].msg_hdr;
  memset(mh, 0, sizeof *mh);
  struct sockaddr_in6 *sa = &b->saddr[m];
  memset(sa, 0, sizeof *sa);
  mh->msg_name = sa;
  mh->msg_iov = iov;
  mh->msg_iovlen = iovcnt;
  int v4 = rec[EP_FAMILY] == 4;
  if (v4) {
    struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
    s4->sin_family = AF_INET;
    memcpy(&s4->sin_port, rec + EP_PORT, 2);
    memcpy(&s4->sin_addr, rec + EP_ADDR, 4);
    mh->msg_namelen = sizeof *s4;
  } else {
    sa->sin6_family = AF_INET6;
    memcpy(&sa->sin6_port, rec + EP_PORT, 2);
    memcpy(&sa->sin6_addr, rec + EP_ADDR, 16);
    sa->sin6_scope_id = read_le32(rec + EP_SCOPE);
    mh->msg_namelen = sizeof *sa;
  }
  int src = with_src && (rec[EP_FLAGS] & EP_FLAG_LOCAL);
  if (!src && !gso_size) return;
  ctl_buf *cb = &b->sctl[m];
  memset(cb, 0, sizeof *cb);
  mh->msg_control = cb->buf;
  size_t used = 0;
  if (src) {
    struct cmsghdr *c = (struct cmsghdr *)cb->buf;
    if (v4) {
      struct in_pktinfo pi;
      memset(&pi, 0, sizeof pi);
      memcpy(&pi.ipi_spec_dst, rec + EP_LOCAL, 4); /* source address only; routing picks the device */
      c->cmsg_level = IPPROTO_IP;
      c->cmsg_type = IP_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof pi);
      memcpy(CMSG_DATA(c), &pi, sizeof pi);
      used = CMSG_SPACE(sizeof pi);
    } else {
      struct in6_pktinfo pi;
      memset(&pi, 0, sizeof pi);
      memcpy(&pi.ipi6_addr, rec + EP_LOCAL, 16);
      /* A link-local source needs its interface. */
      if (is_link_local6(rec + EP_LOCAL)) pi.ipi6_ifindex = read_le32(rec + EP_IFINDEX);
      c->cmsg_level = IPPROTO_IPV6;
      c->cmsg_type = IPV6_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof pi);
      memcpy(CMSG_DATA(c), &pi, sizeof pi);
      used = CMSG_SPACE(sizeof pi);
    }
  }
  if (gso_size) {
    struct cmsghdr *c = (struct cmsghdr *)(cb->buf + used);
    c->cmsg_level = SOL_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof gso_size);
    memcpy(CMSG_DATA(c), &gso_size, sizeof gso_size);
    used += CMSG_SPACE(sizeof gso_size);
  }
  mh->msg_controllen = used;
}

static int source_error(int err) { return err == EINVAL || err == EADDRNOTAVAIL || err == ENETUNREACH; }

static int send_retry(int fd, struct msghdr *mh) {
  ssize_t s;
  do s = sendmsg(fd, mh, MSG_DONTWAIT);
  while (s < 0 && errno == EINTR);
  return s >= 0 ? 0 : errno;
}

static void clear_source(uint8_t *rec) {
  rec[EP_FLAGS] &= ~EP_FLAG_LOCAL;
  memset(rec + EP_LOCAL, 0, EP_SIZE - EP_LOCAL);
}

/*
 * Message mm (packets sidx[first .. first+cnt)) was refused with `err`. A refused sticky source
 * is cleared in the records and the message re-sent without it; a refused GSO run (EIO: no
 * GSO on this path, for good; EINVAL/EMSGSIZE: e.g. larger than the path MTU) goes one
 * datagram at a time. Anything else drops the message. Returns datagrams sent.
 */
static int send_fallback(udp_bind *b, int fd, uint32_t mm, int err, const uint32_t *l, uint8_t *ep, uint8_t *st) {
  uint32_t first = b->mfirst[mm], cnt = b->mcount[mm];
  uint32_t i0 = b->sidx[first];
  uint8_t *rec = ep + (size_t)i0 * EP_SIZE;
  int with_src = 1;
  if (cnt > 1 && err == EIO) b->gso_broken = 1;
  if ((rec[EP_FLAGS] & EP_FLAG_LOCAL) && source_error(err)) {
    /* The cached source is no longer usable: forget it and retry once without. */
    for (uint32_t q = 0; q < cnt; q++) {
      uint32_t i = b->sidx[first + q];
      clear_source(ep + (size_t)i * EP_SIZE);
      st[i] |= ST_SOURCE_CLEARED;
    }
    with_src = 0;
    build_msg(b, mm, rec, b->siov + first, cnt, cnt > 1 ? (uint16_t)l[i0] : 0, 0);
    err = send_retry(fd, &b->smsg[mm].msg_hdr);
    if (!err) {
      for (uint32_t q = 0; q < cnt; q++) st[b->sidx[first + q]] &= ~ST_DROPPED;
      return (int)cnt;
    }
    if (cnt > 1 && err == EIO) b->gso_broken = 1;
  }
  if (cnt == 1 || (err != EIO && err != EINVAL && err != EMSGSIZE)) return 0;
  int sent = 0;
  for (uint32_t q = 0; q < cnt; q++) {
    uint32_t i = b->sidx[first + q];
    build_msg(b, mm, ep + (size_t)i * EP_SIZE, b->siov + first + q, 1, 0, with_src);
    if (!send_retry(fd, &b->smsg[mm].msg_hdr)) {
      st[i] &= ~ST_DROPPED;
      sent++;
    }
  }
  return sent;
}

/*
 * udpSend(handle, data, offsets, lengths, endpoints, count, status): datagrams sent.
 * status[i] gets bit 0 = dropped, bit 1 = the sticky source was refused (or learned before a
 * route change), so it was cleared in the endpoint record and the datagram sent without it.
 * With GSO, runs of consecutive datagrams (of one family) with identical endpoint records and
 * equal lengths (the last may be shorter) go out as one message with a UDP_SEGMENT cmsg: up
 * to GSO_MAX_SEGS datagrams and GSO_MAX_BYTES bytes; the kernel sends them as separate
 * datagrams.
 */
static napi_value udp_send(napi_env env, napi_callback_info info) {
  TSG_ARGS(env, info, 7);
  udp_bind *b = get_open(env, argv[0]);
  tsg_array data, offs, lens, eps, status;
  uint32_t count;
  if (!b || !tsg_get_array(env, argv[1], napi_uint8_array, &data, "data") ||
      !tsg_get_array(env, argv[2], napi_uint32_array, &offs, "offsets") ||
      !tsg_get_array(env, argv[3], napi_uint32_array, &lens, "lengths") ||
      !tsg_get_array(env, argv[4], napi_uint8_array, &eps, "endpoints") || !tsg_get_u32(env, argv[5], &count) ||
      !tsg_get_array(env, argv[6], napi_uint8_array, &status, "status"))
    return NULL;
  if (count > offs.length || count > lens.length || (uint64_t)count * EP_SIZE > eps.length || count > status.length) {
    tsg_throw_range(env, "count exceeds the batch");
    return NULL;
  }
  if (count == 0) return tsg_int(env, 0);
  if (!grow_send(b, count)) {
    tsg_throw_errno(env, "calloc", ENOMEM);
    return NULL;
  }
  const uint32_t *o = offs.data, *l = lens.data;
  uint8_t *d = data.data, *ep = eps.data, *st = status.data;
  int sent = 0;
  for (int k = 0; k < 2; k++) {
    uint8_t fam = k == 0 ? 4 : 6;
    int gso = b->gso_on && !b->gso_broken;
    uint32_t m = 0, np = 0;
    uint32_t run_len = 0, run_bytes = 0;
    int run_open = 0;
    const uint8_t *run_rec = NULL;
    for (uint32_t i = 0; i < count; i++) {
      uint8_t *rec = ep + (size_t)i * EP_SIZE;
      if (k == 0) st[i] = ST_DROPPED; /* until sent */
      if (rec[EP_FAMILY] != fam) continue;
      if (b->fd[k] < 0 || (uint64_t)o[i] + l[i] > data.length || l[i] > 65535) continue;
      if ((rec[EP_FLAGS] & EP_FLAG_LOCAL) && read_le32(rec + EP_ROUTE_GEN) != b->route_gen) {
        /* Learned before the last route change: let the kernel choose again. */
        clear_source(rec);
        st[i] |= ST_SOURCE_CLEARED;
      }
      b->siov[np].iov_base = d + o[i];
      b->siov[np].iov_len = l[i];
      b->sidx[np] = i;
      if (run_open && l[i] > 0 && l[i] <= run_len && b->mcount[m - 1] < GSO_MAX_SEGS &&
          run_bytes + l[i] <= GSO_MAX_BYTES && memcmp(rec, run_rec, EP_SIZE) == 0) {
        b->mcount[m - 1]++;
        run_bytes += l[i];
        if (l[i] < run_len) run_open = 0; /* a shorter datagram ends the run */
      } else {
        b->mfirst[m] = np;
        b->mcount[m] = 1;
        m++;
        run_len = run_bytes = l[i];
        run_rec = rec;
        run_open = gso && l[i] > 0;
      }
      np++;
    }
    for (uint32_t mm = 0; mm < m; mm++) {
      uint32_t first = b->mfirst[mm], i0 = b->sidx[first];
      build_msg(b, mm, ep + (size_t)i0 * EP_SIZE, b->siov + first, b->mcount[mm],
                b->mcount[mm] > 1 ? (uint16_t)l[i0] : 0, 1);
    }
    uint32_t pos = 0;
    while (pos < m) {
      int r = sendmmsg(b->fd[k], b->smsg + pos, m - pos, MSG_DONTWAIT);
      if (r > 0) {
        for (uint32_t mm = pos; mm < pos + (uint32_t)r; mm++) {
          for (uint32_t q = 0; q < b->mcount[mm]; q++) st[b->sidx[b->mfirst[mm] + q]] &= ~ST_DROPPED;
          sent += (int)b->mcount[mm];
        }
        pos += (uint32_t)r;
        continue;
      }
      int err = r < 0 ? errno : EAGAIN;
      if (err == EINTR) continue;
      sent += send_fallback(b, b->fd[k], pos, err, l, ep, st);
      pos++; /* EAGAIN, unreachable, ...: drop this message, go on */
    }
  }
  return tsg_int(env, sent);
}

/* udpSetOffloads(handle, gso, gro): GSO on send (unless refused before), UDP_GRO on receive. */
static napi_value udp_set_offloads(napi_env env, napi_callback_info info) {
  TSG_ARGS(env, info, 3);
  udp_bind *b = get_open(env, argv[0]);
  bool gso = false, gro = false;
  if (!b) return NULL;
  if (napi_get_value_bool(env, argv[1], &gso) != napi_ok || napi_get_value_bool(env, argv[2], &gro) != napi_ok) {
    tsg_throw_type(env, "expected booleans");
    return NULL;
  }
  b->gso_on = gso;
  b->gro_on = gro;
  int ok = 0;
  for (int k = 0; k < 2; k++)
    if (b->fd[k] >= 0 && set_gro(b->fd[k], gro) && k == 0) ok = 1;
  b->gro_active = gro && ok;
  return tsg_undefined(env);
}

/* udpOffloads(handle): bit 0 = GSO in use, bit 1 = GRO in use, bit 2 = GSO refused (EIO). */
static napi_value udp_offloads(napi_env env, napi_callback_info info) {
  TSG_ARGS(env, info, 1);
  udp_bind *b = tsg_get_external(env, argv[0]);
  if (!b) return NULL;
  return tsg_int(env, (b->gso_on && !b->gso_broken ? 1 : 0) | (b->gro_active ? 2 : 0) | (b->gso_broken ? 4 : 0));
}

/* udpClose(handle): closes both sockets (idempotent). */
static napi_value udp_close(napi_env env, napi_callback_info info) {
  TSG_ARGS(env, info, 1);
  udp_bind *b = tsg_get_external(env, argv[0]);
  if (!b) return NULL;
  udp_do_close(b);
  return tsg_undefined(env);
}

napi_value tsg_init_udp(napi_env env, napi_value exports) {
  tsg_set_fn(env, exports, "udpCreate", udp_create);
  tsg_set_fn(env, exports, "udpBind", udp_bind_fn);
  tsg_set_fn(env, exports, "udpFamilies", udp_families);
  tsg_set_fn(env, exports, "udpSetMark", udp_set_mark);
  tsg_set_fn(env, exports, "udpGetMark", udp_get_mark);
  tsg_set_fn(env, exports, "udpStart", udp_start);
  tsg_set_fn(env, exports, "udpSend", udp_send);
  tsg_set_fn(env, exports, "udpClose", udp_close);
  tsg_set_fn(env, exports, "udpSetOffloads", udp_set_offloads);
  tsg_set_fn(env, exports, "udpOffloads", udp_offloads);
  return exports;
}
