// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "inspect/callsite.h"
#include "inspect/elf.h"

/* The most code scanned for call sites in one piece: a function, or the
 * whole .text of a stripped binary (libpython's is 2-5 MiB); its size is
 * the file's word, and it is read into memory whole. */
#define GS_CALLSITE_MAX_CODE (256u << 20)
/* The most of a function read to check its entry (endbr64 and branches
 * back to the next instruction). */
#define GS_ENTRY_MAX_CODE (16u << 20)

/* GOT slot of callee, from .rela.plt (lazy binding) or .rela.dyn
 * (R_X86_64_GLOB_DAT: -fno-plt / -z now builds). */
static int got_slot(Elf *elf, const char *callee, uint64_t *slot)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(elf, scn))) {
		Elf_Data *data, *symdata;
		Elf_Scn *symscn;
		GElf_Shdr symsh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || !sh.sh_link)
			continue;
		symscn = elf_getscn(elf, sh.sh_link);
		if (!symscn || !gelf_getshdr(symscn, &symsh) || symsh.sh_type != SHT_DYNSYM)
			continue;
		data = elf_getdata(scn, NULL);
		symdata = elf_getdata(symscn, NULL);
		if (!data || !symdata)
			continue;
		/* as many entries as the data holds: gelf_getrela checks the
		 * index against it (sh_size / sh_entsize is the file's word,
		 * a division by 0 or a count far past the data) */
		for (size_t i = 0; i <= INT_MAX; i++) {
			GElf_Rela r;
			GElf_Sym s;
			const char *name;

			if (!gelf_getrela(data, (int)i, &r))
				break;
			if (!gelf_getsym(symdata, (int)GELF_R_SYM(r.r_info), &s))
				continue;
			name = elf_strptr(elf, symsh.sh_link, s.st_name);
			if (name && strcmp(name, callee) == 0) {
				*slot = r.r_offset;
				return 0;
			}
		}
	}
	return -ENOENT;
}

static int32_t rel32(const unsigned char *p)
{
	int32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* The PLT stub that jumps through slot: `jmp *disp32(%rip)` (ff 25), in
 * .plt or .plt.sec (where it follows endbr64 and a bnd prefix). Stubs are
 * 16-byte entries, so the stub starts at the entry holding the jump. */
static int plt_stub(Elf *elf, uint64_t slot, uint64_t *stub)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return -EINVAL;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *name;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS)
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name || (strcmp(name, ".plt") && strcmp(name, ".plt.sec")))
			continue;
		d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf)
			continue;
		for (size_t i = 0; i + 6 <= d->d_size; i++) {
			const unsigned char *b = (const unsigned char *)d->d_buf + i;

			if (b[0] == 0xff && b[1] == 0x25 &&
			    sh.sh_addr + i + 6 + (int64_t)rel32(b + 2) == slot) {
				*stub = sh.sh_addr + (i & ~(size_t)15);
				return 0;
			}
		}
	}
	return -ENOENT;
}

int callsites__find(const char *path, struct elf_file *ef, uint64_t addr, uint64_t size,
		    const char *callee, uint64_t *sites, int max)
{
	uint64_t slot = 0, stub = 0;
	unsigned char *code;
	Elf *elf;
	int fd, n = 0, e;

	if (size < 5 || size > GS_CALLSITE_MAX_CODE)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	e = elf_begin_checked(fd, path, &elf);
	if (e) {
		close(fd);
		return e;
	}
	e = got_slot(elf, callee, &slot);
	if (!e && plt_stub(elf, slot, &stub))
		stub = 0;                      /* no PLT: GOT calls only */
	elf_end(elf);
	close(fd);
	if (e)
		return e;
	code = elf_file__read_alloc(ef, addr, size);
	if (!code)
		return -EIO;
	for (uint64_t i = 0; i + 5 <= size; i++) {
		uint64_t at = addr + i;

		if (code[i] == 0xe8 && stub && at + 5 + (int64_t)rel32(code + i + 1) == stub) {
			if (n < max)
				sites[n] = at;
			n++;
		} else if (i + 6 <= size && code[i] == 0xff && code[i + 1] == 0x15 &&
			   at + 6 + (int64_t)rel32(code + i + 2) == slot) {
			if (n < max)
				sites[n] = at;
			n++;
		}
	}
	free(code);
	return n;
}

int callsites__find_text(const char *path, struct elf_file *ef, const char *callee,
			 uint64_t *sites, int max)
{
	uint64_t addr = 0, size = 0;
	size_t shstrndx;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	Elf *elf;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (elf_begin_checked(fd, path, &elf))
		elf = NULL;
	if (elf && !elf_getshdrstrndx(elf, &shstrndx))
		while ((scn = elf_nextscn(elf, scn))) {
			const char *name;

			if (gelf_getshdr(scn, &sh) && (name = elf_strptr(elf, shstrndx, sh.sh_name)) &&
			    strcmp(name, ".text") == 0) {
				addr = sh.sh_addr;
				size = sh.sh_size;
				break;
			}
		}
	if (elf)
		elf_end(elf);
	close(fd);
	if (!size)
		return -ENOENT;
	return callsites__find(path, ef, addr, size, callee, sites, max);
}

int callsites__find_local(struct elf_file *ef, uint64_t addr, uint64_t size, const uint64_t *targets,
			  int ntargets, uint64_t *sites, int max)
{
	unsigned char *code;
	int n = 0;

	if (size < 5)
		return 0;      /* too short to hold a call */
	if (size > GS_CALLSITE_MAX_CODE)
		return -EINVAL;
	code = elf_file__read_alloc(ef, addr, size);
	if (!code)
		return -EIO;
	for (uint64_t i = 0; i + 5 <= size; i++) {
		uint64_t to;

		if (code[i] != 0xe8)
			continue;
		to = addr + i + 5 + (int64_t)rel32(code + i + 1);
		for (int k = 0; k < ntargets; k++) {
			if (to != targets[k])
				continue;
			if (n < max)
				sites[n] = addr + i;
			n++;
			break;
		}
	}
	free(code);
	return n;
}

int callsites__entry_skip(const unsigned char *code, size_t len, uint64_t addr)
{
	static const unsigned char endbr64[4] = { 0xf3, 0x0f, 0x1e, 0xfa };
	uint64_t next = addr + 4;

	if (len < 8 || memcmp(code, endbr64, 4) != 0)
		return 0;
	/* Any branch back to the instruction after it (byte patterns: a false
	 * match only keeps the probe at the entry, the safe side). */
	for (size_t i = 4; i < len; i++) {
		uint64_t at = addr + i;

		if ((code[i] == 0xeb || (code[i] >= 0x70 && code[i] <= 0x7f)) && i + 2 <= len &&
		    at + 2 + (int64_t)(int8_t)code[i + 1] == next)
			return 0;
		if ((code[i] == 0xe9 || code[i] == 0xe8) && i + 5 <= len &&
		    at + 5 + (int64_t)rel32(code + i + 1) == next)
			return 0;
		if (code[i] == 0x0f && i + 6 <= len && code[i + 1] >= 0x80 && code[i + 1] <= 0x8f &&
		    at + 6 + (int64_t)rel32(code + i + 2) == next)
			return 0;
	}
	return 4;
}

int callsites__entry_probe(struct elf_file *ef, uint64_t addr, uint64_t size)
{
	unsigned char *code;
	int skip;

	if (size < 8 || size > GS_ENTRY_MAX_CODE || !(code = elf_file__read_alloc(ef, addr, size)))
		return 0;
	skip = callsites__entry_skip(code, size, addr);
	free(code);
	return skip;
}
