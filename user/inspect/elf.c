// SPDX-License-Identifier: MIT
/* ELF symbol lookup with libelf. The symbol tables are read once at open
 * and kept sorted by name, so lookups never touch the file again. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "inspect/elf.h"

/* An unsigned field of n bytes at b + off, in the file's byte order. */
static uint64_t ehdr_field(const unsigned char *b, size_t off, size_t n, bool msb)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)b[off + i] << 8 * (msb ? n - 1 - i : i);
	return v;
}

/* The section and program header counts the ELF header at the start of fd
 * declares, extended numbering included (e_shnum 0 or e_phnum PN_XNUM:
 * the count is in section header 0), read before libelf sees the file.
 * -ENOEXEC when it is not an ELF header: libelf then says the same. */
static int elf_counts(int fd, uint64_t *nsec, uint64_t *nph)
{
	unsigned char e[64], sh[64];
	bool is64, msb;
	uint64_t shoff;
	ssize_t n = pread(fd, e, sizeof(e), 0);

	if (n < 52 || memcmp(e, ELFMAG, SELFMAG) ||
	    (e[EI_CLASS] != ELFCLASS32 && e[EI_CLASS] != ELFCLASS64))
		return -ENOEXEC;
	is64 = e[EI_CLASS] == ELFCLASS64;
	msb = e[EI_DATA] == ELFDATA2MSB;
	if (is64 && n < 64)
		return -ENOEXEC;
	shoff = is64 ? ehdr_field(e, 40, 8, msb) : ehdr_field(e, 32, 4, msb);
	*nph = ehdr_field(e, is64 ? 56 : 44, 2, msb);
	*nsec = ehdr_field(e, is64 ? 60 : 48, 2, msb);
	if (shoff && (*nsec == 0 || *nph == PN_XNUM) &&
	    pread(fd, sh, is64 ? 64 : 40, (off_t)shoff) == (is64 ? 64 : 40)) {
		if (*nsec == 0)    /* sh_size of section 0 */
			*nsec = is64 ? ehdr_field(sh, 32, 8, msb) : ehdr_field(sh, 20, 4, msb);
		if (*nph == PN_XNUM) /* its sh_info */
			*nph = ehdr_field(sh, is64 ? 44 : 28, 4, msb);
	}
	return 0;
}

int elf_begin_checked(int fd, const char *what, struct Elf **out)
{
	uint64_t nsec = 0, nph = 0;
	Elf_Scn *scn = NULL;
	struct stat st;
	GElf_Shdr sh;
	GElf_Chdr ch;
	Elf *elf;

	*out = NULL;
	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode)) {
		gs_note("%s: refused: not a regular file", what);
		return -EINVAL;
	}
	if (elf_counts(fd, &nsec, &nph))
		return -ENOEXEC;
	if (nsec > GS_ELF_MAX_SECTIONS || nph > GS_ELF_MAX_PHDRS) {
		gs_note("%s: refused: %llu sections and %llu program headers (limits %u and %u)", what,
			(unsigned long long)nsec, (unsigned long long)nph, GS_ELF_MAX_SECTIONS,
			GS_ELF_MAX_PHDRS);
		return -EFBIG;
	}
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		if (elf)
			elf_end(elf);
		return -ENOEXEC;
	}
	/* The tables libelf would inflate whole: their claimed sizes, read
	 * from the compression header without inflating anything. */
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_COMPRESSED) ||
		    (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM && sh.sh_type != SHT_STRTAB))
			continue;
		if (!gelf_getchdr(scn, &ch)) {
			gs_note("%s: refused: compressed table (section %zu) without a readable "
				"compression header", what, elf_ndxscn(scn));
			elf_end(elf);
			return -ENOEXEC;
		}
		if (ch.ch_size > GS_ELF_MAX_INFLATE) {
			gs_note("%s: refused: compressed table (section %zu) inflating to %llu bytes "
				"(limit %llu)", what, elf_ndxscn(scn), (unsigned long long)ch.ch_size,
				GS_ELF_MAX_INFLATE);
			elf_end(elf);
			return -EFBIG;
		}
	}
	*out = elf;
	return 0;
}

struct sym_ent {
	struct elf_sym s;
	unsigned char type;     /* STT_* */
	bool dup;               /* .dynsym copy of a .symtab entry */
};

struct elf_file {
	int fd;
	Elf *elf;
	int type;
	GElf_Phdr *phdrs;       /* PT_LOAD headers only */
	size_t nphdrs;
	struct sym_ent *syms;   /* sorted by (name, from_dynsym, addr) */
	size_t nsyms;
};

