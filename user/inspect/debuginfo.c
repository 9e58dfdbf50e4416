// SPDX-License-Identifier: MIT
/* Separate debug files. Distributions strip the interpreter and ship its
 * .symtab (where static functions such as take_gil.lto_priv.0 live) in a
 * -dbg/-debuginfo package. Only the two notes needed to find that file are
 * read here; the symbols themselves are read by elf.c. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "common.h"
#include "inspect/debuginfo.h"
#include "inspect/elf.h"
#include "inspect/rootfs.h"

/* SHA-1 build-ids are 20 bytes, --build-id=md5/uuid 16; leave room for
 * longer hashes. */
#define MAX_BUILD_ID 64

/* A .gnu_debuglink candidate is read whole for its CRC: a larger one is a
 * mismatch, unread (a Python interpreter's debug file is 10-40 MiB; a
 * sparse or endless file would otherwise take unbounded time). */
#define GS_DEBUG_MAX_CRC_FILE (1ull << 30)

/* Where paths resolve: -1 the host (plain opens), else a directory fd
 * standing for a target's root (every open confined in it by rootfs). Set
 * only for the length of one public call. */
static int cur_rootfd = -1;
static bool build_id_only;

static int do_open(const char *path)
{
	int fd;

	/* O_NONBLOCK: a FIFO planted as a candidate must not block the open;
	 * what is not a regular file is refused when read. */
	if (cur_rootfd < 0)
		return open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	fd = rootfs__open_in(cur_rootfd, path, O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		errno = -fd;
	return fd < 0 ? -1 : fd;
}

static bool exists(const char *path)
{
	int fd = do_open(path);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

struct link_info {
	unsigned char id[MAX_BUILD_ID];
	size_t idlen;                   /* 0: no build-id note */
	char name[NAME_MAX + 1];        /* "" : no .gnu_debuglink */
	uint32_t crc;
};

static int open_elf(const char *path, int *fd, Elf **elf)
{
	int err;

	*fd = do_open(path);
	if (*fd < 0)
		return -errno;
	err = elf_begin_checked(*fd, path, elf);
	if (err) {
		close(*fd);
		/* refused for its size or kind: a candidate that failed, not a
		 * missing one (-ENOENT would read as "absent") */
		return err == -ENOENT ? -ENOEXEC : err;
	}
	return 0;
}

static void close_elf(int fd, Elf *elf)
{
	elf_end(elf);
	close(fd);
}

/* First NT_GNU_BUILD_ID note of owner "GNU" in data; true if found. */
static bool note_build_id(Elf_Data *data, struct link_info *li)
{
	size_t off = 0, name_off, desc_off;
	GElf_Nhdr nh;

	while ((off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
		if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != 4 ||
		    memcmp((char *)data->d_buf + name_off, "GNU", 4) ||
		    nh.n_descsz == 0 || nh.n_descsz > MAX_BUILD_ID)
			continue;
		memcpy(li->id, (char *)data->d_buf + desc_off, nh.n_descsz);
		li->idlen = nh.n_descsz;
		return true;
	}
	return false;
}

static void read_build_id(Elf *elf, struct link_info *li)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	GElf_Phdr ph;
	size_t n;

	while ((scn = elf_nextscn(elf, scn))) {
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		data = elf_getdata(scn, NULL);
		if (data && note_build_id(data, li))
			return;
	}
	/* Section headers can be gone (sstrip, or an image dumped from
	 * memory); the note is still reachable through PT_NOTE. */
	if (elf_getshdrnum(elf, &n) || n > 0 || elf_getphdrnum(elf, &n))
		return;
	for (size_t i = 0; i < n; i++) {
		Elf_Data *data;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_NOTE)
			continue;
		data = elf_getdata_rawchunk(elf, (int64_t)ph.p_offset, ph.p_filesz,
					    ph.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR);
		if (data && note_build_id(data, li))
			return;
	}
}

/* .gnu_debuglink: the debug file's base name, NUL, padding to 4 bytes,
 * then the CRC32 of that file in the binary's byte order. */
