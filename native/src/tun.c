/*
 * Linux TUN device: open (IFF_TUN|IFF_NO_PI, non-blocking, optionally IFF_VNET_HDR with
 * TUNSETOFFLOAD), adopt an inherited fd, interface ioctls (MTU, txqueuelen, flags), batched
 * reads driven by uv_poll into JS-owned buffers (super-packets split into slots) and batched
 * writes (same-flow TCP coalesced into GSO super-packets). Offload logic: offload.c.
 */
#include "common.h"
#include "offload.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_ether.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define PI_LEN 4
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif

typedef struct {
  int fd;
  int pi; /* the fd carries the 4-byte packet-information header */
  int closed;
  int finalized;
  int poll_open; /* uv handle not yet closed */
  int polling;
  napi_env env;
  uv_poll_t poll;
  napi_async_context actx;
  napi_ref cb, data_ref, offs_ref, lens_ref;
  uint8_t *data;
  uint32_t *offs, *lens;
  uint32_t capacity, slot_size, headroom, max_packet;
  int vnet;          /* every read/write carries a virtio_net_hdr */
  int coalesce;      /* writes coalesce same-flow TCP (vnet only) */
  unsigned offloads; /* TUN_F_* accepted by TUNSETOFFLOAD */
  uint8_t *scratch;  /* a super-packet's copy when its split spans two deliveries */
  tsg_gro_plan plan;
  /* counters: super-packets read, segments made of them, dropped reads, GSO frames written
     and the packets in them */
  double st_super, st_segments, st_dropped, st_frames, st_coalesced;
  uint32_t *wlens;   /* write lengths after bounds checks */
  uint32_t wlens_cap;
} tun_dev;

static void tun_maybe_free(tun_dev *t) {
  if (t->finalized && !t->poll_open) {
    free(t->scratch);
    free(t->wlens);
    tsg_gro_free(&t->plan);
    free(t);
  }
}

static void on_poll_closed(uv_handle_t *h) {
  tun_dev *t = h->data;
  t->poll_open = 0;
  tun_maybe_free(t);
}

static void del_ref(napi_env env, napi_ref *r) {
  if (*r) {
    napi_delete_reference(env, *r);
    *r = NULL;
  }
}

static void tun_release_js(tun_dev *t) {
  del_ref(t->env, &t->cb);
  del_ref(t->env, &t->data_ref);
  del_ref(t->env, &t->offs_ref);
  del_ref(t->env, &t->lens_ref);
}

static void tun_do_close(tun_dev *t) {
  if (t->closed) return;
  t->closed = 1;
  if (t->polling) {
    uv_poll_stop(&t->poll);
    t->polling = 0;
  }
  if (t->poll_open) uv_close((uv_handle_t *)&t->poll, on_poll_closed);
  if (t->fd >= 0) close(t->fd);
  t->fd = -1;
}

static void tun_finalize(napi_env env, void *data, void *hint) {
  tun_dev *t = data;
  tun_do_close(t);
  tun_release_js(t);
  /* Destroyed only here: close() may run inside a callback that uses the context. */
  if (t->actx) napi_async_destroy(env, t->actx);
  t->actx = NULL;
  t->finalized = 1;
  tun_maybe_free(t);
}

static int ctl_socket(void) { return socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0); }

/* Interface ioctl by name on a throwaway socket; returns 0 or errno. */
static int if_ioctl(const char *name, unsigned long req, struct ifreq *ifr) {
  int s = ctl_socket();
  if (s < 0) return errno;
  memcpy(ifr->ifr_name, name, strnlen(name, IFNAMSIZ - 1));
  int r = ioctl(s, req, ifr);
  int err = r < 0 ? errno : 0;
  close(s);
  return err;
}

static int get_name_arg(napi_env env, napi_value v, char name[IFNAMSIZ]) {
  size_t len = 0;
  char buf[64];
  if (napi_get_value_string_utf8(env, v, buf, sizeof buf, &len) != napi_ok) {
    tsg_throw_type(env, "interface name must be a string");
    return 0;
  }
  if (len == 0 || len >= IFNAMSIZ) {
    tsg_throw_range(env, "interface name must be 1..15 bytes");
    return 0;
  }
  memset(name, 0, IFNAMSIZ);
  memcpy(name, buf, len);
  return 1;
}

