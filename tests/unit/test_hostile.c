// SPDX-License-Identifier: MIT
/* Hostile files, crafted here: each must be refused with one line of note
 * (-v), in bounded time and memory (the limits in inspect/elf.h and
 * debuginfo.c). The symlink out of a container's root is test_rootfs's.
 *   - a section count of ten million (extended numbering, sparse file)
 *     and a program header count of a million;
 *   - a compressed .symtab, and a compressed .strtab, each a valid zlib
 *     stream that inflates to 4 GiB (a decompression bomb of ~4 MiB);
 *   - .gnu_debuglink chains that loop (a <-> b, a file naming itself, a
 *     symlink naming itself), a FIFO and /dev/zero as the debug file.
 * The process runs under RLIMIT_AS = 2 GiB, so a regression fails here
 * instead of eating the machine (not under AddressSanitizer, make SAN=1,
 * whose shadow memory needs terabytes of address space), and alarm() ends
 * a blocked open. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define GS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GS_ASAN 1
#endif
#endif
#include <zlib.h>

#include "check.h"
#include "common.h"
#include "inspect/callsite.h"
#include "inspect/debuginfo.h"
#include "inspect/elf.h"

static char dir[64];

/* ---- writing ELF files ---- */

struct sec {
	const char *name;
	uint32_t type;
	uint64_t flags;
	const void *data;
	size_t size;
	uint32_t link;
	uint64_t entsize;
};

static void put(int fd, const void *p, size_t n, off_t at)
{
	if (pwrite(fd, p, n, at) != (ssize_t)n) {
		perror("pwrite");
		exit(2);
	}
}

/* A 64-bit little-endian ET_DYN with sections s[0..n) (indexes 1..n; the
 * section name table is n + 1). */
static void write_elf(const char *path, const struct sec *s, int n)
{
	Elf64_Ehdr eh = { 0 };
	Elf64_Shdr sh[16] = { { 0 } };
	char names[512] = "";
	size_t nlen = 1;
	off_t at = sizeof(eh);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || n + 2 > 16) {
		perror(path);
		exit(2);
	}
	for (int i = 0; i < n; i++) {
		at = (at + 7) & ~(off_t)7;
		sh[i + 1].sh_name = (uint32_t)nlen;
		nlen += (size_t)sprintf(names + nlen, "%s", s[i].name) + 1;
		sh[i + 1].sh_type = s[i].type;
		sh[i + 1].sh_flags = s[i].flags;
		sh[i + 1].sh_offset = (uint64_t)at;
		sh[i + 1].sh_size = s[i].size;
		sh[i + 1].sh_link = s[i].link;
		sh[i + 1].sh_addralign = 8;
		sh[i + 1].sh_entsize = s[i].entsize;
		put(fd, s[i].data, s[i].size, at);
		at += (off_t)s[i].size;
	}
	sh[n + 1].sh_name = (uint32_t)nlen;
	nlen += (size_t)sprintf(names + nlen, ".shstrtab") + 1;
	sh[n + 1].sh_type = SHT_STRTAB;
	sh[n + 1].sh_offset = (uint64_t)at;
	sh[n + 1].sh_size = nlen;
	sh[n + 1].sh_addralign = 1;
	put(fd, names, nlen, at);
	at = (at + (off_t)nlen + 7) & ~(off_t)7;
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_DYN;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_ehsize = sizeof(eh);
	eh.e_shentsize = sizeof(Elf64_Shdr);
	eh.e_shoff = (uint64_t)at;
	eh.e_shnum = (uint16_t)(n + 2);
	eh.e_shstrndx = (uint16_t)(n + 1);
	put(fd, sh, (size_t)(n + 2) * sizeof(sh[0]), at);
	put(fd, &eh, sizeof(eh), 0);
	close(fd);
}

/* ---- measuring a refusal ---- */

static int saved_err = -1;
static FILE *cap;

