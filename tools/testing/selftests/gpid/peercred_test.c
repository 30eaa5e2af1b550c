// SPDX-License-Identifier: GPL-2.0
/*
 * Peer identities (GPID_FEATURE_PEERCRED): GPID_IOC_PEER (the peer a unix socket captured,
 * what SO_PEERCRED reports, plus its gpid) and GPID_IOC_PIDFD (the process behind a pidfd,
 * such as the SCM_PIDFD the kernel attaches to each received message).
 *
 * A server and a client in {same, parent->child, child->parent, siblings} PID namespaces,
 * over stream, seqpacket and datagram sockets made by socketpair() or connect(), with the
 * client's namespace exporting its gpids or not, and the client alive or reaped at the query.
 * Every answer is compared with exact values and with the stock SO_PEERCRED/SCM_CREDENTIALS.
 */
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <linux/netlink.h>
#include "gpid_test.h"
#include "kselftest_harness.h"

#ifndef SO_PASSPIDFD
#define SO_PASSPIDFD 76
#endif
#ifndef SCM_PIDFD
#define SCM_PIDFD 0x04
#endif

#define CLIENT_UID 1234
#define CLIENT_GID 5678
#define SOCK_PATH "/tmp/gpid-peercred.sock"

/* Where server and client live; "a->b" is server in a, client in b. */
static const struct topo {
	const char *name;
	bool server_new_ns, client_new_ns;
	bool client_visible;	/* whether the server can see the client */
} topos[] = {
	{ "same", false, false, true },
	{ "parent->child", false, true, true },
	{ "child->parent", true, false, false },
	{ "siblings", true, true, false },
};

struct scenario {
	const struct topo *topo;
	int type;		/* SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM */
	bool pair;		/* socketpair() made by the client, else connect() */
	bool export;		/* the client's namespace exports its gpids */
	bool die;		/* the client is reaped before the server asks */
	bool module;		/* gpid.ko is loaded (else only the stock answers are checked) */
};

/* What the server saw, sent back to the test process. */
struct seen {
	int peer_ret, peer_errno;
	struct gpid_peer peer;
	int so_ret;
	struct ucred so;
	int recv_ret;
	bool have_cred, have_pidfd, ctrunc;
	int pidfd;		/* SCM_PIDFD's value: an fd, or -errno for a reaped sender */
	struct ucred msg;
	int pidfd_ret, pidfd_errno;
	struct gpid_pidfd pfd;
};

/* What the client reports: its own identity, then a byte once its message is sent. */
struct client_report {
	struct gpid_self self;
	int self_ret;
};

struct chan {
	int ctl[2];	/* server <-> client: readiness, SCM_RIGHTS */
	int res[2];	/* server -> test: struct seen */
	int rep[2];	/* client -> test: struct client_report, then "sent" */
	int go[2];	/* test -> server: ask now */
	int bye[2];	/* test -> client: exit now */
};

static const char *type_name(int type)
{
	return type == SOCK_STREAM ? "stream" : type == SOCK_DGRAM ? "dgram" : "seqpacket";
}

static pid_t spawn(bool new_ns)
{
	if (new_ns)
		return syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0);
	return fork();
}

static int send_fd(int sock, int fd)
{
	char buf[CMSG_SPACE(sizeof(int))] = { 0 };
	char byte = 'F';
	struct iovec iov = { &byte, 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = buf, .msg_controllen = sizeof(buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char buf[CMSG_SPACE(sizeof(int))];
	char byte;
	struct iovec iov = { &byte, 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = buf, .msg_controllen = sizeof(buf) };
	struct cmsghdr *c;
	int fd;

	if (recvmsg(sock, &msg, 0) != 1)
		return -1;
	c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

static int read_byte(int fd)
{
	char b;

	return read(fd, &b, 1) == 1 ? 0 : -1;
}

static int write_byte(int fd)
{
	return write(fd, "x", 1) == 1 ? 0 : -1;
}

static struct sockaddr_un sock_addr(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	strcpy(a.sun_path, SOCK_PATH);
	return a;
}

/* Receives one message with its SCM_CREDENTIALS and SCM_PIDFD, and asks gpid about the pidfd. */
static void receive_one(int fd, int dev, struct seen *s)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int)) + 64];
		struct cmsghdr align;
	} u;
	char data[64];
	struct iovec iov = { data, sizeof(data) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	int pidfd = -1;

	s->recv_ret = recvmsg(fd, &msg, 0);
	s->ctrunc = msg.msg_flags & MSG_CTRUNC;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SCM_CREDENTIALS) {
			s->have_cred = true;
			memcpy(&s->msg, CMSG_DATA(c), sizeof(s->msg));
		} else if (c->cmsg_type == SCM_PIDFD) {
			s->have_pidfd = true;
			memcpy(&pidfd, CMSG_DATA(c), sizeof(int));
			s->pidfd = pidfd;
		}
	}
	if (pidfd >= 0 && dev >= 0) {
		s->pfd = (struct gpid_pidfd){ .pidfd = pidfd };
		s->pidfd_ret = ioctl(dev, GPID_IOC_PIDFD, &s->pfd);
		s->pidfd_errno = errno;
	}
	if (pidfd >= 0)
		close(pidfd);
}

