/*
 * Link state of one interface through NETLINK_ROUTE (RTMGRP_LINK) in the current network
 * namespace. uv_poll signals readability to JS (cb()); JS then calls nlDrain, which parses
 * every pending message synchronously (also used before answering a UAPI request).
 */
#include "common.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NL_NEWLINK 1
#define NL_DELLINK 2

typedef struct {
  int fd;
  int ifindex;
  int closed, finalized, poll_open, polling;
  uint32_t seq;
  napi_env env;
  uv_poll_t poll;
  napi_async_context actx;
  napi_ref cb;
} nl_sock;

static void nl_maybe_free(nl_sock *s) {
  if (s->finalized && !s->poll_open) free(s);
}

static void nl_on_closed(uv_handle_t *h) {
  nl_sock *s = h->data;
  s->poll_open = 0;
  nl_maybe_free(s);
}

static void nl_do_close(nl_sock *s) {
  if (s->closed) return;
  s->closed = 1;
  if (s->polling) uv_poll_stop(&s->poll);
  s->polling = 0;
  if (s->poll_open) uv_close((uv_handle_t *)&s->poll, nl_on_closed);
  close(s->fd);
  s->fd = -1;
  if (s->cb) napi_delete_reference(s->env, s->cb);
  s->cb = NULL;
}

static void nl_finalize(napi_env env, void *data, void *hint) {
  nl_sock *s = data;
  nl_do_close(s);
  if (s->actx) napi_async_destroy(env, s->actx);
  s->actx = NULL;
  s->finalized = 1;
  nl_maybe_free(s);
}

/* Asks for the current state of our link; the answer arrives as RTM_NEWLINK. */
static int nl_query(nl_sock *s) {
  struct {
    struct nlmsghdr nh;
    struct ifinfomsg ifi;
  } req;
  memset(&req, 0, sizeof req);
  req.nh.nlmsg_len = sizeof req;
  req.nh.nlmsg_type = RTM_GETLINK;
  req.nh.nlmsg_flags = NLM_F_REQUEST;
  req.nh.nlmsg_seq = ++s->seq;
  req.ifi.ifi_family = AF_UNSPEC;
  req.ifi.ifi_index = s->ifindex;
  struct sockaddr_nl to = {.nl_family = AF_NETLINK};
  return sendto(s->fd, &req, sizeof req, 0, (struct sockaddr *)&to, sizeof to) < 0 ? errno : 0;
}

static void nl_on_readable(uv_poll_t *h, int status, int events) {
  nl_sock *s = h->data;
  if (s->closed) return;
  tsg_call_js(s->env, s->actx, s->cb, 0, NULL);
}

/* nlOpen(ifindex, cb): handle. Throws when netlink is unavailable. */
static napi_value nl_open(napi_env env, napi_callback_info info) {
  TSG_ARGS(env, info, 2);
  int32_t ifindex;
  if (!tsg_get_i32(env, argv[0], &ifindex)) return NULL;
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) {
    tsg_throw_errno(env, "netlink socket", errno);
    return NULL;
  }
  struct sockaddr_nl local = {.nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK};
  if (bind(fd, (struct sockaddr *)&local, sizeof local) < 0) {
    int err = errno;
    close(fd);
    tsg_throw_errno(env, "netlink bind", err);
    return NULL;
  }
  nl_sock *s = calloc(1, sizeof *s);
  s->fd = fd;
  s->ifindex = ifindex;
  s->env = env;
  int err = nl_query(s);
  if (err) {
    close(fd);
    free(s);
    tsg_throw_errno(env, "netlink RTM_GETLINK", err);
    return NULL;
  }
  napi_value ext, name;
  napi_create_external(env, s, nl_finalize, NULL, &ext);
  napi_create_string_utf8(env, "tsguard:netlink", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &s->actx);
  napi_create_reference(env, argv[1], 1, &s->cb);
  int r = uv_poll_init(tsg_loop(env), &s->poll, fd);
  if (r < 0) {
    nl_do_close(s);
    tsg_throw_errno(env, "uv_poll_init", -r);
    return NULL;
  }
  s->poll.data = s;
  s->poll_open = 1;
  r = uv_poll_start(&s->poll, UV_READABLE, nl_on_readable);
  if (r < 0) {
    nl_do_close(s);
    tsg_throw_errno(env, "uv_poll_start", -r);
    return NULL;
  }
  s->polling = 1;
  return ext;
}

/*
 * nlDrain(handle): number[] — for every pending link message about our ifindex, a triple
 * [kind (1 NEWLINK, 2 DELLINK), ifi_flags, mtu (0 if absent)], oldest first. On receive
 * buffer overflow the state is queried again. Throws on a socket error.
 */
static napi_value nl_drain(napi_env env, napi_callback_info info) {
  TSG_ARGS(env, info, 1);
  nl_sock *s = tsg_get_external(env, argv[0]);
  if (!s) return NULL;
  napi_value out;
  napi_create_array(env, &out);
  if (s->closed) return out;
  uint32_t n = 0;
  static uint8_t buf[65536] __attribute__((aligned(NLMSG_ALIGNTO)));
  for (;;) {
    ssize_t len = recv(s->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (len < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == ENOBUFS) { /* events were lost: ask for the state again */
        nl_query(s);
        continue;
      }
      tsg_throw_errno(env, "netlink recv", errno);
      return NULL;
    }
    if (len == 0) break;
    for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)len); nh = NLMSG_NEXT(nh, len)) {
      if (nh->nlmsg_type != RTM_NEWLINK && nh->nlmsg_type != RTM_DELLINK) continue;
      if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg))) continue;
      struct ifinfomsg *ifi = NLMSG_DATA(nh);
      if (ifi->ifi_index != s->ifindex) continue;
      int32_t mtu = 0;
      int alen = (int)(nh->nlmsg_len - NLMSG_LENGTH(sizeof *ifi));
      for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
        if (a->rta_type == IFLA_MTU && RTA_PAYLOAD(a) >= 4) memcpy(&mtu, RTA_DATA(a), 4);
      }
      int32_t kind = nh->nlmsg_type == RTM_NEWLINK ? NL_NEWLINK : NL_DELLINK;
      napi_set_element(env, out, n++, tsg_int(env, kind));
      napi_set_element(env, out, n++, tsg_int(env, (int32_t)ifi->ifi_flags));
      napi_set_element(env, out, n++, tsg_int(env, mtu));
    }
  }
  return out;
}

/* nlClose(handle): idempotent. */
static napi_value nl_close(napi_env env, napi_callback_info info) {
  TSG_ARGS(env, info, 1);
  nl_sock *s = tsg_get_external(env, argv[0]);
  if (!s) return NULL;
  nl_do_close(s);
  return tsg_undefined(env);
}

napi_value tsg_init_netlink(napi_env env, napi_value exports) {
  tsg_set_fn(env, exports, "nlOpen", nl_open);
  tsg_set_fn(env, exports, "nlDrain", nl_drain);
  tsg_set_fn(env, exports, "nlClose", nl_close);
  return exports;
}