static void set_prop_int(napi_env env, napi_value o, const char *k, int32_t v) {
  napi_set_named_property(env, o, k, tsg_int(env, v));
}

/*
 * TUNSETOFFLOAD: the richest set the kernel accepts (USO needs Linux 6.2), 0 to stop
 * super-packets and partial checksums. Returns the accepted TUN_F_* flags.
 */
static unsigned tun_negotiate(int fd, int enable) {
  static const unsigned tries[] = {TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_USO4 | TUN_F_USO6,
                                   TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6, TUN_F_CSUM};
  if (enable)
    for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++)
      if (ioctl(fd, TUNSETOFFLOAD, tries[i]) == 0) return tries[i];
  ioctl(fd, TUNSETOFFLOAD, 0);
  return 0;
}

/* Common tail of open/fromFd: query name and flags, ifindex, wrap the handle. */
static napi_value tun_describe(napi_env env, int fd, int tune, int offload) {
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  if (ioctl(fd, TUNGETIFF, &ifr) < 0) {
    int err = errno;
    close(fd);
    tsg_throw_errno(env, "TUNGETIFF", err);
    return NULL;
  }
  if ((ifr.ifr_flags & IFF_TUN) == 0) {
    close(fd);
    tsg_throw_errno(env, "TUN fd must be IFF_TUN", EINVAL);
    return NULL;
  }
  int vnet = (ifr.ifr_flags & IFF_VNET_HDR) != 0;
  char name[IFNAMSIZ];
  memcpy(name, ifr.ifr_name, IFNAMSIZ);
  name[IFNAMSIZ - 1] = 0;
  int pi = (ifr.ifr_flags & IFF_NO_PI) == 0;
  if (!pi) {
    /* TUNGETIFF also reports IFF_NOFILTER, which has IFF_NO_PI's value (0x1000): ask sysfs
       for the real flags; keep the ioctl's answer if sysfs is unavailable. */
    char path[96], text[32];
    snprintf(path, sizeof path, "/sys/class/net/%s/tun_flags", name);
    int sf = open(path, O_RDONLY | O_CLOEXEC);
    if (sf >= 0) {
      ssize_t n = read(sf, text, sizeof text - 1);
      close(sf);
      if (n > 0) {
        text[n] = 0;
        char *end = NULL;
        long flags = strtol(text, &end, 0);
        if (end != text) pi = (flags & IFF_NO_PI) == 0;
      }
    }
  }
  if (vnet) {
    int sz = TSG_VNET_HDR_LEN;
    if (pi || ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0) {
      close(fd);
      tsg_throw_errno(env, "TUN fd with IFF_VNET_HDR must be IFF_NO_PI with a 10-byte header", EINVAL);
      return NULL;
    }
  }

  struct ifreq q;
  memset(&q, 0, sizeof q);
  int ifindex = if_ioctl(name, SIOCGIFINDEX, &q) == 0 ? q.ifr_ifindex : 0;

  if (tune) {
    /* The default 500 causes heavy TCP retransmits under load (datapath.md). */
    memset(&q, 0, sizeof q);
    q.ifr_qlen = 4096;
    if_ioctl(name, SIOCSIFTXQLEN, &q);
    /* No kernel-generated IPv6 link-local address, as the kernel module does; IPv6 may be off. */
    char path[96];
    snprintf(path, sizeof path, "/proc/sys/net/ipv6/conf/%s/addr_gen_mode", name);
    int pf = open(path, O_WRONLY | O_CLOEXEC);
    if (pf >= 0) {
      if (write(pf, "1\n", 2) < 0) { /* ignored */
      }
      close(pf);
    }
  }

  tun_dev *t = calloc(1, sizeof *t);
  if (!t) {
    close(fd);
    tsg_throw_errno(env, "calloc", ENOMEM);
    return NULL;
  }
  t->fd = fd;
  t->pi = pi;
  t->env = env;
  t->vnet = vnet;
  t->offloads = vnet ? tun_negotiate(fd, offload) : 0;
  t->coalesce = vnet && offload;
  napi_value ext, obj, s;
  if (napi_create_external(env, t, tun_finalize, NULL, &ext) != napi_ok) {
    close(fd);
    free(t);
    tsg_throw_last(env, "napi_create_external");
    return NULL;
  }
  napi_create_object(env, &obj);
  napi_set_named_property(env, obj, "handle", ext);
  set_prop_int(env, obj, "fd", fd);
  set_prop_int(env, obj, "ifindex", ifindex);
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &s);
  napi_set_named_property(env, obj, "name", s);
  napi_value b;
  napi_get_boolean(env, pi, &b);
  napi_set_named_property(env, obj, "pi", b);
  napi_get_boolean(env, vnet, &b);
  napi_set_named_property(env, obj, "vnetHdr", b);
  set_prop_int(env, obj, "offloads", (int32_t)t->offloads);
  return obj;
}

