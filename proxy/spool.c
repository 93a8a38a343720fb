/* SPDX-License-Identifier: ISC */
/*
 * spool.c - owns the store a message waits in: a growing memory buffer up
 * to mem_max bytes, then an unlinked temporary file in dir holding all of
 * it.  The file has no name from the moment it exists (O_TMPFILE) or from
 * right after it was made (mkstemp + unlink), so nothing is left behind if
 * postern dies.  Writes and reads use explicit offsets (pwrite/pread): a
 * failed append leaves the logical size unchanged and the next append
 * overwrites whatever part of it reached the file.
 *
 * Public:
 *	spool_new	an empty spool (dir copied).
 *	spool_free	close the file, free the memory.
 *	spool_write	append; moves to disk when mem_max would be exceeded.
 *	spool_size	bytes appended so far.
 *	spool_on_disk	1 once the content lives in the temporary file.
 *	spool_dir_ok	whether a spool file can be made in a directory.
 *	spool_read	copy bytes from any offset.
 *	spool_cut	leave a range out of the edited view.
 *	spool_edited_size	the size of that view.
 *	spool_read_edited	read that view, jumping the cuts.
 *
 * Cuts are kept sorted; a filter may cut every header field of a message,
 * so nothing walks all of them per call: a cut in order is appended, one
 * out of order placed by binary search (the later ones move up: only the
 * few header changes at the end of a message come so), and the view
 * remembers the cut its last read stopped before (cutpos), so reading it
 * from start to end costs O(cuts + bytes) in all, and a seek backwards
 * O(log cuts).
 *
 * DIAGNOSTICS
 *	None logged.  File errors (no space, no directory, I/O) return -1
 *	with errno set; the caller answers 451 and logs.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/metrics.h"
#include "lib/util.h"
#include "proxy/spool.h"

#define SPOOL_MEM_MIN	4096	/* first memory allocation */

struct spool {
	size_t		 mem_max;	/* memory threshold, bytes */
	char		*dir;		/* temp file directory, copied */
	unsigned char	*mem;		/* content while in memory */
	size_t		 memcap;	/* allocated size of mem */
	int		 fd;		/* temp file, -1 while in memory */
	uint64_t	 size;		/* content bytes */
	uint64_t	(*cuts)[2];	/* {off, len}, ascending */
	size_t		 ncuts;
	size_t		 cutcap;	/* entries allocated */
	size_t		 cutpos;	/* hint: first cut that ends after the
					   last edited read, or stale */
	uint64_t	 cut_bytes;	/* their total */
};

#define SPOOL_CUT_END(sp, i)	((sp)->cuts[i][0] + (sp)->cuts[i][1])

static int	spool_tmpfile(const char *);
static int	spool_pwrite(int, const void *, size_t, uint64_t);
static int	spool_to_disk(struct spool *);
static void	spool_mem_append(struct spool *, const void *, size_t);
static size_t	spool_cut_next(struct spool *, uint64_t);

/*
 * spool_new - an empty spool that keeps up to mem_max bytes in memory (0:
 * straight to a file) and makes its file in dir (copied; NULL means /tmp).
 * No file is made until one is needed.
 */
struct spool *
spool_new(size_t mem_max, const char *dir)
{
	struct spool	*sp;

	sp = xcalloc(1, sizeof(*sp));
	sp->mem_max = mem_max;
	sp->dir = xstrdup(dir != NULL ? dir : "/tmp");
	sp->fd = -1;
	return sp;
}

/* spool_free - close the file (which then disappears) and free sp. */
void
spool_free(struct spool *sp)
{
	if (sp == NULL)
		return;
	metric_add(M_SPOOL_BYTES, -(double)sp->size, sp->fd != -1 ? "disk" :
	    "memory");
	if (sp->fd != -1)
		close(sp->fd);
	free(sp->mem);
	free(sp->dir);
	free(sp->cuts);
	free(sp);
}

/*
 * spool_write - append buf[0..len).  The first append that would take the
 * memory content past mem_max makes the file and moves everything there.
 * Returns 0, or -1 with errno (nothing of buf counted as appended).
 */
