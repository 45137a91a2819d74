/* SPDX-License-Identifier: GPL-2.0 */
/*
 * IBTRS: reliable RDMA transport, wire-compatible with Linux RTRS protocol
 * 2.0. The public C API of the ibtrs-client and ibtrs-server modules.
 *
 * Model (see docs/ibtrs.md): a client *session* (one per client and session
 * name) has one or more *paths* to one server; each path is one RDMA-CM
 * endpoint pair with one admin connection plus one per CPU (plus
 * nr_poll_queues poll connections, see ibtrs_clt_rdma_cq_direct). The server
 * allocates queue_depth chunks of memory once per session; a client *permit*
 * is one chunk = one request in flight. A request is one WRITE (data and a
 * user header go to the server) or one READ (the user header goes to the
 * server, which answers with data written into the client's buffer).
 *
 * Errors: functions returning a pointer return ERR_PTR(-errno); int
 * functions return 0 or -errno. Names are at most 55 characters (modpost).
 *
 * Included by C users (kernel headers available) and by the C++ modules
 * (__cplusplus: kernel types are declared opaquely, struct kvec by layout,
 * which the C side static_asserts).
 */
#ifndef IBTRS_H
#define IBTRS_H

#ifdef __cplusplus
#include <kx/types.h>
struct scatterlist;
/* struct kvec of <linux/uio.h>; layout pinned by ibtrs/common/api_check.h */
struct kvec {
	void *iov_base;
	kx::usize iov_len;
};
typedef kx::u8 ibtrs_u8;
typedef kx::u16 ibtrs_u16;
typedef kx::u32 ibtrs_u32;
typedef kx::i16 ibtrs_s16;
typedef kx::usize ibtrs_size_t;
#define IBTRS_EXTERN_C extern "C"
#define IBTRS_NOEXCEPT noexcept
#else
#include <linux/types.h>
#include <linux/uio.h>
#include <linux/scatterlist.h>
typedef u8 ibtrs_u8;
typedef u16 ibtrs_u16;
typedef u32 ibtrs_u32;
typedef s16 ibtrs_s16;
typedef size_t ibtrs_size_t;
#define IBTRS_EXTERN_C
#define IBTRS_NOEXCEPT
#endif

/* Default RDMA-CM port (upstream RTRS_PORT). */
#define IBTRS_PORT 1234
/* Paths per session (upstream MAX_PATHS_NUM). */
#define IBTRS_MAX_PATHS 128
/* Session names: the INFO_REQ path name field, NUL included (NAME_MAX). */
#define IBTRS_SESSNAME_MAX 255
/* Longest "ip:<addr>" / "gid:<gid>" string of one endpoint, NUL included. */
#define IBTRS_ADDR_STR_MAX 80

/* Request direction (upstream READ/WRITE). */
enum ibtrs_dir {
	IBTRS_READ = 0,
	IBTRS_WRITE = 1,
};

/* ====================================================================== */
/* Client (ibtrs-client.ko)                                               */
/* ====================================================================== */

struct ibtrs_clt_sess;
struct ibtrs_permit;

enum ibtrs_clt_link_ev {
	/* The first path of a session that had none came (back) up. */
	IBTRS_CLT_LINK_EV_RECONNECTED = 0,
	/* The last connected path of the session went down. */
	IBTRS_CLT_LINK_EV_DISCONNECTED = 1,
};

struct ibtrs_clt_ops {
	void *priv;
	/* Process context. Never called during ibtrs_clt_open(). */
	void (*link_ev)(void *priv, enum ibtrs_clt_link_ev ev);
};

/*
 * One path: "ip:<IPv4|IPv6>" or "gid:<GID>" strings. src may be NULL or ""
 * (the routing table picks the source).
 */
struct ibtrs_addr {
	const char *src;
	const char *dst;
};

/*
 * Opens a session named sessname (1..254 chars, no '/' or '.') over paths.
 * Blocks until every path is connected or failed; succeeds if at least one
 * path connected. pdu_sz: bytes of user data per permit
 * (ibtrs_permit_to_pdu). reconnect_delay_sec: delay before a failed path
 * reconnects; max_reconnect_attempts: -1 forever, 0 never. nr_poll_queues:
 * extra connections per path (after the admin and per-CPU ones, counted in
 * the CONN_REQ cid_num as upstream) whose completion queues have no
 * interrupt handler: their completions are reaped only by
 * ibtrs_clt_rdma_cq_direct (0 = none; -EINVAL if a path would exceed 4096
 * connections).
 * Process context. Returns ERR_PTR(-errno).
 */