static void read_debuglink(Elf *elf, struct link_info *li)
{
	Elf_Scn *scn = NULL;
	GElf_Ehdr eh;
	GElf_Shdr sh;
	size_t shstrndx, len, crc_off;
	const unsigned char *p;
	const char *name;
	Elf_Data *data;

	if (!gelf_getehdr(elf, &eh) || elf_getshdrstrndx(elf, &shstrndx))
		return;
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh))
			return;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (name && !strcmp(name, ".gnu_debuglink"))
			break;
	}
	/* an empty section has no buffer (d_buf NULL) */
	if (!scn || sh.sh_type == SHT_NOBITS || !(data = elf_getdata(scn, NULL)) || !data->d_buf)
		return;
	p = data->d_buf;
	len = strnlen((const char *)p, data->d_size);
	crc_off = (len + 4) & ~(size_t)3;
	/* A name with a '/' would step out of the directories searched. */
	if (len == 0 || len > NAME_MAX || crc_off + 4 > data->d_size ||
	    memchr(p, '/', len))
		return;
	memcpy(li->name, p, len);
	li->name[len] = '\0';
	p += crc_off;
	if (eh.e_ident[EI_DATA] == ELFDATA2MSB)
		li->crc = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
			  (uint32_t)p[2] << 8 | p[3];
	else
		li->crc = (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
			  (uint32_t)p[1] << 8 | p[0];
}

static int to_hex(const unsigned char *id, size_t n, char *hex, size_t len)
{
	static const char digits[] = "0123456789abcdef";

	if (len < 2 * n + 1)
		return -ENAMETOOLONG;
	for (size_t i = 0; i < n; i++) {
		hex[2 * i] = digits[id[i] >> 4];
		hex[2 * i + 1] = digits[id[i] & 15];
	}
	hex[2 * n] = '\0';
	return 0;
}

static int build_id_of(const char *path, struct link_info *li)
{
	Elf *elf;
	int fd, err;

	err = open_elf(path, &fd, &elf);
	if (err)
		return err;
	read_build_id(elf, li);
	close_elf(fd, elf);
	return li->idlen ? 0 : -ENOENT;
}

int debuginfo__build_id(const char *path, char *hex, size_t len)
{
	struct link_info li = {0};
	int err = build_id_of(path, &li);

	if (err)
		return err;
	return to_hex(li.id, li.idlen, hex, len);
}

/* CRC32 (zlib's, which is the one .gnu_debuglink uses) of a whole file. */
static int file_crc(const char *path, uint32_t *crc)
{
	unsigned char buf[16384];
	uLong c = crc32(0L, Z_NULL, 0);
	struct stat st;
	ssize_t n;
	uint64_t left;
	int fd = do_open(path), err = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		close(fd);
		return err;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > GS_DEBUG_MAX_CRC_FILE) {
		gs_note("%s: refused as a debug file: %s", path,
			!S_ISREG(st.st_mode) ? "not a regular file" : "larger than 1 GiB");
		close(fd);
		return -EFBIG;
	}
	/* no more than its size said: a file growing under us ends there */
	for (left = (uint64_t)st.st_size; left; left -= (uint64_t)n) {
		n = read(fd, buf, left < sizeof(buf) ? left : sizeof(buf));
		if (n == 0)
			break;
		if (n < 0 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n < 0) {
			err = -errno;
			break;
		}
		c = crc32(c, buf, (uInt)n);
	}
	close(fd);
	*crc = (uint32_t)c;
	return err;
}

enum verdict { ABSENT, MISMATCH, MATCH };

static enum verdict verdict_of(int err)
{
	/* Only a missing path is "not there"; a file we cannot read or that
	 * is not ELF is a candidate that failed verification. */
	return err == -ENOENT || err == -ENOTDIR ? ABSENT : MISMATCH;
}

static enum verdict check_build_id(const char *path, const struct link_info *want)
{
	struct link_info got = {0};
	int err = build_id_of(path, &got);

	if (err == -ENOENT && exists(path))
		return MISMATCH; /* ELF without a build-id note */
	if (err)
		return verdict_of(err);
	return got.idlen == want->idlen && !memcmp(got.id, want->id, got.idlen) ?
	       MATCH : MISMATCH;
}

static enum verdict check_crc(const char *path, uint32_t want)
{
	uint32_t crc = 0; /* -Wmaybe-uninitialized: gcc cannot see errno != 0 */
	int err = file_crc(path, &crc);

	if (err)
		return verdict_of(err);
	return crc == want ? MATCH : MISMATCH;
}

static int put(char *dst, size_t len, const char *src)
{
	if (!len || strlen(src) >= len)
		return -ENAMETOOLONG;
	strcpy(dst, src);
	return 0;
}