static int server(const struct scenario *sc, struct chan *ch)
{
	struct seen s = { 0 };
	struct sockaddr_un a = sock_addr();
	socklen_t len = sizeof(s.so);
	int one = 1, fd, dev;

	if (sc->pair) {
		fd = recv_fd(ch->ctl[0]);
	} else {
		int l = socket(AF_UNIX, sc->type, 0);

		if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || chmod(SOCK_PATH, 0777))
			return 10;
		if (sc->type != SOCK_DGRAM && listen(l, 1))
			return 11;
		if (write_byte(ch->ctl[0]))
			return 12;
		fd = sc->type == SOCK_DGRAM ? l : accept(l, NULL, NULL);
	}
	if (fd < 0)
		return 13;
	if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_PASSPIDFD, &one, sizeof(one)))
		return 14;
	if (read_byte(ch->go[0]))
		return 15;
	dev = sc->module ? open("/dev/gpid", O_RDONLY | O_CLOEXEC) : -1;
	if (sc->module && dev < 0)
		return 16;
	if (dev >= 0) {
		s.peer = (struct gpid_peer){ .fd = fd };
		s.peer_ret = ioctl(dev, GPID_IOC_PEER, &s.peer);
		s.peer_errno = errno;
	}
	s.so_ret = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &s.so, &len);
	receive_one(fd, dev, &s);
	return write(ch->res[1], &s, sizeof(s)) == sizeof(s) ? 0 : 17;
}

static int client(const struct scenario *sc, struct chan *ch)
{
	struct client_report r = { 0 };
	int one = 1, s, dev;

	if (setresgid(CLIENT_GID, CLIENT_GID, CLIENT_GID) ||
	    setresuid(CLIENT_UID, CLIENT_UID, CLIENT_UID))
		return 20;
	dev = open("/dev/gpid", O_RDONLY | O_CLOEXEC);
	r.self_ret = dev < 0 ? -1 : ioctl(dev, GPID_IOC_SELF, &r.self);
	if (write(ch->rep[1], &r, sizeof(r)) != sizeof(r))
		return 21;
	if (sc->pair) {
		int sv[2];

		if (socketpair(AF_UNIX, sc->type, 0, sv) || send_fd(ch->ctl[1], sv[1]))
			return 22;
		close(sv[1]);
		s = sv[0];
	} else {
		struct sockaddr_un a = sock_addr();

		s = socket(AF_UNIX, sc->type, 0);
		if (s < 0 || read_byte(ch->ctl[1]) ||
		    connect(s, (struct sockaddr *)&a, sizeof(a)))
			return 23;
	}
	/* Credentials go with every message this socket sends. */
	if (setsockopt(s, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) || send(s, "m", 1, 0) != 1)
		return 24;
	if (write_byte(ch->rep[1]))
		return 25;
	return read_byte(ch->bye[0]) ? 26 : 0;
}

/* One ioctl on a fresh /dev/gpid fd (so that no fd stays open across module unloads). */
static int dev_ioctl(unsigned long cmd, void *arg)
{
	int dev = open("/dev/gpid", O_RDONLY | O_CLOEXEC), ret, e;

	if (dev < 0)
		return -1;
	ret = ioctl(dev, cmd, arg);
	e = errno;
	close(dev);
	errno = e;
	return ret;
}

static int set_export(pid_t pid, bool on)
{
	struct gpid_ns_set set = { .pid = pid, .flags = GPID_NS_SET_POLICY,
				   .policy = on ? GPID_POLICY_EXPORT : 0 };

	return dev_ioctl(GPID_IOC_NS_SET, &set);
}

