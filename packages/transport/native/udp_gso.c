// Batched UDP system calls for the QUIC engine.
// - send: one sendmsg(2) carries up to 64 KiB of equal-sized QUIC packets and
//   the kernel cuts them into datagrams (UDP GSO, Linux >= 4.18, the
//   UDP_SEGMENT control message).
// - recv: one recvmmsg(2) reads up to 64 waiting datagrams into one buffer.
// Node's dgram makes one system call, one buffer allocation, one address
// object and one callback per datagram either way. N-API only (plus libuv's
// address formatting, which Node exports): it builds against Node's headers
// with a C compiler, no node-gyp.
#define _GNU_SOURCE
#include <node_api.h>
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <uv.h>

#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

static napi_value number(napi_env env, double v) {
  napi_value out;
  napi_create_double(env, v, &out);
  return out;
}

// Fills `ss` with host:port for a socket of `family` (4 or 6): an IPv4 host on
// an IPv6 socket becomes IPv4-mapped; "fe80::1%eth0" keeps its scope.
static socklen_t to_sockaddr(struct sockaddr_storage *ss, int family, const char *host,
                             int port) {
  char buf[64];
  strncpy(buf, host, sizeof(buf) - 1);
  buf[sizeof(buf) - 1] = 0;
  unsigned int scope = 0;
  char *pct = strchr(buf, '%');
  if (pct != NULL) {
    *pct = 0;
    scope = if_nametoindex(pct + 1);
    if (scope == 0) scope = (unsigned int)strtoul(pct + 1, NULL, 10);
  }
  memset(ss, 0, sizeof(*ss));
  struct in_addr v4;
  if (inet_pton(AF_INET, buf, &v4) == 1) {
    if (family == 4) {
      struct sockaddr_in *sin = (struct sockaddr_in *)ss;
      sin->sin_family = AF_INET;
      sin->sin_port = htons((uint16_t)port);
      sin->sin_addr = v4;
      return sizeof(*sin);
    }
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons((uint16_t)port);
    sin6->sin6_addr.s6_addr[10] = 0xff;
    sin6->sin6_addr.s6_addr[11] = 0xff;
    memcpy(&sin6->sin6_addr.s6_addr[12], &v4, 4);
    return sizeof(*sin6);
  }
  if (family != 6) return 0;
  struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) != 1) return 0;
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons((uint16_t)port);
  sin6->sin6_scope_id = scope;
  return sizeof(*sin6);
}

// send(fd, family, data: Uint8Array, length, segmentSize, host, port)
//   -> bytes sent, or -errno (EAGAIN: the socket buffer is full, try later).
// Throws TypeError on bad arguments.
static napi_value Send(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 7) {
    napi_throw_type_error(env, NULL, "send(fd, family, data, length, segmentSize, host, port)");
    return NULL;
  }
  int32_t fd, family, length, segment, port;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      napi_get_value_int32(env, argv[1], &family) != napi_ok ||
      napi_get_value_int32(env, argv[3], &length) != napi_ok ||
      napi_get_value_int32(env, argv[4], &segment) != napi_ok ||
      napi_get_value_int32(env, argv[6], &port) != napi_ok) {
    napi_throw_type_error(env, NULL, "fd, family, length, segmentSize and port are integers");
    return NULL;
  }
  bool isTyped = false;
  napi_is_typedarray(env, argv[2], &isTyped);
  if (!isTyped) {
    napi_throw_type_error(env, NULL, "data is a Uint8Array");
    return NULL;
  }
  napi_typedarray_type type;
  size_t count;
  void *data;
  napi_get_typedarray_info(env, argv[2], &type, &count, &data, NULL, NULL);
  if (type != napi_uint8_array || length < 0 || (size_t)length > count || segment <= 0 ||
      segment > 65507 || port <= 0 || port > 65535 || (family != 4 && family != 6)) {
    napi_throw_range_error(env, NULL, "data, length, segmentSize, port or family out of range");
    return NULL;
  }
  char host[80];
  size_t hostLen;
  if (napi_get_value_string_utf8(env, argv[5], host, sizeof(host), &hostLen) != napi_ok ||
      hostLen >= sizeof(host) - 1) {
    napi_throw_type_error(env, NULL, "host is an IP address string");
    return NULL;
  }
  struct sockaddr_storage ss;
  socklen_t ssLen = to_sockaddr(&ss, family, host, port);
  if (ssLen == 0) return number(env, -EAFNOSUPPORT);

  struct iovec iov = {.iov_base = data, .iov_len = (size_t)length};
  char control[CMSG_SPACE(sizeof(uint16_t))];
  struct msghdr msg;
  memset(&msg, 0, sizeof(msg));
  msg.msg_name = &ss;
  msg.msg_namelen = ssLen;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (length > segment) {
    memset(control, 0, sizeof(control));
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_UDP;
    cm->cmsg_type = UDP_SEGMENT;
    cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    uint16_t seg = (uint16_t)segment;
    memcpy(CMSG_DATA(cm), &seg, sizeof(seg));
  }
  ssize_t sent;
  do {
    sent = sendmsg(fd, &msg, MSG_DONTWAIT);
  } while (sent < 0 && errno == EINTR);
  return number(env, sent < 0 ? -errno : (double)sent);
}