static const GElf_Phdr *find_load(const struct elf_file *ef, uint64_t vaddr)
{
	/* "Holds" means inside p_memsz: a .bss address belongs to its segment
	 * even though no file bytes back it. */
	for (size_t i = 0; i < ef->nphdrs; i++) {
		const GElf_Phdr *ph = &ef->phdrs[i];

		if (vaddr >= ph->p_vaddr && vaddr - ph->p_vaddr < ph->p_memsz)
			return ph;
	}
	return NULL;
}

int elf_file__vaddr_to_offset(const struct elf_file *ef, uint64_t vaddr,
			      uint64_t *offset)
{
	const GElf_Phdr *ph = find_load(ef, vaddr);

	if (!ph)
		return -ENOENT;
	*offset = vaddr - ph->p_vaddr + ph->p_offset;
	return 0;
}

int elf_file__read(const struct elf_file *ef, uint64_t vaddr, void *buf,
		   size_t len)
{
	const GElf_Phdr *ph = find_load(ef, vaddr);
	uint64_t rel, from_file;
	ssize_t n;

	if (!ph)
		return -ENOENT;
	rel = vaddr - ph->p_vaddr;
	if (len > ph->p_memsz - rel)
		return -ERANGE;
	from_file = rel < ph->p_filesz ? ph->p_filesz - rel : 0;
	if (from_file > len)
		from_file = len;
	if (from_file) {
		n = pread(ef->fd, buf, from_file, (off_t)(ph->p_offset + rel));
		if (n < 0)
			return -errno;
		if ((uint64_t)n != from_file)
			return -EIO; /* truncated file */
	}
	memset((char *)buf + from_file, 0, len - from_file);
	return 0;
}

unsigned char *elf_file__read_alloc(const struct elf_file *ef, uint64_t vaddr, size_t len)
{
	unsigned char *buf = malloc(len);

	if (buf && elf_file__read(ef, vaddr, buf, len) != 0) {
		free(buf);
		buf = NULL;
	}
	return buf;
}

static int sym_cmp(const void *a, const void *b)
{
	const struct sym_ent *x = a, *y = b;
	int c = strcmp(x->s.name, y->s.name);

	if (c)
		return c;
	/* .symtab first: it is the richer table and find() prefers it. */
	if (x->s.from_dynsym != y->s.from_dynsym)
		return x->s.from_dynsym ? 1 : -1;
	return x->s.addr < y->s.addr ? -1 : x->s.addr > y->s.addr;
}

static int load_symtab(struct elf_file *ef, Elf_Scn *scn, GElf_Shdr *sh,
		       bool dynsym, size_t *cap)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t n;

	if (!data || !sh->sh_entsize)
		return -ENOEXEC;
	n = sh->sh_size / sh->sh_entsize;
	for (size_t i = 1; i < n; i++) {
		struct sym_ent *e;
		GElf_Sym sym;
		const char *name;
		unsigned char type;

		if (!gelf_getsym(data, (int)i, &sym))
			return -ENOEXEC;
		type = GELF_ST_TYPE(sym.st_info);
		if (sym.st_shndx == SHN_UNDEF || type == STT_SECTION ||
		    type == STT_FILE)
			continue;
		name = elf_strptr(ef->elf, sh->sh_link, sym.st_name);
		if (!name || !*name)
			continue;
		if (gs_grow(&ef->syms, cap, ef->nsyms + 1, sizeof(*ef->syms), 1024))
			return -ENOMEM;
		e = &ef->syms[ef->nsyms++];
		memset(e, 0, sizeof(*e));
		e->type = type;
		e->s.name = name;
		e->s.addr = sym.st_value;
		e->s.size = sym.st_size;
		e->s.is_func = type == STT_FUNC || type == STT_GNU_IFUNC;
		e->s.from_dynsym = dynsym;
		/* A TLS symbol's value is an offset into the TLS block, not an
		 * address: it has no file offset. Neither has SHN_ABS. */
		if (type == STT_TLS || sym.st_shndx == SHN_ABS ||
		    elf_file__vaddr_to_offset(ef, e->s.addr, &e->s.offset))
			e->s.offset = 0;
	}
	return 0;
}