static int wait_ok(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/*
 * Runs one scenario and checks everything the server saw. Returns through the harness's
 * EXPECT/ASSERT macros (so it is a macro-using helper taking _metadata).
 */
static void run(struct __test_metadata *_metadata, const struct scenario *sc)
{
	const struct topo *t = sc->topo;
	struct chan ch;
	struct client_report rep;
	struct seen s;
	pid_t srv, cli;
	char what[128];
	bool captured = sc->pair || sc->type != SOCK_DGRAM;	/* dgram connect() captures none */
	pid_t want_pid;
	__u32 want_gpid;

	snprintf(what, sizeof(what), "%s %s %s export=%d die=%d module=%d", t->name,
		 type_name(sc->type), sc->pair ? "socketpair" : "connect", sc->export, sc->die,
		 sc->module);
	unlink(SOCK_PATH);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ch.ctl));
	ASSERT_EQ(0, pipe2(ch.res, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(ch.rep, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(ch.go, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(ch.bye, O_CLOEXEC));

	srv = spawn(t->server_new_ns);
	ASSERT_LE(0, srv);
	if (srv == 0)
		_exit(server(sc, &ch));
	cli = spawn(t->client_new_ns);
	ASSERT_LE(0, cli);
	if (cli == 0)
		_exit(client(sc, &ch));
	close(ch.res[1]);
	close(ch.rep[1]);
	close(ch.go[0]);
	close(ch.bye[0]);

	ASSERT_EQ(sizeof(rep), read(ch.rep[0], &rep, sizeof(rep))) TH_LOG("%s", what);
	if (sc->module)
		ASSERT_EQ(0, rep.self_ret) TH_LOG("%s", what);
	ASSERT_EQ(0, read_byte(ch.rep[0])) TH_LOG("%s: the client did not send", what);
	if (sc->export)
		ASSERT_EQ(0, set_export(t->client_new_ns ? cli : 0, true)) TH_LOG("%s", what);
	if (sc->die) {
		ASSERT_EQ(0, write_byte(ch.bye[1]));
		ASSERT_EQ(0, wait_ok(cli)) TH_LOG("%s", what);
	}
	ASSERT_EQ(0, write_byte(ch.go[1]));
	ASSERT_EQ(sizeof(s), read(ch.res[0], &s, sizeof(s))) TH_LOG("%s: server failed", what);
	EXPECT_EQ(0, wait_ok(srv)) TH_LOG("%s", what);
	if (sc->export && !(sc->die && t->client_new_ns))
		EXPECT_EQ(0, set_export(t->client_new_ns ? cli : 0, false)) TH_LOG("%s", what);
	if (!sc->die) {
		EXPECT_EQ(0, write_byte(ch.bye[1]));
		EXPECT_EQ(0, wait_ok(cli)) TH_LOG("%s", what);
	}
	close(ch.bye[1]);
	close(ch.res[0]);
	close(ch.rep[0]);
	close(ch.go[1]);
	close(ch.ctl[0]);
	close(ch.ctl[1]);
	unlink(SOCK_PATH);

	/* The server sits in init's namespace whenever it can see the client. */
	want_pid = t->client_visible ? cli : 0;
	want_gpid = sc->module && (t->client_visible || sc->export) ? rep.self.tgid : 0;

	/* Stock SO_PEERCRED: the client as captured, or nothing for a connect()ed datagram. */
	ASSERT_EQ(0, s.so_ret) TH_LOG("%s", what);
	EXPECT_EQ(captured ? want_pid : 0, s.so.pid) TH_LOG("%s", what);
	EXPECT_EQ(captured ? CLIENT_UID : (uid_t)-1, s.so.uid) TH_LOG("%s", what);
	EXPECT_EQ(captured ? CLIENT_GID : (gid_t)-1, s.so.gid) TH_LOG("%s", what);
	/* Stock SCM_CREDENTIALS of the message, and its SCM_PIDFD ... */
	ASSERT_EQ(1, s.recv_ret) TH_LOG("%s", what);
	EXPECT_TRUE(s.have_cred) TH_LOG("%s", what);
	EXPECT_EQ(want_pid, s.msg.pid) TH_LOG("%s", what);
	EXPECT_EQ(CLIENT_UID, s.msg.uid) TH_LOG("%s", what);
	EXPECT_EQ(CLIENT_GID, s.msg.gid) TH_LOG("%s", what);
	/* ... which is a pidfd even once the sender is reaped (7.x: a PIDFD_STALE pidfd; 6.x gave
	 * -EINVAL in place of the fd) */
	EXPECT_TRUE(s.have_pidfd) TH_LOG("%s", what);
	EXPECT_FALSE(s.ctrunc) TH_LOG("%s", what);
	EXPECT_LE(0, s.pidfd) TH_LOG("%s: %d", what, s.pidfd);
	if (!sc->module)
		return;

	/* GPID_IOC_PEER: SO_PEERCRED's answer, plus the gpid and liveness. */
	ASSERT_EQ(0, s.peer_ret) TH_LOG("%s: %s", what, strerror(s.peer_errno));
	EXPECT_EQ(s.so.pid, s.peer.pid) TH_LOG("%s", what);
	EXPECT_EQ(s.so.uid, s.peer.uid) TH_LOG("%s", what);
	EXPECT_EQ(s.so.gid, s.peer.gid) TH_LOG("%s", what);
	EXPECT_EQ(captured ? want_gpid : 0, s.peer.gpid) TH_LOG("%s", what);
	EXPECT_EQ(captured ? GPID_PEER_KNOWN | (sc->die ? 0 : GPID_PEER_ALIVE) : 0, s.peer.state)
		TH_LOG("%s", what);
	EXPECT_EQ(0, s.peer.flags);
	EXPECT_EQ(0, s.peer.reserved);
	/* GPID_IOC_PIDFD on the message's SCM_PIDFD: the sender of exactly that message, alive or
	 * reaped (then as GPID_IOC_PEER reports a reaped peer: its identity, not alive). */
	ASSERT_EQ(0, s.pidfd_ret) TH_LOG("%s: %s", what, strerror(s.pidfd_errno));
	EXPECT_EQ(want_pid, s.pfd.pid) TH_LOG("%s", what);
	EXPECT_EQ(want_gpid, s.pfd.gpid) TH_LOG("%s", what);
	EXPECT_EQ(GPID_PEER_KNOWN | (sc->die ? 0 : GPID_PEER_ALIVE), s.pfd.state) TH_LOG("%s", what);
}

static void run_topology(struct __test_metadata *_metadata, const struct topo *t)
{
	static const int types[] = { SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM };

	for (int ti = 0; ti < 3; ti++)
		for (int mode = 0; mode < 8; mode++) {
			struct scenario sc = {
				.topo = t, .type = types[ti], .pair = mode & 1,
				.export = mode & 2, .die = mode & 4, .module = true,
			};

			run(_metadata, &sc);
		}
}

TEST(same) { run_topology(_metadata, &topos[0]); }
TEST(parent_to_child) { run_topology(_metadata, &topos[1]); }
TEST(child_to_parent) { run_topology(_metadata, &topos[2]); }
TEST(siblings) { run_topology(_metadata, &topos[3]); }

/* The module changes neither SO_PEERCRED nor SCM_CREDENTIALS nor SCM_PIDFD: the same checks
 * pass with it unloaded and loaded. */
TEST(stock_answers_unchanged_by_module)
{
	for (int loaded = 0; loaded < 2; loaded++) {
		ASSERT_EQ(0, loaded ? gpid_load_module() : gpid_unload_module());
		for (size_t t = 0; t < sizeof(topos) / sizeof(topos[0]); t++)
			for (int mode = 0; mode < 4; mode++) {
				struct scenario sc = {
					.topo = &topos[t],
					.type = mode & 2 ? SOCK_DGRAM : SOCK_STREAM,
					.pair = mode & 1, .module = false,
				};

				run(_metadata, &sc);
			}
	}
	/* devtmpfs creates the node asynchronously. */
	for (int i = 0; i < 200 && access("/dev/gpid", F_OK); i++)
		usleep(10000);
}

static int peer(int fd, struct gpid_peer *p)
{
	*p = (struct gpid_peer){ .fd = fd };
	return dev_ioctl(GPID_IOC_PEER, p);
}

static int pidfd_query(int pidfd, struct gpid_pidfd *p)
{
	*p = (struct gpid_pidfd){ .pidfd = pidfd };
	return dev_ioctl(GPID_IOC_PIDFD, p);
}

static struct gpid_self self_ids(void)
{
	struct gpid_self me = { 0 };

	dev_ioctl(GPID_IOC_SELF, &me);
	return me;
}

/* What SO_PEERCRED says for fd, which must succeed. */
static struct ucred so_peercred(int fd)
{
	struct ucred u = { 0 };
	socklen_t len = sizeof(u);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &u, &len))
		u.pid = -12345;
	return u;
}