static int get_bool(napi_env env, napi_value v) {
  bool b = false;
  napi_valuetype ty;
  if (napi_typeof(env, v, &ty) == napi_ok && ty == napi_boolean) napi_get_value_bool(env, v, &b);
  return b;
}

/* tunOpen(name, offloads?): { handle, fd, name, ifindex, pi, vnetHdr, offloads } */
static napi_value tun_open(napi_env env, napi_callback_info info) {
  TSG_ARGS(env, info, 2);
  char name[IFNAMSIZ];
  if (!get_name_arg(env, argv[0], name)) return NULL;
  int offload = argc > 1 && get_bool(env, argv[1]);
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    tsg_throw_errno(env, "open /dev/net/tun", errno);
    return NULL;
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name, IFNAMSIZ);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (offload ? IFF_VNET_HDR : 0);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    close(fd);
    char what[64];
    snprintf(what, sizeof what, "TUNSETIFF %s", name);
    tsg_throw_errno(env, what, err);
    return NULL;
  }
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
    int err = errno;
    close(fd);
    tsg_throw_errno(env, "fcntl O_NONBLOCK", err);
    return NULL;
  }
  return tun_describe(env, fd, 1, offload);
}

/*
 * tunFromFd(fd, offloads?): adopts an already configured TUN fd (WG_TUN_FD); takes ownership.
 * Offloads apply only when the fd was opened with IFF_VNET_HDR (the header is fixed at open).
 */
static napi_value tun_from_fd(napi_env env, napi_callback_info info) {
  TSG_ARGS(env, info, 2);
  int32_t fd;
  if (!tsg_get_i32(env, argv[0], &fd)) return NULL;
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
    tsg_throw_errno(env, "fcntl on TUN fd", errno);
    return NULL;
  }
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  return tun_describe(env, fd, 0, argc > 1 && get_bool(env, argv[1]));
}

/* ifSetMtu(name, mtu) */
static napi_value if_set_mtu(napi_env env, napi_callback_info info) {
  TSG_ARGS(env, info, 2);
  char name[IFNAMSIZ];
  int32_t mtu;
  if (!get_name_arg(env, argv[0], name) || !tsg_get_i32(env, argv[1], &mtu)) return NULL;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_mtu = mtu;
  int err = if_ioctl(name, SIOCSIFMTU, &ifr);
  if (err) {
    tsg_throw_errno(env, "SIOCSIFMTU", err);
    return NULL;
  }
  return tsg_undefined(env);
}