IBTRS_EXTERN_C struct ibtrs_clt_sess *
ibtrs_clt_open(const struct ibtrs_clt_ops *ops, const char *sessname,
	       const struct ibtrs_addr *paths, ibtrs_size_t paths_num, ibtrs_u16 port,
	       ibtrs_size_t pdu_sz, ibtrs_u8 reconnect_delay_sec,
	       ibtrs_s16 max_reconnect_attempts, ibtrs_u32 nr_poll_queues) IBTRS_NOEXCEPT;

/*
 * Closes every path. Requests still in flight complete with -ECONNABORTED
 * before it returns. All permits must have been put back (a permit put from
 * a completion callback that runs inside close is fine). Process context.
 */
IBTRS_EXTERN_C void ibtrs_clt_close(struct ibtrs_clt_sess *sess) IBTRS_NOEXCEPT;

enum ibtrs_clt_con_type {
	IBTRS_ADMIN_CON = 0, /* goes out on the admin connection (con 0) */
	IBTRS_IO_CON = 1,    /* goes out on the connection of the submitting CPU */
	IBTRS_POLL_CON = 2,  /* set by ibtrs_clt_permit_set_poll only */
};

enum ibtrs_permit_wait {
	IBTRS_PERMIT_NOWAIT = 0, /* any context; NULL if none is free */
	IBTRS_PERMIT_WAIT = 1,   /* process context; sleeps until one is free */
};

IBTRS_EXTERN_C struct ibtrs_permit *
ibtrs_clt_get_permit(struct ibtrs_clt_sess *sess, enum ibtrs_clt_con_type con_type,
		     enum ibtrs_permit_wait wait) IBTRS_NOEXCEPT;
/* Any context. The permit must not be in use by a request. */
IBTRS_EXTERN_C void ibtrs_clt_put_permit(struct ibtrs_clt_sess *sess,
					 struct ibtrs_permit *permit) IBTRS_NOEXCEPT;
/*
 * Routes the next requests sent with permit (until it is put back) to poll
 * connection index (0..nr_poll_queues-1) of whichever path carries them; the
 * caller must then call ibtrs_clt_rdma_cq_direct(sess, index) until conf_fn
 * ran (a path teardown still completes or fails over the request by itself).
 * -EINVAL if index >= nr_poll_queues. Any context, before ibtrs_clt_request.
 */
IBTRS_EXTERN_C int ibtrs_clt_permit_set_poll(struct ibtrs_clt_sess *sess,
					     struct ibtrs_permit *permit,
					     unsigned int index) IBTRS_NOEXCEPT;
/* pdu_sz bytes of user data that belong to the permit (8-byte aligned). */
IBTRS_EXTERN_C void *ibtrs_permit_to_pdu(struct ibtrs_permit *permit) IBTRS_NOEXCEPT;

struct ibtrs_clt_req_ops {
	void *priv;
	/*
	 * Completion: errno 0 or negative (server's errno, -ECONNABORTED when
	 * the path closed, -ETIMEDOUT when the request timed out). Called
	 * once per accepted request, from softirq or process context.
	 */
	void (*conf_fn)(void *priv, int err);
};

/*
 * Sends one request with permit. usr/nr: the user header (at most
 * max_hdr_size - 24 bytes in total, copied before return). data_len bytes in
 * sg[0..sg_cnt): the source (WRITE) or destination (READ), at most
 * max_io_size bytes and max_segments entries; each entry but the first must
 * start on a page boundary and each but the last end on one. Any context
 * (no sleeping, no allocation). Returns 0 (conf_fn will be called) or
 * -errno (it will not): -ECONNABORTED no connected path, -EMSGSIZE too big,
 * -EINVAL bad arguments.
 */
IBTRS_EXTERN_C int ibtrs_clt_request(int dir, const struct ibtrs_clt_req_ops *ops,
				     struct ibtrs_clt_sess *sess, struct ibtrs_permit *permit,
				     const struct kvec *usr, ibtrs_size_t nr,
				     ibtrs_size_t data_len, struct scatterlist *sg,
				     unsigned int sg_cnt) IBTRS_NOEXCEPT;

