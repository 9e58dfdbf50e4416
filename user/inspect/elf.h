/* SPDX-License-Identifier: MIT */
/* ELF symbol lookup with libelf: the one place that reads ELF files. */
#ifndef GS_ELF_H
#define GS_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct elf_file;
struct Elf;                 /* libelf's Elf */

/* What a file from a traced process may make gilscope's libelf do. libelf
 * allocates per section at elf_begin, and inflates a compressed
 * (SHF_COMPRESSED) symbol or string table whole, to the size its header
 * claims, when it is first used (elf_compress, elf_strptr): each file is
 * checked against these before that can happen. */
/* Sections and program headers a file may declare (extended numbering
 * included): libpython and its debug file have ~40 sections and ~10
 * program headers; a -ffunction-sections build can have tens of
 * thousands of sections. */
#define GS_ELF_MAX_SECTIONS 65536u
#define GS_ELF_MAX_PHDRS 4096u
/* The inflated size of one compressed symbol or string table: libpython's
 * debug file has < 2 MiB of each; a large static binary tens of MiB. */
#define GS_ELF_MAX_INFLATE (128ull << 20)

/* elf_begin(ELF_C_READ_MMAP) on fd, after checking it is a regular file
 * within the limits above. what names the file in the note. 0, or -errno
 * with a one-line gs_note (-v) saying what was refused: -EINVAL not a
 * regular file (a FIFO would block, a device never end), -EFBIG over a
 * limit, -ENOEXEC not ELF. */
int elf_begin_checked(int fd, const char *what, struct Elf **out);

struct elf_sym {
	const char *name;   /* owned by the elf_file; valid until close */
	uint64_t addr;      /* st_value (link-time virtual address) */
	uint64_t size;      /* st_size */
	uint64_t offset;    /* file offset of addr (what uprobes attach to) */
	bool is_func;       /* STT_FUNC (or STT_GNU_IFUNC) */
	bool from_dynsym;   /* found in .dynsym rather than .symtab */
};

/* Open path read-only. Returns 0 or -errno (-ENOEXEC: not an ELF file;
 * -EFBIG, -EINVAL: refused by elf_begin_checked, with a note). */
int elf_file__open(const char *path, struct elf_file **out);
void elf_file__close(struct elf_file *ef);

/* ET_EXEC or ET_DYN. */
int elf_file__type(const struct elf_file *ef);

/* Exact-name lookup across .symtab then .dynsym (defined symbols only,
 * st_shndx != SHN_UNDEF). 0 or -ENOENT. */
int elf_file__find(struct elf_file *ef, const char *name, struct elf_sym *out);

/* Call cb for every defined FUNC/OBJECT symbol of .symtab and .dynsym (a
 * symbol present in both, same name and address, is reported once). A
 * non-zero return from cb stops the walk and is returned. */
int elf_file__foreach(struct elf_file *ef,
		      int (*cb)(const struct elf_sym *sym, void *ctx), void *ctx);

/* File offset of a virtual address, through the PT_LOAD headers; -ENOENT
 * when no segment holds it. */
int elf_file__vaddr_to_offset(const struct elf_file *ef, uint64_t vaddr,
			      uint64_t *offset);

/* Copy len bytes of the file's initial image at vaddr (PT_LOAD file data;
 * bytes past p_filesz read as zero). 0 or -errno. */
int elf_file__read(const struct elf_file *ef, uint64_t vaddr, void *buf,
		   size_t len);

/* The same into a malloc'd buffer of len bytes (code to decode); NULL when
 * unreadable or out of memory. */
unsigned char *elf_file__read_alloc(const struct elf_file *ef, uint64_t vaddr, size_t len);

/* Does name match base with only compiler clone suffixes, i.e.
 * ^base(\.[A-Za-z_]+\.[0-9]+)*$ ? ".cold" (and any suffix without a number,
 * e.g. ".part" alone) does not match.
 * gs_sym_is_clone_of("take_gil.constprop.0", "take_gil") -> true
 * gs_sym_is_clone_of("take_gil.cold", "take_gil") -> false
 * gs_sym_is_clone_of("take_gil.lto_priv.0.cold", "take_gil") -> false */
bool gs_sym_is_clone_of(const char *name, const char *base);

#endif