/* ifGetMtu(name): number; ifGetFlags(name): number (IFF_*); ifGetTxqlen(name): number */
static napi_value if_get(napi_env env, napi_callback_info info, unsigned long req, const char *what) {
  TSG_ARGS(env, info, 1);
  char name[IFNAMSIZ];
  if (!get_name_arg(env, argv[0], name)) return NULL;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  int err = if_ioctl(name, req, &ifr);
  if (err) {
    tsg_throw_errno(env, what, err);
    return NULL;
  }
  if (req == SIOCGIFMTU) return tsg_int(env, ifr.ifr_mtu);
  if (req == SIOCGIFTXQLEN) return tsg_int(env, ifr.ifr_qlen);
  return tsg_int(env, (uint16_t)ifr.ifr_flags);
}
static napi_value if_get_mtu(napi_env env, napi_callback_info info) { return if_get(env, info, SIOCGIFMTU, "SIOCGIFMTU"); }
static napi_value if_get_flags(napi_env env, napi_callback_info info) { return if_get(env, info, SIOCGIFFLAGS, "SIOCGIFFLAGS"); }
static napi_value if_get_txqlen(napi_env env, napi_callback_info info) { return if_get(env, info, SIOCGIFTXQLEN, "SIOCGIFTXQLEN"); }

static int is_fatal(int err) { return err != EAGAIN && err != EWOULDBLOCK && err != EINTR; }

static void tun_deliver(tun_dev *t, uint32_t n) {
  int32_t arg = (int32_t)n;
  tsg_call_js(t->env, t->actx, t->cb, 1, &arg);
}

/*
 * One packet read with a virtio header at slot n: finishes its checksum or splits it into
 * slots n, n+1, ... (segment 0 in place). When the batch fills mid-split, the rest of the
 * super-packet is copied aside, the full batch delivered, and splitting goes on from slot 0.
 * Returns the new entry count, or UINT32_MAX when the TUN was closed by the callback.
 */
static uint32_t tun_take_vnet(tun_dev *t, uint32_t n, uint32_t len) {
  uint32_t off = n * t->slot_size + t->headroom;
  tsg_vnet_hdr h;
  tsg_vnet_parse(t->data + off - TSG_VNET_HDR_LEN, &h);
  tsg_gso_iter it;
  int segs = tsg_gso_prepare(&it, t->data + off, len, &h);
  if (segs < 0 || (it.gso && it.hl + it.gso > t->max_packet)) {
    t->st_dropped++;
    return n;
  }
  if (it.gso) {
    t->st_super++;
    t->st_segments += segs;
  }
  for (uint32_t k = 0; k < (uint32_t)segs; k++) {
    if (n == t->capacity) {
      if (it.pkt != t->scratch) {
        if (!t->scratch && !(t->scratch = malloc(65536))) return n; /* rest dropped */
        memcpy(t->scratch, it.pkt, it.len);
        it.pkt = t->scratch;
      }
      tun_deliver(t, n);
      if (t->closed) return UINT32_MAX;
      n = 0;
    }
    uint32_t o = n * t->slot_size + t->headroom;
    t->lens[n] = tsg_gso_segment(&it, k, t->data + o);
    t->offs[n] = o;
    n++;
  }
  return n;
}

static void tun_on_readable(uv_poll_t *h, int status, int events) {
  tun_dev *t = h->data;
  if (t->closed) return;
  uint32_t n = 0;
  int err = 0;
  uint32_t extra = t->vnet ? TSG_VNET_HDR_LEN : t->pi ? PI_LEN : 0;
  if (status < 0) {
    /* libuv saw POLLERR (e.g. the interface was deleted) and stopped the handle: a read
       tells the real reason (EBADFD). */
    ssize_t r = read(t->fd, t->data + t->headroom - extra, t->max_packet + extra);
    err = r < 0 && is_fatal(errno) ? errno : EIO;
  }
  /* At most `capacity` reads per wake-up; a split may deliver more than once. */
  for (uint32_t reads = 0; !err && reads < t->capacity && n < t->capacity;) {
    uint32_t off = n * t->slot_size + t->headroom;
    ssize_t r = read(t->fd, t->data + off - extra, t->max_packet + extra);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (is_fatal(errno)) err = errno;
      break;
    }
    reads++;
    if ((size_t)r <= extra) continue; /* empty packet */
    if (t->vnet) {
      n = tun_take_vnet(t, n, (uint32_t)r - extra);
      if (n == UINT32_MAX) return;
      continue;
    }
    t->offs[n] = off;
    t->lens[n] = (uint32_t)r - extra;
    n++;
  }
  if (n > 0) tun_deliver(t, n);
  if (err && !t->closed) {
    if (t->polling) {
      uv_poll_stop(&t->poll);
      t->polling = 0;
    }
    int32_t arg = -err;
    tsg_call_js(t->env, t->actx, t->cb, 1, &arg);
  }
}