TEST(bad_fds)
{
	struct gpid_peer p;
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	/* A closed number no open() below can reuse (they take the lowest free one). */
	int closed = dup2(s, 200);
	int file = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	ASSERT_EQ(200, closed);
	ASSERT_LE(0, file);
	close(closed);
	close(s);
	errno = 0;
	EXPECT_EQ(-1, peer(-1, &p));
	EXPECT_EQ(EBADF, errno);
	errno = 0;
	EXPECT_EQ(-1, peer(closed, &p));
	EXPECT_EQ(EBADF, errno);
	errno = 0;
	EXPECT_EQ(-1, peer(1 << 30, &p));
	EXPECT_EQ(EBADF, errno);
	errno = 0;
	EXPECT_EQ(-1, peer(file, &p));
	EXPECT_EQ(ENOTSOCK, errno);
	close(file);
}

/* Sockets without a captured peer answer as SO_PEERCRED does for them: success, pid 0, ids
 * (u32)-1; the state says "no identity". */
TEST(sockets_without_peer)
{
	int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	int un = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int dg = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int fds[] = { nl, un, dg };
	const char *names[] = { "netlink", "unconnected unix stream", "unbound unix dgram" };

	for (int i = 0; i < 3; i++) {
		struct ucred u = so_peercred(fds[i]);
		struct gpid_peer p;

		ASSERT_LE(0, fds[i]) TH_LOG("%s: %s", names[i], strerror(errno));
		EXPECT_EQ(0, u.pid) TH_LOG("%s", names[i]);
		EXPECT_EQ((uid_t)-1, u.uid) TH_LOG("%s", names[i]);
		EXPECT_EQ((gid_t)-1, u.gid) TH_LOG("%s", names[i]);
		ASSERT_EQ(0, peer(fds[i], &p)) TH_LOG("%s: %s", names[i], strerror(errno));
		EXPECT_EQ(0, p.pid) TH_LOG("%s", names[i]);
		EXPECT_EQ(0, p.gpid) TH_LOG("%s", names[i]);
		EXPECT_EQ((__u32)-1, p.uid) TH_LOG("%s", names[i]);
		EXPECT_EQ((__u32)-1, p.gid) TH_LOG("%s", names[i]);
		EXPECT_EQ(0, p.state) TH_LOG("%s", names[i]);
		close(fds[i]);
	}
}