static void capture_begin(void)
{
	fflush(stderr);
	cap = tmpfile();
	saved_err = dup(2);
	dup2(fileno(cap), 2);
}

/* What was written to stderr meanwhile (static buffer). */
static const char *capture_end(void)
{
	static char buf[4096];
	size_t n;

	fflush(stderr);
	dup2(saved_err, 2);
	close(saved_err);
	rewind(cap);
	n = fread(buf, 1, sizeof(buf) - 1, cap);
	buf[n] = 0;
	fclose(cap);
	return buf;
}

static long maxrss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

struct probe {
	uint64_t t0;
	long rss0;
};

static void probe_begin(struct probe *p)
{
	p->rss0 = maxrss_kib();
	capture_begin();
	p->t0 = gs_mono_ns();
}

/* One refusal: within 2 s, under 64 MiB more peak memory, and exactly one
 * line of note that says "refused". */
static void probe_end(struct probe *p, const char *what)
{
	uint64_t ns = gs_mono_ns() - p->t0;
	const char *note = capture_end();
	long grew = maxrss_kib() - p->rss0;
	int lines = 0;

	for (const char *c = note; *c; c++)
		lines += *c == '\n';
	printf("test_hostile: %s: %.3f s, +%ld KiB peak, note: %s", what, ns / 1e9, grew,
	       *note ? note : "(none)\n");
	CHECK_MSG(ns < 2000000000ull, "%s took %.3f s", what, ns / 1e9);
	CHECK_MSG(grew < 64 * 1024, "%s grew the peak RSS by %ld KiB", what, grew);
	CHECK_MSG(lines == 1 && strstr(note, "refused"), "%s: note \"%s\"", what, note);
}

/* ---- the cases ---- */