static int make_ref(napi_env env, napi_value v, napi_ref *r) { return napi_create_reference(env, v, 1, r) == napi_ok; }

/*
 * tunStart(handle, data, offsets, lengths, capacity, slotSize, headroom, maxPacket, cb)
 * Each wake-up reads up to `capacity` packets into slot i at i*slotSize+headroom and calls
 * cb(count); a fatal read error stops reading and calls cb(-errno).
 */
static napi_value tun_start(napi_env env, napi_callback_info info) {
  TSG_ARGS(env, info, 9);
  tun_dev *t = tsg_get_external(env, argv[0]);
  tsg_array data, offs, lens;
  uint32_t cap, slot, head, maxp;
  if (!t || !tsg_get_array(env, argv[1], napi_uint8_array, &data, "data") ||
      !tsg_get_array(env, argv[2], napi_uint32_array, &offs, "offsets") ||
      !tsg_get_array(env, argv[3], napi_uint32_array, &lens, "lengths") || !tsg_get_u32(env, argv[4], &cap) ||
      !tsg_get_u32(env, argv[5], &slot) || !tsg_get_u32(env, argv[6], &head) || !tsg_get_u32(env, argv[7], &maxp))
    return NULL;
  if (t->closed) {
    tsg_throw_errno(env, "TUN closed", EBADF);
    return NULL;
  }
  if (t->cb) {
    napi_throw_error(env, NULL, "TUN already started");
    return NULL;
  }
  if (cap == 0 || cap > offs.length || cap > lens.length || head < TSG_VNET_HDR_LEN || (uint64_t)head + maxp > slot ||
      (uint64_t)cap * slot > data.length) {
    tsg_throw_range(env, "TUN batch geometry does not fit the buffers");
    return NULL;
  }
  napi_value name;
  napi_create_string_utf8(env, "tsguard:tun", NAPI_AUTO_LENGTH, &name);
  if (napi_async_init(env, NULL, name, &t->actx) != napi_ok || !make_ref(env, argv[8], &t->cb) ||
      !make_ref(env, argv[1], &t->data_ref) || !make_ref(env, argv[2], &t->offs_ref) ||
      !make_ref(env, argv[3], &t->lens_ref)) {
    tun_release_js(t);
    tsg_throw_last(env, "tunStart");
    return NULL;
  }
  /* Backing stores of non-resizable ArrayBuffers do not move; the refs keep them alive. */
  t->data = data.data;
  t->offs = offs.data;
  t->lens = lens.data;
  t->capacity = cap;
  t->slot_size = slot;
  t->headroom = head;
  t->max_packet = maxp;
  int r = uv_poll_init(tsg_loop(env), &t->poll, t->fd);
  if (r < 0) {
    tun_release_js(t);
    tsg_throw_errno(env, "uv_poll_init", -r);
    return NULL;
  }
  t->poll.data = t;
  t->poll_open = 1;
  r = uv_poll_start(&t->poll, UV_READABLE, tun_on_readable);
  if (r < 0) {
    tsg_throw_errno(env, "uv_poll_start", -r);
    return NULL;
  }
  t->polling = 1;
  return tsg_undefined(env);
}

static ssize_t writev_retry(int fd, const struct iovec *iov, int n) {
  ssize_t r;
  do r = writev(fd, iov, n);
  while (r < 0 && errno == EINTR);
  return r;
}

/* Drop on anything but a gone device (EBADFD/EBADF), which is returned as -errno. */
static int write_failed_fatally(void) { return errno == EBADFD || errno == EBADF; }