/* A listening socket reports its own owner as of listen(), as SO_PEERCRED does. */
TEST(listening_socket_is_its_owner)
{
	struct sockaddr_un a = sock_addr();
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct gpid_self me = self_ids();
	struct gpid_peer p;

	unlink(SOCK_PATH);
	ASSERT_EQ(0, bind(l, (struct sockaddr *)&a, sizeof(a)));
	ASSERT_EQ(0, listen(l, 1));
	ASSERT_EQ(0, peer(l, &p));
	EXPECT_EQ(getpid(), p.pid);
	EXPECT_EQ(so_peercred(l).pid, p.pid);
	EXPECT_EQ(me.tgid, p.gpid);
	EXPECT_EQ(getuid(), p.uid);
	EXPECT_EQ(GPID_PEER_KNOWN | GPID_PEER_ALIVE, p.state);
	close(l);
	unlink(SOCK_PATH);
}

/* A read-only page holding a valid argument: the answer cannot be written back. */
static void *ro_copy(const void *arg, size_t size)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memcpy(p, arg, size);
	return mprotect(p, 4096, PROT_READ) ? NULL : p;
}

TEST(bad_arguments)
{
	int sv[2], dev = open("/dev/gpid", O_RDONLY | O_CLOEXEC);
	int self = syscall(SYS_pidfd_open, getpid(), 0);
	struct gpid_peer p;
	struct gpid_pidfd pf;
	void *ro_peer, *ro_pidfd;

	ASSERT_LE(0, dev);
	ASSERT_LE(0, self);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	p = (struct gpid_peer){ .fd = sv[0], .flags = 1 };
	errno = 0;
	EXPECT_EQ(-1, ioctl(dev, GPID_IOC_PEER, &p));
	EXPECT_EQ(EINVAL, errno);
	p = (struct gpid_peer){ .fd = sv[0], .reserved = 1 };
	errno = 0;
	EXPECT_EQ(-1, ioctl(dev, GPID_IOC_PEER, &p));
	EXPECT_EQ(EINVAL, errno);
	pf = (struct gpid_pidfd){ .pidfd = self, .flags = 1 };
	errno = 0;
	EXPECT_EQ(-1, ioctl(dev, GPID_IOC_PIDFD, &pf));
	EXPECT_EQ(EINVAL, errno);
	pf = (struct gpid_pidfd){ .pidfd = self, .reserved = 1 };
	errno = 0;
	EXPECT_EQ(-1, ioctl(dev, GPID_IOC_PIDFD, &pf));
	EXPECT_EQ(EINVAL, errno);

	p = (struct gpid_peer){ .fd = sv[0] };
	pf = (struct gpid_pidfd){ .pidfd = self };
	ro_peer = ro_copy(&p, sizeof(p));
	ro_pidfd = ro_copy(&pf, sizeof(pf));
	ASSERT_NE(NULL, ro_peer);
	ASSERT_NE(NULL, ro_pidfd);
	for (int i = 0; i < 3; i++) {
		void *a = i == 0 ? NULL : i == 1 ? (void *)0xffff888000000000UL : ro_peer;
		void *b = i == 2 ? ro_pidfd : a;

		errno = 0;
		EXPECT_EQ(-1, ioctl(dev, GPID_IOC_PEER, a)) TH_LOG("ptr %p", a);
		EXPECT_EQ(EFAULT, errno) TH_LOG("ptr %p", a);
		errno = 0;
		EXPECT_EQ(-1, ioctl(dev, GPID_IOC_PIDFD, b)) TH_LOG("ptr %p", b);
		EXPECT_EQ(EFAULT, errno) TH_LOG("ptr %p", b);
	}
	/* The valid arguments themselves work. */
	EXPECT_EQ(0, ioctl(dev, GPID_IOC_PEER, &p));
	EXPECT_EQ(getpid(), p.pid);
	EXPECT_EQ(0, ioctl(dev, GPID_IOC_PIDFD, &pf));
	EXPECT_EQ(getpid(), pf.pid);
	munmap(ro_peer, 4096);
	munmap(ro_pidfd, 4096);
	close(sv[0]);
	close(sv[1]);
	close(self);
	close(dev);
}