/* snprintf into a path buffer; -ENAMETOOLONG if it does not fit. */
static int fmt_path(char *dst, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fmt_path(char *dst, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(dst, len, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int debuginfo__find(const char *root, const char *debug_dir, const char *bin,
		    char *out, size_t outlen, char *how, size_t howlen)
{
	char path[PATH_MAX], cand[PATH_MAX], dir[PATH_MAX], under[PATH_MAX];
	char bad[PATH_MAX] = "", hex[2 * MAX_BUILD_ID + 1];
	const char *bad_how = "", *slash;
	struct link_info li = {0};
	Elf *elf;
	int fd, err;

	if (outlen)
		out[0] = '\0';
	if (howlen)
		how[0] = '\0';
	err = fmt_path(path, sizeof(path), "%s%s", root, bin);
	if (err)
		return err;
	err = open_elf(path, &fd, &elf);
	if (err)
		return err;
	read_build_id(elf, &li);
	read_debuglink(elf, &li);
	close_elf(fd, elf);

	/* 1. build-id: the first byte names the directory, as gdb expects. */
	if (li.idlen >= 2) {
		err = to_hex(li.id, li.idlen, hex, sizeof(hex));
		if (err)
			return err;
		err = fmt_path(cand, sizeof(cand), "%s%s/.build-id/%.2s/%s.debug",
			       root, debug_dir, hex, hex + 2);
		if (err)
			return err;
		switch (check_build_id(cand, &li)) {
		case MATCH:
			err = put(out, outlen, cand);
			return err ? err : put(how, howlen, "build-id");
		case MISMATCH:
			strcpy(bad, cand);
			bad_how = "build-id mismatch";
			break;
		case ABSENT:
			break;
		}
	}

	/* 2. .gnu_debuglink, in gdb's order. */
	if (li.name[0] && !build_id_only) {
		/* The binary's directory: "" for "/prog", "." for "prog". */
		slash = strrchr(bin, '/');
		err = slash ? fmt_path(dir, sizeof(dir), "%.*s", (int)(slash - bin), bin)
			    : fmt_path(dir, sizeof(dir), ".");
		if (!err)
			err = fmt_path(under, sizeof(under), "debuglink under %s",
				       debug_dir);
		if (err)
			return err;

		const struct {
			const char *base, *sub, *how;
		} where[] = {
			{ dir, "/", "debuglink next to the binary" },
			{ dir, "/.debug/", "debuglink in .debug/" },
			/* A relative path means nothing under debug_dir. */
			{ bin[0] == '/' ? dir : NULL, "/", under },
		};

		for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
			if (!where[i].base)
				continue;
			err = fmt_path(cand, sizeof(cand), "%s%s%s%s%s", root,
				       i == 2 ? debug_dir : "", where[i].base,
				       where[i].sub, li.name);
			if (err)
				return err;
			if (!strcmp(cand, path))
				continue; /* the link names the binary itself */
			switch (check_crc(cand, li.crc)) {
			case MATCH:
				err = put(out, outlen, cand);
				return err ? err : put(how, howlen, where[i].how);
			case MISMATCH:
				if (!bad[0]) {
					strcpy(bad, cand);
					bad_how = "debuglink CRC mismatch";
				}
				break;
			case ABSENT:
				break;
			}
		}
	}

	if (bad[0]) {
		/* Best effort: the note is a hint, -ENOENT is the answer. */
		if (put(out, outlen, bad) || put(how, howlen, bad_how)) {
			if (outlen)
				out[0] = '\0';
			if (howlen)
				how[0] = '\0';
		}
	}
	return -ENOENT;
}

int debuginfo__find_in_root(int rootfd, const char *debug_dir, const char *bin,
			    char *out, size_t outlen, char *how, size_t howlen)
{
	int e;

	if (rootfd < 0)
		return -EBADF;
	cur_rootfd = rootfd;
	e = debuginfo__find("", debug_dir, bin, out, outlen, how, howlen);
	cur_rootfd = -1;
	return e;
}

int debuginfo__find_by_build_id(const char *debug_dir, const char *bin,
				char *out, size_t outlen, char *how, size_t howlen)
{
	int e;

	build_id_only = true;
	e = debuginfo__find("", debug_dir, bin, out, outlen, how, howlen);
	build_id_only = false;
	return e;
}