static int tun_reserve(tun_dev *t, uint32_t n) {
  if (!tsg_gro_reserve(&t->plan, n)) return 0;
  if (t->wlens_cap < t->plan.cap) {
    free(t->wlens);
    t->wlens = malloc(t->plan.cap * sizeof *t->wlens);
    t->wlens_cap = t->wlens ? t->plan.cap : 0;
  }
  return t->wlens != NULL;
}

/* Writes packets with virtio headers: coalesced groups as GSO frames, the rest with a zero header. */
static int tun_write_vnet(tun_dev *t, const uint8_t *d, size_t dlen, const uint32_t *o, const uint32_t *l,
                          uint32_t count) {
  static const uint8_t zero[TSG_VNET_HDR_LEN];
  uint8_t vnet[TSG_VNET_HDR_LEN], hdr[TSG_MAX_HDR];
  struct iovec iov[TSG_GRO_MAX_IOV];
  int written = 0;
  if (!t->coalesce || count < 2 || !tun_reserve(t, count)) {
    for (uint32_t i = 0; i < count; i++) {
      if ((uint64_t)o[i] + l[i] > dlen || l[i] == 0) continue;
      struct iovec v[2] = {{(void *)zero, TSG_VNET_HDR_LEN}, {(void *)(d + o[i]), l[i]}};
      if (writev_retry(t->fd, v, 2) >= 0) written++;
      else if (write_failed_fatally()) return -errno;
    }
    return written;
  }
  uint32_t *wl = t->wlens;
  for (uint32_t i = 0; i < count; i++) wl[i] = (uint64_t)o[i] + l[i] > dlen || l[i] > 65535 ? 0 : l[i];
  tsg_gro_plan_batch(&t->plan, d, o, wl, count);
  for (uint32_t g = 0; g < t->plan.ngroups; g++) {
    uint32_t f = t->plan.first[g];
    if (wl[f] == 0) continue;
    int n = tsg_gro_frame(&t->plan, g, d, o, wl, vnet, hdr, iov);
    if (writev_retry(t->fd, iov, n) >= 0) {
      written += (int)t->plan.count[g];
      if (t->plan.count[g] > 1) {
        t->st_frames++;
        t->st_coalesced += t->plan.count[g];
      }
      continue;
    }
    if (write_failed_fatally()) return -errno;
    if (errno != EINVAL || t->plan.count[g] == 1) continue;
    /* The kernel refused the GSO frame: the members one by one. */
    for (int32_t m = (int32_t)f; m >= 0; m = t->plan.next[m]) {
      struct iovec v[2] = {{(void *)zero, TSG_VNET_HDR_LEN}, {(void *)(d + o[m]), wl[m]}};
      if (writev_retry(t->fd, v, 2) >= 0) written++;
      else if (write_failed_fatally()) return -errno;
    }
  }
  return written;
}

/*
 * tunWrite(handle, data, offsets, lengths, count): packets written (≥ 0), or -errno when the
 * device is gone (EBADFD after deletion). Packets the kernel refuses are dropped, including
 * EIO, which a write to an administratively down TUN returns (measured on Linux 6.18).
 */