TEST(pidfd_queries)
{
	struct gpid_self me = self_ids();
	struct gpid_pidfd pf;
	int sv[2], file = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	int self = syscall(SYS_pidfd_open, getpid(), 0), child_fd;
	pid_t child;

	ASSERT_LE(0, self);
	ASSERT_EQ(0, pidfd_query(self, &pf));
	EXPECT_EQ(getpid(), pf.pid);
	EXPECT_EQ(me.tgid, pf.gpid);
	EXPECT_EQ(GPID_PEER_KNOWN | GPID_PEER_ALIVE, pf.state);
	close(self);

	/* A reaped child: the identity stays, no longer alive. */
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0)
		_exit(0);
	child_fd = syscall(SYS_pidfd_open, child, 0);
	ASSERT_LE(0, child_fd);
	ASSERT_EQ(0, wait_ok(child));
	ASSERT_EQ(0, pidfd_query(child_fd, &pf));
	EXPECT_EQ(child, pf.pid);
	EXPECT_EQ(GPID_PEER_KNOWN, pf.state);
	close(child_fd);

	/* Not pidfds: EBADF, as pidfd_send_signal() and waitid(P_PIDFD) say. */
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	int bad[] = { -1, file, sv[0], 1 << 30 };

	for (int i = 0; i < 4; i++) {
		errno = 0;
		EXPECT_EQ(-1, pidfd_query(bad[i], &pf)) TH_LOG("fd %d", bad[i]);
		EXPECT_EQ(EBADF, errno) TH_LOG("fd %d", bad[i]);
	}
	close(sv[0]);
	close(sv[1]);
	close(file);
}

/*
 * Per-message identity with two senders on one datagram socket: one the server can see (its
 * own child), one it cannot (in the initial namespace, the server in a child namespace). Each
 * message's SCM_PIDFD names its own sender, whatever the interleaving.
 */
struct msg_claim {
	char who;
	pid_t pid_in_own_ns;
	__u32 gpid;
};

/* Sends three messages, then lives on until told to go (a reaped sender has no pidfd). */
static int dgram_sender(char who, int hold)
{
	struct sockaddr_un a = sock_addr();
	struct msg_claim m = { .who = who, .pid_in_own_ns = getpid(), .gpid = self_ids().tgid };
	int s = socket(AF_UNIX, SOCK_DGRAM, 0);

	for (int i = 0; i < 3; i++)
		if (sendto(s, &m, sizeof(m), 0, (struct sockaddr *)&a, sizeof(a)) != sizeof(m))
			return 1;
	return read_byte(hold) ? 2 : 0;
}

static int dgram_server(int ready, bool exported)
{
	struct sockaddr_un a = sock_addr();
	int one = 1, s = socket(AF_UNIX, SOCK_DGRAM, 0), dev = open("/dev/gpid", O_RDONLY);
	pid_t local;
	int hold[2];

	if (pipe(hold) || s < 0 || dev < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) ||
	    setsockopt(s, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) ||
	    setsockopt(s, SOL_SOCKET, SO_PASSPIDFD, &one, sizeof(one)))
		return 30;
	local = fork();
	if (local == 0)
		_exit(dgram_sender('L', hold[0]));
	if (write_byte(ready))
		return 31;
	for (int i = 0; i < 6; i++) {
		union {
			char buf[256];
			struct cmsghdr align;
		} u;
		struct msg_claim m;
		struct iovec iov = { &m, sizeof(m) };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
				      .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
		struct gpid_pidfd pf = { .pidfd = -1 };
		struct ucred cred = { .pid = -1 };
		bool visible;

		if (recvmsg(s, &msg, 0) != sizeof(m))
			return 32;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
			if (c->cmsg_type == SCM_PIDFD)
				memcpy(&pf.pidfd, CMSG_DATA(c), sizeof(int));
			else if (c->cmsg_type == SCM_CREDENTIALS)
				memcpy(&cred, CMSG_DATA(c), sizeof(cred));
		}
		if (pf.pidfd < 0 || ioctl(dev, GPID_IOC_PIDFD, &pf))
			return 33;
		close(pf.pidfd);
		visible = m.who == 'L';
		if (pf.pid != (visible ? local : 0) || pf.pid != cred.pid) {
			fprintf(stderr, "msg %d from %c: pid %d, want %d (ucred %d)\n", i, m.who,
				pf.pid, visible ? local : 0, cred.pid);
			return 34;
		}
		if (pf.gpid != (visible || exported ? m.gpid : 0)) {
			fprintf(stderr, "msg %d from %c: gpid %#x, want %#x\n", i, m.who, pf.gpid,
				visible || exported ? m.gpid : 0);
			return 35;
		}
	}
	return write_byte(hold[1]) || wait_ok(local) ? 36 : 0;
}

