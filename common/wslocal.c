/* wslocal: the WebSocket relay's local end (see wslocal.h): the private
 * Unix socket libmosquitto connects to, in a 0700 directory of its own,
 * bound and connected to through the open directory, and accepted only
 * from this process. */
#include "wslocal.h"

#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

void wslocal_init(struct wslocal *l)
{
	memset(l, 0, sizeof(*l));
	l->dir_fd = -1;
	l->listen_fd = -1;
}

/* From mkdtemp until the directory is gone, SIGINT, SIGTERM and SIGHUP
 * wait: one whose default action ends the process (smqtt_pub's, and
 * smqtt_sub's SIGHUP) must not end it with the directory left behind. */
static void stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
}

static void hold_signals(struct wslocal *l)
{
	sigset_t set;
	stop_signals(&set);
	if (!l->holding && sigprocmask(SIG_BLOCK, &set, &l->held_from) == 0)
		l->holding = true;
}

/* Back to the mask before hold_signals: a signal that came meanwhile and
 * that mask lets through is delivered now. let_in: also one the caller
 * blocks itself (smqtt_sub and smqtt_rr block SIGINT and SIGTERM outside
 * their waits), for a moment, as net_ppoll does: its handler runs. */
static void release_signals(struct wslocal *l, bool let_in)
{
	if (!l->holding)
		return;
	l->holding = false;
	if (let_in) {
		sigset_t open = l->held_from;
		sigdelset(&open, SIGINT);
		sigdelset(&open, SIGTERM);
		sigdelset(&open, SIGHUP);
		sigprocmask(SIG_SETMASK, &open, NULL);
	}
	sigprocmask(SIG_SETMASK, &l->held_from, NULL);
}

static bool stop_pending(void)
{
	sigset_t p;
	return sigpending(&p) == 0 && (sigismember(&p, SIGINT) == 1 || sigismember(&p, SIGTERM) == 1
			|| sigismember(&p, SIGHUP) == 1);
}

static bool rmdir_if(const char *path, const struct stat *mine)
{
	struct stat now;
	return lstat(path, &now) == 0 && S_ISDIR(now.st_mode) && mine->st_dev == now.st_dev
		&& mine->st_ino == now.st_ino && rmdir(path) == 0;
}

/* Remove the private directory and its socket, through the directory as
 * opened: the name is removed only while it is still that directory (in a
 * $TMPDIR others can write, it may have been renamed and replaced). The
 * descriptor's number stays reserved (on "/", O_PATH) unless release:
 * libmosquitto keeps the socket path /proc/self/fd/N/s for its reconnects,
 * so the next directory is put under the same N. */
void wslocal_remove(struct wslocal *l, bool release)
{
	if (l->dir_fd >= 0 && l->dir[0]) {
		struct stat mine;
		char fdpath[64], now_at[PATH_MAX];
		unlinkat(l->dir_fd, "s", 0);
		/* at its name; or, renamed away by another user (a $TMPDIR others
		 * can write), at the name it has now: it is ours and empty, and
		 * was left behind there */
		snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", l->dir_fd);
		ssize_t n = fstat(l->dir_fd, &mine) == 0 && !rmdir_if(l->dir, &mine)
			? readlink(fdpath, now_at, sizeof(now_at) - 1) : -1;
		if (n > 0 && now_at[0] == '/') {
			now_at[n] = '\0';
			rmdir_if(now_at, &mine);
		}
	}
	l->dir[0] = '\0';
	if (l->dir_fd < 0)
		return;
	int root = release ? -1 : open("/", O_PATH | O_CLOEXEC);
	if (root >= 0 && dup3(root, l->dir_fd, O_CLOEXEC) >= 0) {
		close(root);
		return;
	}
	if (root >= 0)
		close(root);
	close(l->dir_fd);
	l->dir_fd = -1;
}

/* The end of the listening: its socket and directory go, and the signals
 * held since wslocal_listen are let through. */
static void end_listen(struct wslocal *l, bool let_in)
{
	if (l->listen_fd >= 0)
		close(l->listen_fd);
	l->listen_fd = -1;
	wslocal_remove(l, false);
	release_signals(l, let_in);
}

/* Open the directory just made, never through a link, and check that it
 * is still ours and private: in a $TMPDIR others can write, it could have
 * been renamed away and replaced between mkdtemp and here. */