/*
 * Reaps the completions of poll connection index on every connected path,
 * running their conf_fn here, in the caller's context (task context for
 * blk-mq: a polled bio must not complete with BH disabled). Returns how many completions
 * (CQEs, not requests) it reaped, -ENOTCONN when no path is connected,
 * -EINVAL if index >= nr_poll_queues. Any context but hard IRQ; concurrent
 * callers on one index do not block each other (one of them reaps).
 */
IBTRS_EXTERN_C int ibtrs_clt_rdma_cq_direct(struct ibtrs_clt_sess *sess,
					    unsigned int index) IBTRS_NOEXCEPT;

struct ibtrs_attrs {
	ibtrs_u32 queue_depth;  /* permits */
	ibtrs_u32 max_io_size;  /* bytes of data per request */
	ibtrs_u32 max_segments; /* scatterlist entries per request */
	ibtrs_u32 max_hdr_size; /* room for user header + transport trailer */
};

IBTRS_EXTERN_C int ibtrs_clt_query(struct ibtrs_clt_sess *sess,
				   struct ibtrs_attrs *attr) IBTRS_NOEXCEPT;

/*
 * The name ("<src>@<dst>", as in sysfs paths/) of the path whose connect
 * fired the last IBTRS_CLT_LINK_EV_RECONNECTED, NUL-terminated and cut to
 * len. -ENOENT if no RECONNECTED has fired yet. Process context.
 */
IBTRS_EXTERN_C int ibtrs_clt_reconnected_path(struct ibtrs_clt_sess *sess, char *buf,
					      ibtrs_size_t len) IBTRS_NOEXCEPT;

/* ====================================================================== */
/* Server (ibtrs-server.ko)                                               */
/* ====================================================================== */

struct ibtrs_srv_ctx;
struct ibtrs_srv_sess;
struct ibtrs_srv_op;

enum ibtrs_srv_link_ev {
	IBTRS_SRV_LINK_EV_CONNECTED = 0,    /* first path of a new session is up */
	IBTRS_SRV_LINK_EV_DISCONNECTED = 1, /* last path gone; the session is freed after this */
};

struct ibtrs_srv_ops {
	/*
	 * One request. dir: IBTRS_WRITE (data/datalen is what the client
	 * wrote) or IBTRS_READ (data/datalen is the buffer whose content goes
	 * back to the client). usr/usrlen: the user header. priv: the
	 * session's private data (ibtrs_srv_set_sess_priv). Softirq context.
	 * The request holds its chunk until ibtrs_srv_resp_rdma(id, errno);
	 * a non-zero return answers it at once with that errno instead.
	 */
	int (*rdma_ev)(void *priv, struct ibtrs_srv_op *id, int dir, void *data,
		       ibtrs_u32 datalen, const void *usr, ibtrs_u32 usrlen);
	/* Process context. */
	int (*link_ev)(struct ibtrs_srv_sess *sess, enum ibtrs_srv_link_ev ev, void *priv);
};

/* Listens on port (IPv4 and IPv6). Process context. ERR_PTR(-errno). */
IBTRS_EXTERN_C struct ibtrs_srv_ctx *ibtrs_srv_open(const struct ibtrs_srv_ops *ops,
						    ibtrs_u16 port) IBTRS_NOEXCEPT;
/* Stops listening and closes every session (link_ev DISCONNECTED for each). */
IBTRS_EXTERN_C void ibtrs_srv_close(struct ibtrs_srv_ctx *ctx) IBTRS_NOEXCEPT;
/*
 * Completes request id with errno (0 or negative, |errno| < 512). Any
 * context, exactly once per request. Returns false if the path is gone (the
 * answer was dropped; the client sees the path fail).
 */
IBTRS_EXTERN_C bool ibtrs_srv_resp_rdma(struct ibtrs_srv_op *id, int err) IBTRS_NOEXCEPT;
IBTRS_EXTERN_C void ibtrs_srv_set_sess_priv(struct ibtrs_srv_sess *sess,
					    void *priv) IBTRS_NOEXCEPT;
/* Copies the session name (NUL-terminated); returns its length or -errno. */
IBTRS_EXTERN_C int ibtrs_srv_get_path_name(struct ibtrs_srv_sess *sess, char *pathname,
					   ibtrs_size_t len) IBTRS_NOEXCEPT;
IBTRS_EXTERN_C int ibtrs_srv_get_queue_depth(struct ibtrs_srv_sess *sess) IBTRS_NOEXCEPT;

#endif /* IBTRS_H */