TEST(per_message_senders)
{
	for (int exported = 0; exported < 2; exported++) {
		int ready[2], hold[2];
		pid_t srv, remote;

		unlink(SOCK_PATH);
		ASSERT_EQ(0, set_export(0, exported));
		ASSERT_EQ(0, pipe(ready));
		ASSERT_EQ(0, pipe(hold));
		srv = spawn(true);
		ASSERT_LE(0, srv);
		if (srv == 0)
			_exit(dgram_server(ready[1], exported));
		close(ready[1]);
		ASSERT_EQ(0, read_byte(ready[0]));
		close(ready[0]);
		remote = fork();
		ASSERT_LE(0, remote);
		if (remote == 0)
			_exit(dgram_sender('R', hold[0]));
		EXPECT_EQ(0, wait_ok(srv)) TH_LOG("exported=%d", exported);
		EXPECT_EQ(0, write_byte(hold[1]));
		EXPECT_EQ(0, wait_ok(remote));
		close(hold[0]);
		close(hold[1]);
		EXPECT_EQ(0, set_export(0, false));
		unlink(SOCK_PATH);
	}
}

/*
 * Claims: gpid adds no claim path; the identity it reports for a message is the struct pid the
 * kernel attached after scm_check_creds(): an unprivileged sender may claim only itself.
 */