static void huge_counts(void)
{
	char path[128];
	unsigned char e[64] = { 0 };
	Elf64_Shdr sh0 = { 0 };
	struct elf_file *ef;
	struct probe p;
	char hex[64];
	int fd, err;

	/* e_shnum 0: the count is section 0's sh_size; the file is as long
	 * as ten million headers would need, sparse */
	snprintf(path, sizeof(path), "%s/sections", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	memcpy(e, ELFMAG, SELFMAG);
	e[EI_CLASS] = ELFCLASS64;
	e[EI_DATA] = ELFDATA2LSB;
	e[EI_VERSION] = EV_CURRENT;
	((Elf64_Ehdr *)e)->e_type = ET_DYN;
	((Elf64_Ehdr *)e)->e_machine = EM_X86_64;
	((Elf64_Ehdr *)e)->e_version = EV_CURRENT;
	((Elf64_Ehdr *)e)->e_ehsize = 64;
	((Elf64_Ehdr *)e)->e_shentsize = 64;
	((Elf64_Ehdr *)e)->e_shoff = 64;
	((Elf64_Ehdr *)e)->e_shnum = 0;
	sh0.sh_size = 10000000;
	put(fd, e, sizeof(e), 0);
	put(fd, &sh0, sizeof(sh0), 64);
	CHECK(ftruncate(fd, 64 + 10000000ll * 64) == 0);
	close(fd);
	probe_begin(&p);
	err = elf_file__open(path, &ef);
	probe_end(&p, "10M sections, elf_file__open");
	CHECK_MSG(err == -EFBIG, "%d", err);
	probe_begin(&p);
	err = debuginfo__build_id(path, hex, sizeof(hex));
	probe_end(&p, "10M sections, debuginfo__build_id");
	CHECK_MSG(err == -EFBIG, "%d", err);

	/* e_phnum PN_XNUM: a million program headers (section 0's sh_info) */
	snprintf(path, sizeof(path), "%s/phdrs", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	((Elf64_Ehdr *)e)->e_shnum = 1;
	((Elf64_Ehdr *)e)->e_phoff = 64 + 64;
	((Elf64_Ehdr *)e)->e_phentsize = sizeof(Elf64_Phdr);
	((Elf64_Ehdr *)e)->e_phnum = PN_XNUM;
	sh0.sh_size = 0;
	sh0.sh_info = 1000000;
	put(fd, e, sizeof(e), 0);
	put(fd, &sh0, sizeof(sh0), 64);
	CHECK(ftruncate(fd, 128 + 1000000ll * sizeof(Elf64_Phdr)) == 0);
	close(fd);
	probe_begin(&p);
	err = elf_file__open(path, &ef);
	probe_end(&p, "1M program headers, elf_file__open");
	CHECK_MSG(err == -EFBIG, "%d", err);
}

#define BOMB_CHUNK (1u << 20)
#define BOMB_SIZE (4ull << 30)

/* A zlib stream of BOMB_SIZE zero bytes, after an Elf64_Chdr claiming as
 * much: one raw-deflated MiB of zeros (no reference before its own start)
 * repeated, a final empty block, and the Adler-32 of the whole. */
static unsigned char *make_bomb(size_t *len)
{
	unsigned char *zeros = calloc(1, BOMB_CHUNK), *one = malloc(BOMB_CHUNK), *out;
	size_t n1, reps = BOMB_SIZE / BOMB_CHUNK, o = 0;
	Elf64_Chdr ch = { .ch_type = ELFCOMPRESS_ZLIB, .ch_size = BOMB_SIZE, .ch_addralign = 8 };
	uint32_t adler = (uint32_t)(BOMB_SIZE % 65521) << 16 | 1; /* a = 1, b = length */
	z_stream z = { 0 };

	if (!zeros || !one || deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) != Z_OK)
		exit(2);
	z.next_in = zeros;
	z.avail_in = BOMB_CHUNK;
	z.next_out = one;
	z.avail_out = BOMB_CHUNK;
	if (deflate(&z, Z_FULL_FLUSH) != Z_OK || z.avail_in)
		exit(2);
	n1 = BOMB_CHUNK - z.avail_out;
	deflateEnd(&z);
	out = malloc(sizeof(ch) + 2 + n1 * reps + 2 + 4);
	if (!out)
		exit(2);
	memcpy(out, &ch, sizeof(ch));
	o = sizeof(ch);
	out[o++] = 0x78;                 /* zlib header: deflate, 32 KiB window */
	out[o++] = 0xda;
	for (size_t i = 0; i < reps; i++, o += n1)
		memcpy(out + o, one, n1);
	out[o++] = 0x03;                 /* final, fixed Huffman, end of block */
	out[o++] = 0x00;
	for (int i = 3; i >= 0; i--)
		out[o++] = (unsigned char)(adler >> (8 * i));
	free(zeros);
	free(one);
	*len = o;
	return out;
}

/* The bomb is a real one: its first MiBs inflate to zeros. */
static void check_bomb(const unsigned char *b, size_t len)
{
	unsigned char *buf = malloc(BOMB_CHUNK);
	z_stream z = { 0 };
	int ok = buf && inflateInit(&z) == Z_OK;

	z.next_in = (unsigned char *)b + sizeof(Elf64_Chdr);
	z.avail_in = (uInt)(len - sizeof(Elf64_Chdr));
	for (int i = 0; ok && i < 3; i++) {
		z.next_out = buf;
		z.avail_out = BOMB_CHUNK;
		ok = inflate(&z, Z_NO_FLUSH) == Z_OK && z.avail_out == 0 && !buf[0] && !buf[BOMB_CHUNK - 1];
	}
	inflateEnd(&z);
	free(buf);
	CHECK_MSG(ok, "the crafted bomb does not inflate");
}

static void bombs(void)
{
	static const char strtab[] = "\0take_gil";
	Elf64_Sym syms[2] = { { 0 }, { .st_name = 1, .st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC),
				       .st_shndx = 1, .st_value = 0x1000, .st_size = 16 } };
	char path[128];
	unsigned char *bomb;
	struct elf_file *ef;
	struct probe p;
	size_t blen;
	int err;

	bomb = make_bomb(&blen);
	check_bomb(bomb, blen);
	printf("test_hostile: bomb: %zu bytes inflating to %llu\n", blen, BOMB_SIZE);

	/* .symtab compressed: elf.c would elf_compress() it */
	struct sec a[] = {
		{ ".strtab", SHT_STRTAB, 0, strtab, sizeof(strtab), 0, 0 },
		{ ".symtab", SHT_SYMTAB, SHF_COMPRESSED, bomb, blen, 1, sizeof(Elf64_Sym) },
	};
	snprintf(path, sizeof(path), "%s/bomb-symtab", dir);
	write_elf(path, a, 2);
	probe_begin(&p);
	err = elf_file__open(path, &ef);
	probe_end(&p, "compressed .symtab bomb, elf_file__open");
	CHECK_MSG(err == -EFBIG, "%d", err);

	/* .strtab compressed: elf_strptr would inflate it itself */
	struct sec b[] = {
		{ ".strtab", SHT_STRTAB, SHF_COMPRESSED, bomb, blen, 0, 0 },
		{ ".symtab", SHT_SYMTAB, 0, syms, sizeof(syms), 1, sizeof(Elf64_Sym) },
	};
	snprintf(path, sizeof(path), "%s/bomb-strtab", dir);
	write_elf(path, b, 2);
	probe_begin(&p);
	err = elf_file__open(path, &ef);
	probe_end(&p, "compressed .strtab bomb, elf_file__open");
	CHECK_MSG(err == -EFBIG, "%d", err);
	probe_begin(&p);
	err = callsites__find_text(path, NULL, "pthread_cond_signal", NULL, 0);
	probe_end(&p, "compressed .strtab bomb, callsites__find_text");
	CHECK_MSG(err == -ENOENT, "%d", err);

	/* A GNU .zdebug section ("ZLIB", the size big-endian, the stream) is
	 * never inflated: the file opens, cheaply. */
	unsigned char *z = malloc(12 + blen - sizeof(Elf64_Chdr));

	if (!z)
		exit(2);
	memcpy(z, "ZLIB\0\0\0\1\0\0\0\0", 12);
	memcpy(z + 12, bomb + sizeof(Elf64_Chdr), blen - sizeof(Elf64_Chdr));
	struct sec c[] = {
		{ ".strtab", SHT_STRTAB, 0, strtab, sizeof(strtab), 0, 0 },
		{ ".symtab", SHT_SYMTAB, 0, syms, sizeof(syms), 1, sizeof(Elf64_Sym) },
		{ ".zdebug_info", SHT_PROGBITS, 0, z, 12 + blen - sizeof(Elf64_Chdr), 0, 0 },
	};
	snprintf(path, sizeof(path), "%s/bomb-zdebug", dir);
	write_elf(path, c, 3);
	{
		long rss0 = maxrss_kib();
		uint64_t t0 = gs_mono_ns();

		err = elf_file__open(path, &ef);
		CHECK_MSG(err == 0, "%d", err);
		if (!err)
			elf_file__close(ef);
		CHECK(gs_mono_ns() - t0 < 2000000000ull);
		CHECK(maxrss_kib() - rss0 < 64 * 1024);
	}
	free(z);
	free(bomb);
}