static int open_private_dir(struct wslocal *l, const char *tmp, char **cause)
{
	struct stat st;
	int fd = open(l->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_uid == geteuid() && (st.st_mode & 07777) == 0700) {
		if (l->dir_fd < 0) {
			l->dir_fd = fd;
			return 0;
		}
		/* the number libmosquitto already knows (reserved by wslocal_remove) */
		if (dup3(fd, l->dir_fd, O_CLOEXEC) >= 0) {
			close(fd);
			return 0;
		}
	}
	if (fd >= 0)
		close(fd);
	if (asprintf(cause, "the WebSocket relay's private directory %s was replaced before it could be used "
				"(another local user can write to %s)",
				l->dir, tmp) < 0)
		*cause = NULL;
	l->dir[0] = '\0'; /* not ours: never removed */
	return -1;
}

int wslocal_listen(struct wslocal *l, char **cause)
{
	if (l->listen_fd >= 0)
		return 0;
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp || strlen(tmp) > 60)
		tmp = "/tmp";
	/* a fresh directory for every connection: the last one was removed
	 * once libmosquitto connected (or by a /tmp cleaner) */
	wslocal_remove(l, false);
	hold_signals(l);
	snprintf(l->dir, sizeof(l->dir), "%s/smqtt-ws-XXXXXX", tmp);
	if (!mkdtemp(l->dir)) {
		if (asprintf(cause, "cannot make a private directory for the WebSocket relay in %s: %s", tmp,
					strerror(errno)) < 0)
			*cause = NULL;
		l->dir[0] = '\0';
		release_signals(l, false);
		return -1;
	}
	if (open_private_dir(l, tmp, cause)) {
		release_signals(l, false);
		return -1;
	}
	/* bound and connected to through the open directory, which no rename
	 * can swap; the name only where /proc is missing */
	snprintf(l->path, sizeof(l->path), "/proc/self/fd/%d/s", l->dir_fd);
	struct stat st;
	if (stat("/proc/self/fd", &st) != 0)
		snprintf(l->path, sizeof(l->path), "%s/s", l->dir);
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", l->path);
	l->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l->listen_fd < 0 || bind(l->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0
			|| listen(l->listen_fd, 1) != 0) {
		if (asprintf(cause, "cannot make the WebSocket relay's socket %s/s: %s", l->dir, strerror(errno)) < 0)
			*cause = NULL;
		end_listen(l, false);
		return -1;
	}
	return 0;
}

int wslocal_accept(struct wslocal *l, char **cause)
{
	/* A SIGINT, SIGTERM or SIGHUP since the listen (held, and seen
	 * through a signalfd while waiting) ends it at once: the directory
	 * goes, then the signal is delivered; errno EINTR. */
	sigset_t stop;
	stop_signals(&stop);
	int sfd = signalfd(-1, &stop, SFD_NONBLOCK | SFD_CLOEXEC);
	struct pollfd p[2] = {{l->listen_fd, POLLIN, 0}, {sfd, POLLIN, 0}};
	long long deadline = mono_ms() + 1000;
	bool ready = false, signalled = false;
	while (!ready && !(signalled = stop_pending())) {
		long long left = deadline - mono_ms();
		if (left <= 0)
			break;
		int n = poll(p, sfd >= 0 ? 2 : 1, (int)left);
		if (n < 0 && errno != EINTR)
			break;
		ready = n > 0 && (p[0].revents & POLLIN);
	}
	if (sfd >= 0)
		close(sfd);
	if (signalled) {
		end_listen(l, true);
		*cause = strdup("interrupted by a signal");
		errno = EINTR;
		return -1;
	}
	if (!ready) {
		if (asprintf(cause, "libmosquitto did not connect to the WebSocket relay's socket %s", l->path) < 0)
			*cause = NULL;
		end_listen(l, false);
		return -1;
	}
	int fd = accept4(l->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.pid != getpid()
			|| cred.uid != geteuid()) {
		if (asprintf(cause, "the WebSocket relay's socket %s was connected to by another process", l->path) < 0)
			*cause = NULL;
		if (fd >= 0)
			close(fd);
		end_listen(l, false);
		return -1;
	}
	/* nothing else may connect: the socket and its directory go until a
	 * reconnect makes them again */
	end_listen(l, false);
	return fd;
}

void wslocal_free(struct wslocal *l)
{
	if (l->listen_fd >= 0)
		close(l->listen_fd);
	wslocal_remove(l, true);
	release_signals(l, false);
	wslocal_init(l);
}