static int load_syms(struct elf_file *ef)
{
	size_t cap = 0;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	int err;

	while ((scn = elf_nextscn(ef->elf, scn))) {
		if (!gelf_getshdr(scn, &sh))
			return -ENOEXEC;
		if (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM)
			continue;
		/* A compressed table (SHF_COMPRESSED, possible in separate
		 * debug files) has the compressed size in sh_size and its
		 * bytes in elf_getdata: inflate it first. A compressed string
		 * table needs nothing, elf_strptr inflates it itself. */
		if ((sh.sh_flags & SHF_COMPRESSED) &&
		    (elf_compress(scn, 0, 0) < 0 || /* type 0: inflate */
		     !gelf_getshdr(scn, &sh)))
			return -ENOEXEC;
		err = load_symtab(ef, scn, &sh, sh.sh_type == SHT_DYNSYM, &cap);
		if (err)
			return err;
	}
	if (ef->nsyms)
		qsort(ef->syms, ef->nsyms, sizeof(*ef->syms), sym_cmp);
	/* After sorting, a .dynsym copy sits in the same name run as its
	 * .symtab original; mark it so foreach reports the symbol once. */
	for (size_t i = 1; i < ef->nsyms; i++) {
		struct sym_ent *e = &ef->syms[i];

		if (!e->s.from_dynsym)
			continue;
		for (size_t j = i; j-- > 0;) {
			const struct sym_ent *o = &ef->syms[j];

			if (strcmp(o->s.name, e->s.name))
				break;
			if (!o->s.from_dynsym && o->s.addr == e->s.addr) {
				e->dup = true;
				break;
			}
		}
	}
	return 0;
}

static int load_phdrs(struct elf_file *ef)
{
	size_t n;
	GElf_Phdr ph;

	if (elf_getphdrnum(ef->elf, &n))
		return -ENOEXEC;
	ef->phdrs = calloc(n ? n : 1, sizeof(*ef->phdrs));
	if (!ef->phdrs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!gelf_getphdr(ef->elf, (int)i, &ph))
			return -ENOEXEC;
		if (ph.p_type == PT_LOAD)
			ef->phdrs[ef->nphdrs++] = ph;
	}
	return 0;
}

int elf_file__open(const char *path, struct elf_file **out)
{
	struct elf_file *ef;
	GElf_Ehdr eh;
	int err;

	ef = calloc(1, sizeof(*ef));
	if (!ef)
		return -ENOMEM;
	/* O_NONBLOCK: a FIFO put where a file was expected must not block
	 * the open (elf_begin_checked then refuses it). */
	ef->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (ef->fd < 0) {
		err = -errno;
		free(ef);
		return err;
	}
	/* READ_MMAP: section data (and the names we hand out) point into a
	 * private mapping instead of being copied to the heap. */
	err = elf_begin_checked(ef->fd, path, &ef->elf);
	if (err)
		goto cleanup;
	if (!gelf_getehdr(ef->elf, &eh)) {
		err = -ENOEXEC;
		goto cleanup;
	}
	ef->type = eh.e_type;
	err = load_phdrs(ef);
	if (err)
		goto cleanup;
	err = load_syms(ef);
	if (err)
		goto cleanup;
	*out = ef;
	return 0;

cleanup:
	elf_file__close(ef);
	return err;
}

void elf_file__close(struct elf_file *ef)
{
	if (!ef)
		return;
	free(ef->syms);
	free(ef->phdrs);
	if (ef->elf)
		elf_end(ef->elf);
	if (ef->fd >= 0)
		close(ef->fd);
	free(ef);
}

int elf_file__type(const struct elf_file *ef)
{
	return ef->type;
}

int elf_file__find(struct elf_file *ef, const char *name, struct elf_sym *out)
{
	size_t lo = 0, hi = ef->nsyms;

	/* Lower bound: the first entry of the name's run is its .symtab one
	 * when there is one. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(ef->syms[mid].s.name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == ef->nsyms || strcmp(ef->syms[lo].s.name, name))
		return -ENOENT;
	*out = ef->syms[lo].s;
	return 0;
}

int elf_file__foreach(struct elf_file *ef,
		      int (*cb)(const struct elf_sym *sym, void *ctx), void *ctx)
{
	for (size_t i = 0; i < ef->nsyms; i++) {
		const struct sym_ent *e = &ef->syms[i];
		int ret;

		if (e->dup || (!e->s.is_func && e->type != STT_OBJECT))
			continue;
		ret = cb(&e->s, ctx);
		if (ret)
			return ret;
	}
	return 0;
}

/* One ".word.digits" component at *p; advances past it. */
static bool clone_suffix(const char **p)
{
	const char *s = *p, *word;

	if (*s++ != '.')
		return false;
	word = s;
	while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_')
		s++;
	/* Old GCC wrote cold parts as "f.cold.N": that is a fragment of f,
	 * not a callable clone, whatever its number. */
	if (s == word || (s - word == 4 && !strncmp(word, "cold", 4)))
		return false;
	if (*s++ != '.' || !(*s >= '0' && *s <= '9'))
		return false;
	while (*s >= '0' && *s <= '9')
		s++;
	*p = s;
	return true;
}

bool gs_sym_is_clone_of(const char *name, const char *base)
{
	size_t n = strlen(base);

	if (strncmp(name, base, n))
		return false;
	name += n;
	while (*name)
		if (!clone_suffix(&name))
			return false;
	return true;
}