/* A file whose .gnu_debuglink names `target` with crc. */
static void write_linked(const char *name, const char *target, uint32_t crc)
{
	unsigned char link[128] = { 0 };
	size_t n = strlen(target), off = (n + 4) & ~(size_t)3;
	char path[128];

	memcpy(link, target, n);
	memcpy(link + off, &crc, 4);
	struct sec s[] = { { ".gnu_debuglink", SHT_PROGBITS, 0, link, off + 4, 0, 0 } };

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	write_elf(path, s, 1);
}

static uint32_t crc_of(const char *name)
{
	char path[128];
	unsigned char buf[4096];
	uLong c = crc32(0L, Z_NULL, 0);
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY);
	while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
		c = crc32(c, buf, (uInt)n);
	if (fd >= 0)
		close(fd);
	return (uint32_t)c;
}

static int find(const char *name, char *out, char *how)
{
	char bin[128];

	snprintf(bin, sizeof(bin), "%s/%s", dir, name);
	return debuginfo__find("", "/nonexistent-debug", bin, out, 256, how, 64);
}

static void on_alarm(int sig)
{
	static const char msg[] = "test_hostile: a debug-file lookup blocked for 10 s\n";

	(void)sig;
	(void)!write(1, msg, sizeof(msg) - 1);
	_exit(1);
}