static int claim(int s, pid_t pid, uid_t uid, gid_t gid)
{
	struct ucred c = { .pid = pid, .uid = uid, .gid = gid };
	union {
		char buf[CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} u = { 0 };
	struct iovec iov = { "c", 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_CREDENTIALS;
	cm->cmsg_len = CMSG_LEN(sizeof(c));
	memcpy(CMSG_DATA(cm), &c, sizeof(c));
	return sendmsg(s, &msg, 0) == 1 ? 0 : -errno;
}

TEST(forged_claims_rejected)
{
	union {
		char buf[256];
		struct cmsghdr align;
	} u;
	char c;
	struct iovec iov = { &c, 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	struct ucred cred = { 0 };
	int sv[2], one = 1;
	pid_t child;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv));
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		pid_t me = getpid(), other = getppid();

		if (setresgid(CLIENT_GID, CLIENT_GID, CLIENT_GID) ||
		    setresuid(CLIENT_UID, CLIENT_UID, CLIENT_UID))
			_exit(1);
		if (claim(sv[1], other, CLIENT_UID, CLIENT_GID) != -EPERM)
			_exit(2);
		if (claim(sv[1], me, 0, CLIENT_GID) != -EPERM)
			_exit(3);
		if (claim(sv[1], me, CLIENT_UID, 0) != -EPERM)
			_exit(4);
		if (claim(sv[1], me, CLIENT_UID, CLIENT_GID) != 0)
			_exit(5);
		_exit(0);
	}
	EXPECT_EQ(0, wait_ok(child));
	/* The one accepted claim arrives as the child's own identity. */
	ASSERT_EQ(0, setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)));
	ASSERT_EQ(1, recvmsg(sv[0], &msg, MSG_DONTWAIT));
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
		if (cm->cmsg_type == SCM_CREDENTIALS)
			memcpy(&cred, CMSG_DATA(cm), sizeof(cred));
	EXPECT_EQ(child, cred.pid);
	EXPECT_EQ(CLIENT_UID, cred.uid);
	errno = 0;
	EXPECT_EQ(-1, recv(sv[0], &c, 1, MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	close(sv[0]);
	close(sv[1]);
}

static long counter(const char *name)
{
	char buf[512], *p;

	if (gpid_read_file("/proc/gpid/creds", buf, sizeof(buf)) < 0)
		return -1;
	for (p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
		if (!strncmp(p, name, strlen(name)) && p[strlen(name)] == ' ')
			return atol(p + strlen(name) + 1);
	return -1;
}

TEST(proc_creds_counters)
{
	static const char *names[] = { "queries", "visible", "exported", "hidden", "none" };
	long before[5], after[5];
	/* per scenario: GPID_IOC_PEER and GPID_IOC_PIDFD on the server's side */
	struct {
		const struct topo *t;
		bool export;
		long delta[5];
	} cases[] = {
		{ &topos[0], false, { 2, 2, 0, 0, 0 } },
		{ &topos[3], false, { 2, 0, 0, 2, 0 } },
		{ &topos[3], true, { 2, 0, 2, 0, 0 } },
	};
	char buf[512];

	ASSERT_LT(0, gpid_read_file("/proc/gpid/features", buf, sizeof(buf)));
	EXPECT_NE(NULL, strstr(buf, "peercred on\n"));
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct scenario sc = { .topo = cases[c].t, .type = SOCK_STREAM, .pair = true,
				       .export = cases[c].export, .module = true };

		for (int i = 0; i < 5; i++)
			before[i] = counter(names[i]);
		run(_metadata, &sc);
		for (int i = 0; i < 5; i++) {
			after[i] = counter(names[i]);
			ASSERT_LE(0, before[i]) TH_LOG("%s", names[i]);
			EXPECT_EQ(cases[c].delta[i], after[i] - before[i])
				TH_LOG("case %zu: %s", c, names[i]);
		}
	}
	/* A socket without a peer counts as "none". */
	{
		int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct gpid_peer p;

		before[0] = counter("queries");
		before[4] = counter("none");
		ASSERT_EQ(0, peer(s, &p));
		EXPECT_EQ(1, counter("queries") - before[0]);
		EXPECT_EQ(1, counter("none") - before[4]);
		close(s);
	}
}

/* Lines of /proc/gpid/namespaces below its header: the bound namespaces. */
static int bound_namespaces(void)
{
	static char buf[8192];
	int n = 0;

	if (gpid_read_file("/proc/gpid/namespaces", buf, sizeof(buf)) <= 0)
		return -1;
	for (char *p = strchr(buf, '\n'); p && p[1]; p = strchr(p + 1, '\n'))
		n++;
	return n;
}

/*
 * A lookup never binds a dead namespace: the peer, PID 1 of a namespace nobody used with gpid,
 * connects and its namespace dies; asking about it twice reports no gpid and binds no slot
 * (before, each such lookup consumed an nsid for a dead namespace, and the reported gpid
 * changed once that was reclaimed).
 */
TEST(dead_namespace_not_bound_by_a_peer_lookup)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	socklen_t len = offsetof(struct sockaddr_un, sun_path) + 1 +
			snprintf(a.sun_path + 1, sizeof(a.sun_path) - 1, "gpid-dead-peer-%d", getpid());
	int srv, cl, dev, st, before;
	pid_t child;

	dev = open("/dev/gpid", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, dev);
	srv = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, srv);
	ASSERT_EQ(0, bind(srv, (struct sockaddr *)&a, len));
	ASSERT_EQ(0, listen(srv, 1));
	before = bound_namespaces();
	ASSERT_LT(0, before);
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		pid_t init;

		if (unshare(CLONE_NEWPID))
			_exit(1);
		init = fork();
		if (init == 0) {
			int c = socket(AF_UNIX, SOCK_STREAM, 0);

			_exit(c < 0 || connect(c, (struct sockaddr *)&a, len) ? 2 : 0);
		}
		_exit(init > 0 && waitpid(init, &st, 0) == init && WIFEXITED(st) ?
		      WEXITSTATUS(st) : 3);
	}
	cl = accept4(srv, NULL, NULL, SOCK_CLOEXEC);
	ASSERT_LE(0, cl);
	ASSERT_EQ(child, waitpid(child, &st, 0));
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	for (int i = 0; i < 2; i++) {
		struct gpid_peer p = { .fd = cl };

		ASSERT_EQ(0, ioctl(dev, GPID_IOC_PEER, &p)) TH_LOG("%s", strerror(errno));
		EXPECT_LT(0, p.pid);			/* as SO_PEERCRED: the number it had */
		EXPECT_EQ(GPID_PEER_KNOWN, p.state);	/* known, not alive */
		EXPECT_EQ(0, p.gpid) TH_LOG("lookup %d reported gpid %#x", i, p.gpid);
	}
	EXPECT_EQ(before, bound_namespaces()) TH_LOG("a lookup bound the dead namespace");
	close(cl);
	close(srv);
	close(dev);
}

TEST_HARNESS_MAIN