#define RECV_MAX 64
// Bytes of `meta` per datagram: length (u32), port (u16), family (u8: 4 or 6),
// address text length (u8), address text as Node's dgram formats it
// (libuv's inet_ntop, "%ifname" after a link-local IPv6 address).
#define RECV_META 72

static uint8_t *typed_u8(napi_env env, napi_value v, size_t *len) {
  bool isTyped = false;
  napi_is_typedarray(env, v, &isTyped);
  if (!isTyped) return NULL;
  napi_typedarray_type type;
  void *data;
  napi_get_typedarray_info(env, v, &type, len, &data, NULL, NULL);
  return type == napi_uint8_array ? (uint8_t *)data : NULL;
}

// recv(fd, buffer: Uint8Array, slot, max, meta: Uint8Array)
//   -> datagrams read (0 when none waits), or -errno.
// Datagram i is at buffer[i * slot], its length and source in meta[i * 72].
// A datagram longer than `slot` reads as length 0xffffffff (truncated: drop it).
// Throws TypeError / RangeError on bad arguments.
static napi_value Recv(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 5) {
    napi_throw_type_error(env, NULL, "recv(fd, buffer, slot, max, meta)");
    return NULL;
  }
  int32_t fd, slot, max;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      napi_get_value_int32(env, argv[2], &slot) != napi_ok ||
      napi_get_value_int32(env, argv[3], &max) != napi_ok) {
    napi_throw_type_error(env, NULL, "fd, slot and max are integers");
    return NULL;
  }
  size_t bufLen, metaLen;
  uint8_t *buf = typed_u8(env, argv[1], &bufLen);
  uint8_t *meta = typed_u8(env, argv[4], &metaLen);
  if (buf == NULL || meta == NULL) {
    napi_throw_type_error(env, NULL, "buffer and meta are Uint8Arrays");
    return NULL;
  }
  if (fd < 0 || slot < 1 || slot > 65536 || max < 1 || max > RECV_MAX ||
      bufLen < (size_t)slot * (size_t)max || metaLen < (size_t)RECV_META * (size_t)max) {
    napi_throw_range_error(env, NULL, "fd, slot, max, buffer or meta out of range");
    return NULL;
  }
  struct mmsghdr msgs[RECV_MAX];
  struct iovec iovs[RECV_MAX];
  struct sockaddr_storage addrs[RECV_MAX];
  memset(msgs, 0, sizeof(struct mmsghdr) * (size_t)max);
  for (int i = 0; i < max; i++) {
    iovs[i].iov_base = buf + (size_t)i * (size_t)slot;
    iovs[i].iov_len = (size_t)slot;
    msgs[i].msg_hdr.msg_iov = &iovs[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &addrs[i];
    msgs[i].msg_hdr.msg_namelen = sizeof(addrs[i]);
  }
  int n;
  do {
    n = recvmmsg(fd, msgs, (unsigned int)max, MSG_DONTWAIT, NULL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return number(env, (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno);
  for (int i = 0; i < n; i++) {
    uint8_t *m = meta + (size_t)i * RECV_META;
    memset(m, 0, RECV_META);
    uint32_t len = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ? 0xffffffffu : msgs[i].msg_len;
    memcpy(m, &len, 4);
    char *text = (char *)(m + 8);
    size_t room = RECV_META - 8;
    const struct sockaddr *sa = (const struct sockaddr *)&addrs[i];
    uint16_t port = 0;
    if (sa->sa_family == AF_INET) {
      const struct sockaddr_in *a4 = (const struct sockaddr_in *)sa;
      port = ntohs(a4->sin_port);
      m[6] = 4;
      uv_inet_ntop(AF_INET, &a4->sin_addr, text, room);
    } else if (sa->sa_family == AF_INET6) {
      const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)sa;
      port = ntohs(a6->sin6_port);
      m[6] = 6;
      uv_inet_ntop(AF_INET6, &a6->sin6_addr, text, room);
      if (IN6_IS_ADDR_LINKLOCAL(&a6->sin6_addr) && a6->sin6_scope_id > 0) {
        size_t at = strlen(text);
        if (at + 1 + UV_IF_NAMESIZE < room) {
          size_t idLen = room - at - 1;
          text[at] = '%';
          if (uv_if_indextoiid(a6->sin6_scope_id, text + at + 1, &idLen) != 0) text[at] = 0;
        }
      }
    }
    memcpy(m + 4, &port, 2);
    m[7] = (uint8_t)strnlen(text, room - 1);
  }
  return number(env, n);
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "send", NAPI_AUTO_LENGTH, Send, NULL, &fn);
  napi_set_named_property(env, exports, "send", fn);
  napi_create_function(env, "recv", NAPI_AUTO_LENGTH, Recv, NULL, &fn);
  napi_set_named_property(env, exports, "recv", fn);
  return exports;
}