static void debuglinks(void)
{
	char out[256], how[64], path[128];
	struct probe p;
	uint64_t t0;
	int err;

	/* b.debug links back to a; a links to b.debug with its right CRC:
	 * one hop is all the lookup ever takes */
	write_linked("b.debug", "a", 0x12345678);
	write_linked("a", "b.debug", crc_of("b.debug"));
	t0 = gs_mono_ns();
	err = find("a", out, how);
	CHECK_MSG(err == 0 && strstr(out, "/b.debug") && !strcmp(how, "debuglink next to the binary"),
		  "%d %s %s", err, out, how);
	err = find("b.debug", out, how);
	CHECK_MSG(err == -ENOENT && strstr(out, "/a") && !strcmp(how, "debuglink CRC mismatch"),
		  "%d %s %s", err, out, how);
	/* a file naming itself is not a candidate */
	write_linked("self", "self", 0);
	err = find("self", out, how);
	CHECK_MSG(err == -ENOENT && !out[0], "%d %s", err, out);
	/* a symlink naming itself: ELOOP, a failed candidate */
	snprintf(path, sizeof(path), "%s/loop.debug", dir);
	CHECK(symlink("loop.debug", path) == 0);
	write_linked("l", "loop.debug", 0);
	err = find("l", out, how);
	CHECK_MSG(err == -ENOENT, "%d", err);
	printf("test_hostile: debuglink loops: %.3f s\n", (gs_mono_ns() - t0) / 1e9);
	CHECK(gs_mono_ns() - t0 < 2000000000ull);

	signal(SIGALRM, on_alarm);
	alarm(10);
	/* a FIFO as the debug file: opening it must not wait for a writer */
	snprintf(path, sizeof(path), "%s/fifo.debug", dir);
	CHECK(mkfifo(path, 0644) == 0);
	write_linked("f", "fifo.debug", 0);
	probe_begin(&p);
	err = find("f", out, how);
	probe_end(&p, "FIFO as the debuglink file");
	CHECK_MSG(err == -ENOENT && !strcmp(how, "debuglink CRC mismatch"), "%d %s", err, how);
	/* /dev/zero as the debug file: its CRC would never end */
	snprintf(path, sizeof(path), "%s/zero.debug", dir);
	CHECK(symlink("/dev/zero", path) == 0);
	write_linked("z", "zero.debug", 0);
	probe_begin(&p);
	err = find("z", out, how);
	probe_end(&p, "/dev/zero as the debuglink file");
	CHECK_MSG(err == -ENOENT && !strcmp(how, "debuglink CRC mismatch"), "%d %s", err, how);
	alarm(0);
}

int main(void)
{
	struct rlimit as = { 2ull << 30, 2ull << 30 };
	char cmd[128];

	snprintf(dir, sizeof(dir), "/tmp/gs-hostile.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	gs_verbose = true;   /* the notes are what the refusals say */
#ifndef GS_ASAN
	setrlimit(RLIMIT_AS, &as);
#else
	(void)as;
#endif
	huge_counts();
	bombs();
	debuglinks();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "test_hostile: cannot remove %s\n", dir);
	return check_summary("test_hostile");
}