int
spool_write(struct spool *sp, const void *buf, size_t len)
{
	if (len == 0)
		return 0;
	if (sp->fd == -1 && len <= sp->mem_max - sp->size) {
		spool_mem_append(sp, buf, len);
		return 0;
	}
	if (sp->fd == -1 && spool_to_disk(sp) == -1)
		return -1;
	if (spool_pwrite(sp->fd, buf, len, sp->size) == -1)
		return -1;
	sp->size += len;
	metric_add(M_SPOOL_BYTES, (double)len, "disk");
	return 0;
}

uint64_t
spool_size(const struct spool *sp)
{
	return sp->size;
}

int
spool_on_disk(const struct spool *sp)
{
	return sp->fd != -1;
}

/*
 * spool_read - copy up to len bytes from offset off into buf.  Returns the
 * count (short only at the end of the content, 0 at or past it), or -1
 * with errno.
 */
ssize_t
spool_read(struct spool *sp, uint64_t off, void *buf, size_t len)
{
	size_t	 n, got = 0;
	ssize_t	 r;

	if (off >= sp->size || len == 0)
		return 0;
	n = (sp->size - off < len) ? (size_t)(sp->size - off) : len;
	if (n > SSIZE_MAX)
		n = SSIZE_MAX;
	if (sp->fd == -1) {
		memcpy(buf, sp->mem + off, n);
		return (ssize_t)n;
	}
	while (got < n) {
		r = pread(sp->fd, (char *)buf + got, n - got,
		    (off_t)(off + got));
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0)
			break;	/* cannot happen: the file is ours */
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* Grow mem geometrically (never past mem_max) and append. */
static void
spool_mem_append(struct spool *sp, const void *buf, size_t len)
{
	size_t	 need = (size_t)sp->size + len, cap;

	if (need > sp->memcap) {
		cap = (sp->memcap == 0) ? SPOOL_MEM_MIN : sp->memcap;
		while (cap < need && cap <= SIZE_MAX / 2)
			cap *= 2;
		if (cap > sp->mem_max)
			cap = sp->mem_max;
		if (cap < need)
			cap = need;
		sp->mem = xrealloc(sp->mem, cap);
		sp->memcap = cap;
	}
	memcpy(sp->mem + sp->size, buf, len);
	metric_add(M_SPOOL_BYTES, (double)len, "memory");
	sp->size += len;
}

/* Make the temporary file and move the memory content into it. */
static int
spool_to_disk(struct spool *sp)
{
	int	 fd, saved;

	if ((fd = spool_tmpfile(sp->dir)) == -1)
		return -1;
	if (sp->size > 0 && spool_pwrite(fd, sp->mem, sp->size, 0) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	free(sp->mem);
	sp->mem = NULL;
	sp->memcap = 0;
	sp->fd = fd;
	metric_add(M_SPOOL_BYTES, -(double)sp->size, "memory");
	metric_add(M_SPOOL_BYTES, (double)sp->size, "disk");
	return 0;
}

/*
 * An open, nameless, read-write file in dir: O_TMPFILE where the kernel
 * and file system have it, else mkstemp and unlink at once.
 */
static int
spool_tmpfile(const char *dir)
{
	char	 path[4096];
	int	 fd, saved;

	if ((fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) != -1)
		return fd;
	if ((size_t)snprintf(path, sizeof(path), "%s/postern.XXXXXX", dir) >=
	    sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = mkostemp(path, O_CLOEXEC)) == -1)
		return -1;
	if (unlink(path) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int
spool_dir_ok(const char *dir)
{
	int	 fd;

	if ((fd = spool_tmpfile(dir)) == -1)
		return -1;
	close(fd);
	return 0;
}

/* Write all of buf at offset off, through EINTR and short writes. */
static int
spool_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
	const char	*p = buf;
	ssize_t		 w;

	while (len > 0) {
		w = pwrite(fd, p, len, (off_t)off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			return -1;
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		p += w;
		len -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

/*
 * spool_cut - leave [off, off + len) out of the edited view.  Cuts come in
 * any order (in order is the cheap case: an append) but must lie within
 * the content and not overlap another: -1 then, and nothing changes.
 */
int
spool_cut(struct spool *sp, uint64_t off, uint64_t len)
{
	size_t	 i, lo, hi;

	if (len == 0 || off > sp->size || len > sp->size - off)
		return -1;
	/* i: the place of the first cut that starts after this one */
	lo = 0;
	hi = sp->ncuts;
	if (hi > 0 && sp->cuts[hi - 1][0] < off)
		lo = hi;
	while (lo < hi) {
		i = lo + (hi - lo) / 2;
		if (sp->cuts[i][0] <= off)
			lo = i + 1;
		else
			hi = i;
	}
	i = lo;
	if ((i > 0 && off < SPOOL_CUT_END(sp, i - 1)) ||
	    (i < sp->ncuts && off + len > sp->cuts[i][0]))
		return -1;	/* overlaps a neighbour */
	if (sp->ncuts == sp->cutcap) {
		sp->cutcap = sp->cutcap > 0 ? 2 * sp->cutcap : 16;
		sp->cuts = xrealloc(sp->cuts, sp->cutcap * sizeof(*sp->cuts));
	}
	memmove(sp->cuts + i + 1, sp->cuts + i, (sp->ncuts - i) *
	    sizeof(*sp->cuts));
	sp->cuts[i][0] = off;
	sp->cuts[i][1] = len;
	sp->ncuts++;
	sp->cut_bytes += len;
	if (i < sp->cutpos)
		sp->cutpos++;	/* the hint keeps naming the same cut */
	return 0;
}

uint64_t
spool_edited_size(const struct spool *sp)
{
	return sp->size - sp->cut_bytes;
}

/*
 * The first cut that ends after off (ncuts if none).  From the hint when
 * it is no further than that (reads go forward: each cut is passed once),
 * else by binary search; cut ends ascend like their starts, since cuts do
 * not overlap.
 */
static size_t
spool_cut_next(struct spool *sp, uint64_t off)
{
	size_t	 i = sp->cutpos, lo, hi;

	if (i > sp->ncuts || (i > 0 && SPOOL_CUT_END(sp, i - 1) > off)) {
		lo = 0;
		hi = sp->ncuts;
		while (lo < hi) {
			i = lo + (hi - lo) / 2;
			if (SPOOL_CUT_END(sp, i) <= off)
				lo = i + 1;
			else
				hi = i;
		}
		i = lo;
	}
	while (i < sp->ncuts && SPOOL_CUT_END(sp, i) <= off)
		i++;
	return i;
}

/*
 * spool_read_edited - fill buf with up to len bytes of the edited view
 * from the raw offset *off on, jumping every cut met (adjacent ones
 * included); *off ends after the last byte copied or cut jumped.  Returns
 * the count (short only at the end, 0 there), or -1 with errno when the
 * file fails before anything was copied.
 */
ssize_t
spool_read_edited(struct spool *sp, uint64_t *off, void *buf, size_t len)
{
	size_t		 i, got = 0, n;
	uint64_t	 end;
	ssize_t		 r;

	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	i = spool_cut_next(sp, *off);
	while (got < len) {
		/* in a cut (i ends after *off): out of it, and the next */
		for (; i < sp->ncuts && *off >= sp->cuts[i][0]; i++)
			*off = SPOOL_CUT_END(sp, i);
		end = i < sp->ncuts ? sp->cuts[i][0] : sp->size;
		if (*off >= end)
			break;
		n = end - *off < len - got ? (size_t)(end - *off) : len - got;
		if ((r = spool_read(sp, *off, (char *)buf + got, n)) <= 0) {
			if (r == -1 && got == 0)
				return -1;
			break;	/* the error comes back at the next call */
		}
		got += (size_t)r;
		*off += (uint64_t)r;
	}
	sp->cutpos = i;
	return (ssize_t)got;
}