static napi_value tun_write(napi_env env, napi_callback_info info) {
  TSG_ARGS(env, info, 5);
  tun_dev *t = tsg_get_external(env, argv[0]);
  tsg_array data, offs, lens;
  uint32_t count;
  if (!t || !tsg_get_array(env, argv[1], napi_uint8_array, &data, "data") ||
      !tsg_get_array(env, argv[2], napi_uint32_array, &offs, "offsets") ||
      !tsg_get_array(env, argv[3], napi_uint32_array, &lens, "lengths") || !tsg_get_u32(env, argv[4], &count))
    return NULL;
  if (t->closed) return tsg_int(env, -EBADF);
  if (count > offs.length || count > lens.length) {
    tsg_throw_range(env, "count exceeds the batch");
    return NULL;
  }
  const uint32_t *o = offs.data, *l = lens.data;
  uint8_t *d = data.data;
  if (t->vnet) return tsg_int(env, tun_write_vnet(t, d, data.length, o, l, count));
  int written = 0;
  for (uint32_t i = 0; i < count; i++) {
    if ((uint64_t)o[i] + l[i] > data.length || l[i] == 0) continue;
    ssize_t r;
    if (t->pi) {
      /* flags 0, then the EtherType from the IP version nibble. */
      uint16_t proto = (d[o[i]] >> 4) == 6 ? ETH_P_IPV6 : ETH_P_IP;
      uint8_t hdr[PI_LEN] = {0, 0, (uint8_t)(proto >> 8), (uint8_t)proto};
      struct iovec iov[2] = {{hdr, PI_LEN}, {d + o[i], l[i]}};
      r = writev_retry(t->fd, iov, 2);
    } else {
      do r = write(t->fd, d + o[i], l[i]);
      while (r < 0 && errno == EINTR);
    }
    if (r >= 0) {
      written++;
    } else if (write_failed_fatally()) {
      return tsg_int(env, -errno);
    } /* else drop: EIO (the link is down), EAGAIN, ENOBUFS, EINVAL (malformed) */
  }
  return tsg_int(env, written);
}

/*
 * tunSetOffload(handle, enable): re-issues TUNSETOFFLOAD (0 when disabled: no more
 * super-packets or partial checksums) and turns write coalescing on/off. The virtio header
 * itself stays (fixed at open). Returns the accepted TUN_F_* flags; 0 without a header.
 */
static napi_value tun_set_offload(napi_env env, napi_callback_info info) {
  TSG_ARGS(env, info, 2);
  tun_dev *t = tsg_get_external(env, argv[0]);
  if (!t) return NULL;
  int enable = get_bool(env, argv[1]);
  if (t->closed || !t->vnet) return tsg_int(env, 0);
  t->offloads = tun_negotiate(t->fd, enable);
  t->coalesce = enable;
  return tsg_int(env, (int32_t)t->offloads);
}

/* tunStats(handle): [superPackets, segments, droppedReads, gsoFramesWritten, packetsCoalesced] */
static napi_value tun_stats(napi_env env, napi_callback_info info) {
  TSG_ARGS(env, info, 1);
  tun_dev *t = tsg_get_external(env, argv[0]);
  if (!t) return NULL;
  double v[5] = {t->st_super, t->st_segments, t->st_dropped, t->st_frames, t->st_coalesced};
  napi_value arr, x;
  napi_create_array_with_length(env, 5, &arr);
  for (uint32_t i = 0; i < 5; i++) {
    napi_create_double(env, v[i], &x);
    napi_set_element(env, arr, i, x);
  }
  return arr;
}

/* tunClose(handle): stops reading and closes the fd (idempotent). */
static napi_value tun_close(napi_env env, napi_callback_info info) {
  TSG_ARGS(env, info, 1);
  tun_dev *t = tsg_get_external(env, argv[0]);
  if (!t) return NULL;
  tun_do_close(t);
  tun_release_js(t);
  return tsg_undefined(env);
}

napi_value tsg_init_tun(napi_env env, napi_value exports) {
  tsg_set_fn(env, exports, "tunOpen", tun_open);
  tsg_set_fn(env, exports, "tunFromFd", tun_from_fd);
  tsg_set_fn(env, exports, "tunStart", tun_start);
  tsg_set_fn(env, exports, "tunWrite", tun_write);
  tsg_set_fn(env, exports, "tunClose", tun_close);
  tsg_set_fn(env, exports, "tunSetOffload", tun_set_offload);
  tsg_set_fn(env, exports, "tunStats", tun_stats);
  tsg_set_fn(env, exports, "ifSetMtu", if_set_mtu);
  tsg_set_fn(env, exports, "ifGetMtu", if_get_mtu);
  tsg_set_fn(env, exports, "ifGetFlags", if_get_flags);
  tsg_set_fn(env, exports, "ifGetTxqlen", if_get_txqlen);
  return exports;
}
