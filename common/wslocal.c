/* wslocal: the WebSocket relay's local end (see wslocal.h): the private
 * Unix socket libmosquitto connects to, in a 0700 directory of its own,
 * bound and connected to through the open directory, and accepted only
 * from this process. */
#include "wslocal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* Remove the private directory and its socket, through the directory as
 * opened: the name is removed only while it is still that directory (in a
 * $TMPDIR others can write, it may have been renamed and replaced). The
 * descriptor's number stays reserved (on "/", O_PATH) unless release:
 * libmosquitto keeps the socket path /proc/self/fd/N/s for its reconnects,
 * so the next directory is put under the same N. */
void wslocal_remove(struct wslocal *l, bool release)
{
	if (l->dir_fd >= 0 && l->dir[0]) {
		struct stat mine, now;
		unlinkat(l->dir_fd, "s", 0);
		if (fstat(l->dir_fd, &mine) == 0 && lstat(l->dir, &now) == 0
				&& mine.st_dev == now.st_dev && mine.st_ino == now.st_ino)
			rmdir(l->dir);
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
	snprintf(l->dir, sizeof(l->dir), "%s/smqtt-ws-XXXXXX", tmp);
	if (!mkdtemp(l->dir)) {
		if (asprintf(cause, "cannot make a private directory for the WebSocket relay in %s: %s", tmp,
					strerror(errno)) < 0)
			*cause = NULL;
		l->dir[0] = '\0';
		return -1;
	}
	if (open_private_dir(l, tmp, cause))
		return -1;
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
		return -1;
	}
	return 0;
}

int wslocal_accept(struct wslocal *l, char **cause)
{
	struct pollfd p = {l->listen_fd, POLLIN, 0};
	if (poll(&p, 1, 1000) != 1) {
		if (asprintf(cause, "libmosquitto did not connect to the WebSocket relay's socket %s", l->path) < 0)
			*cause = NULL;
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
		return -1;
	}
	/* nothing else may connect: the socket and its directory go until a
	 * reconnect makes them again */
	close(l->listen_fd);
	l->listen_fd = -1;
	wslocal_remove(l, false);
	return fd;
}

void wslocal_free(struct wslocal *l)
{
	if (l->listen_fd >= 0)
		close(l->listen_fd);
	wslocal_remove(l, true);
	wslocal_init(l);
}
