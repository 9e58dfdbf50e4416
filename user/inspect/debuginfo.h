/* SPDX-License-Identifier: MIT */
/* Locating the separate debug file of a stripped ELF binary, the ways gdb
 * and the distributions do: by build-id, then by .gnu_debuglink. */
#ifndef GS_DEBUGINFO_H
#define GS_DEBUGINFO_H

#include <stddef.h>

/* root: prefix under which every path is resolved (e.g. "/proc/PID/root",
 * "" for the host); debug_dir: the global debug directory, normally
 * "/usr/lib/debug". bin: the binary's path as seen inside root.
 *
 * Tried in order, the first verified candidate wins:
 *   1. <root><debug_dir>/.build-id/<xx>/<rest>.debug, accepted only if its
 *      own build-id note equals the binary's;
 *   2. the .gnu_debuglink name in the binary's directory, in its .debug/
 *      subdirectory, and in <debug_dir>/<binary's directory>/, accepted only
 *      if the CRC32 of the whole candidate equals the link's.
 *
 * On success writes the found file's full path (root included) to out and a
 * short description of how it was found to how ("build-id", "debuglink next
 * to the binary", "debuglink in .debug/", "debuglink under <debug_dir>") and
 * returns 0. Returns -ENOENT when none matches; then, if some candidate
 * existed but failed verification (typically a -dbg package whose version
 * differs from the binary's), out holds the first such path and how says
 * "build-id mismatch" or "debuglink CRC mismatch", else both are "".
 * Other -errno on errors: the binary unreadable, -ENOEXEC not ELF,
 * -EFBIG or -EINVAL refused (elf_begin_checked: over a limit, not a regular
 * file), -ENAMETOOLONG a path or out/how too small. Candidates are read
 * within the same limits, and a debuglink is followed one hop only: a
 * debug file's own link is never read, so links cannot loop. */
int debuginfo__find(const char *root, const char *debug_dir, const char *bin,
		    char *out, size_t outlen, char *how, size_t howlen);

/* The same inside a target's root: rootfd (an O_PATH directory fd of
 * /proc/PID/root) stands for "/", and every path (bin, the candidates) is
 * opened confined in it (rootfs__open_in: a container's symlinks cannot
 * lead out). out is then a path inside that root: open it the same way. */
int debuginfo__find_in_root(int rootfd, const char *debug_dir, const char *bin,
			    char *out, size_t outlen, char *how, size_t howlen);

/* Only step 1 (build-id under debug_dir), with bin opened as given (e.g.
 * "/proc/self/fd/N", a target's binary held open): the host's debug files
 * for a binary that lives in another root. */
int debuginfo__find_by_build_id(const char *debug_dir, const char *bin,
				char *out, size_t outlen, char *how, size_t howlen);

/* The NT_GNU_BUILD_ID of the ELF file at path as lowercase hex into hex
 * (len bytes, NUL included). 0, -ENOENT (no such note), -ENOEXEC (not ELF),
 * -ENAMETOOLONG (hex too small) or -errno. */
int debuginfo__build_id(const char *path, char *hex, size_t len);

#endif
