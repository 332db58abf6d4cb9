/* atomicfile: writes a private file (mode 0600) atomically: a temporary
 * file made with mkstemp (O_EXCL, so never through a link) in the same
 * folder, flushed (and synced, if asked), then renamed over the target. Missing folders
 * are made with mode 0700. Used for profiles, the TLS version cache and TLS
 * sessions. */
#ifndef SMQTT_ATOMICFILE_H
#define SMQTT_ATOMICFILE_H

#include <stdio.h>

/* Fills the file; returns 0 on success. */
typedef int (*atomic_writer)(FILE *fp, void *arg);

/* ATOMIC_SYNC: fsync before the rename, for files the user wrote (a
 * profile). Caches (TLS sessions, TLS versions) skip it: a crash can at
 * worst leave an empty or torn file, which fails to parse and is replaced,
 * and an fsync costs a one-shot publish about 2 ms. A cache is also
 * unlinked before the rename: renaming over an existing file makes ext4
 * start writing the new one out at once (its auto_da_alloc heuristic),
 * measured at ~65 us of CPU and ~180 us of wall time per write. A reader in
 * between finds no file, which for a cache only means starting afresh; it
 * never sees a partial one. */
enum { ATOMIC_CACHE = 0, ATOMIC_SYNC = 1 };

/* Returns 0, or -1 with *cause (allocated, when cause is not NULL). */
int atomic_write(const char *path, atomic_writer writer, void *arg, int flags, char **cause);

/* mkdir -p with mode 0700 for each folder made. */
int make_private_dirs(const char *dir);

#endif
