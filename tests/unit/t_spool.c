/* SPDX-License-Identifier: ISC */
/*
 * t_spool.c - unit tests for proxy/spool.c: memory only, the move to the
 * temporary file, mem_max 0, reads at any offset on both sides of the move,
 * a 5 MiB message, a file that never shows in its directory, a failed
 * move that loses nothing, and the edited view: fixed cuts, random cuts
 * and reads checked against a byte-by-byte model, and 200,000 cuts read
 * in linear time.  Each test works in its own mkdtemp directory.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proxy/spool.h"
#include "tap.h"

static unsigned char *pattern(size_t);
static int	 read_all_ok(struct spool *, const unsigned char *, size_t,
		    size_t);
static int	 dir_entries(const char *);
static void	 test_memory(const char *);
static void	 test_threshold(const char *);
static void	 test_zero(const char *);
static void	 test_offsets(const char *);
static void	 test_big(const char *);
static void	 test_hidden(void);
static void	 test_bad_dir(void);
static void	 test_cuts(size_t);
static size_t	 model_read(const unsigned char *, const unsigned char *,
		    size_t, uint64_t *, unsigned char *, size_t);
static void	 test_cuts_random(size_t, uint32_t);
static void	 test_cuts_many(size_t);

/* len bytes of a pattern with no short period, so offsets are checked. */
static unsigned char *
pattern(size_t len)
{
	unsigned char	*p = malloc(len);
	uint32_t	 x = 2463534242u;
	size_t		 i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)x;
	}
	return p;
}

/* Read the whole spool in pieces of step bytes; compare with want. */
static int
read_all_ok(struct spool *sp, const unsigned char *want, size_t len,
    size_t step)
{
	unsigned char	*buf = malloc(step);
	size_t		 off = 0;
	ssize_t		 n;
	int		 good = 1;

	while ((n = spool_read(sp, off, buf, step)) > 0) {
		if (off + (size_t)n > len ||
		    memcmp(buf, want + off, (size_t)n) != 0)
			good = 0;
		off += (size_t)n;
	}
	free(buf);
	return good && n == 0 && off == len;
}

/* Entries in dir other than "." and "..", -1 if it cannot be read. */
static int
dir_entries(const char *dir)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
test_memory(const char *dir)
{
	struct spool	*sp = spool_new(1024, dir);
	char		 buf[16];

	is_int(spool_size(sp), 0, "memory: empty");
	is_int(spool_read(sp, 0, buf, sizeof(buf)), 0, "memory: read empty");
	ok(spool_write(sp, "hello ", 6) == 0 &&
	    spool_write(sp, "world", 5) == 0 && spool_write(sp, "", 0) == 0,
	    "memory: writes");
	is_int(spool_size(sp), 11, "memory: size");
	is_int(spool_on_disk(sp), 0, "memory: not on disk");
	is_int(spool_read(sp, 0, buf, sizeof(buf)), 11, "memory: read all");
	is_mem(buf, 11, "hello world", 11, "memory: content");
	is_int(spool_read(sp, 6, buf, 3), 3, "memory: read inside");
	is_mem(buf, 3, "wor", 3, "memory: content inside");
	is_int(spool_read(sp, 11, buf, 4), 0, "memory: read at the end");
	is_int(spool_read(sp, 500, buf, 4), 0, "memory: read past the end");
	is_int(dir_entries(dir), 0, "memory: no file made");
	spool_free(sp);
}

static void
test_threshold(const char *dir)
{
	struct spool	*sp = spool_new(100, dir);
	unsigned char	*p = pattern(300);

	ok(spool_write(sp, p, 100) == 0, "threshold: fill memory exactly");
	is_int(spool_on_disk(sp), 0, "threshold: still in memory at 100");
	ok(spool_write(sp, p + 100, 1) == 0, "threshold: one more byte");
	is_int(spool_on_disk(sp), 1, "threshold: moved to disk");
	ok(spool_write(sp, p + 101, 199) == 0, "threshold: write on disk");
	is_int(spool_size(sp), 300, "threshold: size");
	ok(read_all_ok(sp, p, 300, 7), "threshold: content");
	is_int(dir_entries(dir), 0, "threshold: file not visible");
	spool_free(sp);
	free(p);
}

static void
test_zero(const char *dir)
{
	struct spool	*sp = spool_new(0, dir);
	char		 buf[8];

	is_int(spool_on_disk(sp), 0, "mem_max 0: no file before a write");
	ok(spool_write(sp, "abc", 3) == 0, "mem_max 0: write");
	is_int(spool_on_disk(sp), 1, "mem_max 0: on disk at once");
	is_int(spool_read(sp, 1, buf, sizeof(buf)), 2, "mem_max 0: read");
	is_mem(buf, 2, "bc", 2, "mem_max 0: content");
	spool_free(sp);
}

/* Writes of assorted sizes across the threshold; reads at every offset. */
static void
test_offsets(const char *dir)
{
	static const size_t sizes[] = { 1, 999, 1000, 3, 2500, 17, 4000 };
	struct spool	*sp = spool_new(3000, dir);
	unsigned char	*p = pattern(20000), buf[700];
	size_t		 i, off = 0, len, n, want;
	int		 wr_ok = 1, rd_ok = 1, mem_ok = 1;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		/* Check reads from memory just before the move. */
		if (!spool_on_disk(sp) && off > 0)
			mem_ok &= read_all_ok(sp, p, off, 13);
		wr_ok &= spool_write(sp, p + off, sizes[i]) == 0;
		off += sizes[i];
	}
	ok(wr_ok, "offsets: writes");
	ok(mem_ok, "offsets: reads while in memory");
	is_int(spool_on_disk(sp), 1, "offsets: on disk");
	is_int(spool_size(sp), off, "offsets: size");
	for (i = 0; i < off + 10; i += 37) {
		len = 1 + (i * 7) % sizeof(buf);
		want = i >= off ? 0 : (off - i < len ? off - i : len);
		n = (size_t)spool_read(sp, i, buf, len);
		if (n != want || memcmp(buf, p + i, n) != 0)
			rd_ok = 0;
	}
	ok(rd_ok, "offsets: reads at arbitrary offsets");
	spool_free(sp);
	free(p);
}

static void
test_big(const char *dir)
{
	size_t		 big = 5 * 1024 * 1024, off;
	struct spool	*sp = spool_new(1024 * 1024, dir);
	unsigned char	*p = pattern(big);

	ok(spool_write(sp, p, big) == 0, "5 MiB: one write");
	is_int(spool_size(sp), big, "5 MiB: size");
	ok(read_all_ok(sp, p, big, 65536), "5 MiB: content");
	spool_free(sp);

	sp = spool_new(1024 * 1024, dir);
	for (off = 0; off < big; off += 4096)
		if (spool_write(sp, p + off, 4096) != 0)
			break;
	is_int(off, big, "5 MiB: 4 KiB writes");
	ok(spool_on_disk(sp) && read_all_ok(sp, p, big, 1000),
	    "5 MiB: content after 4 KiB writes");
	spool_free(sp);
	free(p);
}

/* The temp file never shows in a fresh directory, and is gone after. */
static void
test_hidden(void)
{
	char		 dir[] = "/tmp/t_spool.XXXXXX";
	struct spool	*sp;

	if (mkdtemp(dir) == NULL) {
		ok(0, "hidden: mkdtemp: %s", strerror(errno));
		return;
	}
	sp = spool_new(0, dir);
	ok(spool_write(sp, "x", 1) == 0 && spool_on_disk(sp),
	    "hidden: on disk");
	is_int(dir_entries(dir), 0, "hidden: directory looks empty");
	spool_free(sp);
	is_int(dir_entries(dir), 0, "hidden: still empty after free");
	ok(rmdir(dir) == 0, "hidden: directory removable");
}

/* The move fails: an error, and the memory content is kept whole. */
static void
test_bad_dir(void)
{
	struct spool	*sp = spool_new(8, "/nonexistent/postern-t_spool");
	char		 buf[16];
	int		 rc;

	ok(spool_write(sp, "abcde", 5) == 0, "bad dir: memory write");
	errno = 0;
	rc = spool_write(sp, "fghij", 5);
	ok(rc == -1 && errno == ENOENT, "bad dir: -1 ENOENT");
	is_int(spool_size(sp), 5, "bad dir: size unchanged");
	is_int(spool_read(sp, 0, buf, sizeof(buf)), 5, "bad dir: read");
	is_mem(buf, 5, "abcde", 5, "bad dir: content kept");
	spool_free(sp);
}

/* Cuts: the edited view is the content without them, read in any step,
 * with adjacent cuts, a cut at the start and at the end; bad cuts refused.
 * mem_max 0 puts the content on disk. */
static void
test_cuts(size_t mem_max)
{
	struct spool	*sp = spool_new(mem_max, NULL);
	unsigned char	*p = pattern(10000), want[10000], buf[7];
	size_t		 wl = 0, steps[] = { 1, 7, 4096 }, k;
	uint64_t	 off;
	ssize_t		 n;
	int		 good;

	spool_write(sp, p, sizeof(want));
	ok(spool_cut(sp, 0, 10) == 0 && spool_cut(sp, 100, 50) == 0 &&
	    spool_cut(sp, 150, 25) == 0 && spool_cut(sp, 9990, 10) == 0,
	    "cuts at the start, adjacent and at the end (mem_max %zu)",
	    mem_max);
	ok(spool_cut(sp, 5000, 0) == -1 && spool_cut(sp, 95, 10) == -1 &&
	    spool_cut(sp, 140, 20) == -1 && spool_cut(sp, 9995, 10) == -1,
	    "empty, overlapping and past-the-end cuts refused");
	ok(spool_cut(sp, 5000, 10) == 0, "a cut before the last one (a header "
	    "changed at the end of the message) goes in its place");
	memcpy(want, p + 10, 90);
	memcpy(want + 90, p + 175, 5000 - 175);
	memcpy(want + 90 + 5000 - 175, p + 5010, 9990 - 5010);
	wl = 90 + 5000 - 175 + 9990 - 5010;
	is_int(spool_edited_size(sp), wl, "edited size");
	for (k = 0; k < 3; k++) {
		unsigned char	*got = malloc(sizeof(want));
		size_t		 gl = 0;

		for (off = 0; (n = spool_read_edited(sp, &off, got + gl,
		    steps[k] < sizeof(want) - gl ? steps[k] :
		    sizeof(want) - gl)) > 0 && gl < sizeof(want);)
			gl += (size_t)n;
		good = n >= 0 && gl == wl && memcmp(got, want, wl) == 0;
		ok(good, "edited view read %zu bytes at a time", steps[k]);
		free(got);
	}
	off = 0;
	ok(spool_read(sp, 0, buf, sizeof(buf)) == 7 &&
	    memcmp(buf, p, 7) == 0, "the raw view keeps the cut bytes");
	free(p);
	spool_free(sp);
}

/*
 * The model of the edited view: content p (len bytes) with the bytes
 * where cut[] is set left out, read byte by byte from *off into buf (up
 * to n): cut bytes are passed while the buffer is not full.
 */
static size_t
model_read(const unsigned char *p, const unsigned char *cut, size_t len,
    uint64_t *off, unsigned char *buf, size_t n)
{
	size_t	 got = 0;

	for (; *off < len && got < n; (*off)++)
		if (!cut[*off])
			buf[got++] = p[*off];
	return got;
}

/*
 * Random cuts (adjacent ones, at the start and the end, in any order;
 * overlapping ones must be refused) and random reads: sequential ones in
 * random chunk sizes, and seeks to any raw offset, each checked against
 * the model, bytes and the offset after.
 */
static void
test_cuts_random(size_t mem_max, uint32_t seed)
{
	enum { LEN = 60000, CUTS = 3000, READS = 4000 };
	struct spool	*sp = spool_new(mem_max, NULL);
	unsigned char	*p = pattern(LEN), *cut = calloc(1, LEN);
	unsigned char	 got[5000], want[5000];
	uint64_t	 off, moff, total = 0;
	size_t		 i, k, o, l, n, m, nwant = 0;
	int		 agree = 1, refused = 1, rd_ok = 1, seq_ok = 1, in;
	uint32_t	 r = seed;

	spool_write(sp, p, LEN);
	for (i = 0; i < CUTS; i++) {
		o = tap_random(&r) % LEN;
		l = 1 + tap_random(&r) % (tap_random(&r) % 4 == 0 ? 200 : 12);
		if (i % 97 == 0)
			o = i % 2 ? 0 : LEN - l;	/* the ends */
		l = l > LEN - o ? LEN - o : l;
		for (k = o, in = 0; k < o + l; k++)
			in |= cut[k];
		n = spool_cut(sp, o, l) == 0;
		agree &= n == !in;
		if (n)
			memset(cut + o, 1, l);
		else
			refused++;
	}
	ok(agree, "random cuts (seed %u, mem_max %zu): accepted exactly when "
	    "they overlap no other (%d refused)", seed, mem_max, refused - 1);
	for (i = 0; i < LEN; i++)
		nwant += !cut[i];
	is_int(spool_edited_size(sp), nwant, "random cuts: edited size");
	/* sequential reads in random chunk sizes, 1 to 5000 bytes */
	for (k = 0; k < 3; k++) {
		for (off = moff = 0, i = 0; i < 2 * LEN; i++) {
			l = 1 + tap_random(&r) % (k == 0 ? 8 : k == 1 ? 300 :
			    sizeof(got));
			n = (size_t)spool_read_edited(sp, &off, got, l);
			m = model_read(p, cut, LEN, &moff, want, l);
			if (n != m || off != moff || memcmp(got, want, n) != 0)
				seq_ok = 0;
			total += n;
			if (n == 0)
				break;
		}
	}
	ok(seq_ok && total == 3 * nwant, "random cuts: sequential reads "
	    "agree with the model");
	/* seeks: any raw offset, inside cuts too, backwards and forwards */
	for (i = 0; i < READS; i++) {
		off = moff = tap_random(&r) % (LEN + 10);
		l = 1 + tap_random(&r) % sizeof(got);
		n = (size_t)spool_read_edited(sp, &off, got, l);
		m = model_read(p, cut, LEN, &moff, want, l);
		if (n != m || off != moff || memcmp(got, want, n) != 0)
			rd_ok = 0;
	}
	ok(rd_ok, "random cuts: reads at random offsets agree with the model");
	free(cut);
	free(p);
	spool_free(sp);
}

/*
 * 200,000 cuts, every other field of a header a filter removed: the view
 * read in small and large chunks, in a time linear in the cuts (a scan
 * of every cut per read took minutes), content checked.
 */
static void
test_cuts_many(size_t mem_max)
{
	enum { FIELDS = 400000, FLEN = 10 };
	struct spool	*sp = spool_new(mem_max, NULL);
	unsigned char	*p = pattern((size_t)FIELDS * FLEN), buf[65536];
	uint64_t	 off;
	size_t		 i, j, k, steps[] = { 64, sizeof(buf) }, got;
	ssize_t		 n;
	int		 cut_ok = 1, good;
	struct timespec	 t0, t1;
	double		 secs;

	spool_write(sp, p, (size_t)FIELDS * FLEN);
	for (i = 1; i < FIELDS; i += 2)
		cut_ok &= spool_cut(sp, (uint64_t)i * FLEN, FLEN) == 0;
	ok(cut_ok, "200,000 cuts in order (mem_max %zu)", mem_max);
	for (k = 0; k < 2; k++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		good = 1;
		got = 0;
		/* bounded: every call but the last returns bytes */
		for (off = 0, i = 0; i <= FIELDS; i++) {
			if ((n = spool_read_edited(sp, &off, buf,
			    steps[k])) <= 0)
				break;
			for (j = 0; j < (size_t)n; j++, got++)
				good &= buf[j] == p[(got / FLEN) * 2 * FLEN +
				    got % FLEN];
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		secs = (double)(t1.tv_sec - t0.tv_sec) +
		    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		ok(good && n == 0 && got == (size_t)FIELDS / 2 * FLEN,
		    "200,000 cuts: the view read %zu bytes at a time",
		    steps[k]);
		ok(secs < 2.0, "200,000 cuts: read in %.3f s (< 2 s: linear)",
		    secs);
	}
	free(p);
	spool_free(sp);
}

int
main(void)
{
	char		 dir[] = "/tmp/t_spool.XXXXXX";

	if (mkdtemp(dir) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	test_memory(dir);
	test_threshold(dir);
	test_zero(dir);
	test_offsets(dir);
	test_big(dir);
	test_hidden();
	test_bad_dir();
	test_cuts(1 << 20);
	test_cuts(0);
	test_cuts_random(1 << 20, 1);
	test_cuts_random(0, 12345);
	test_cuts_random(1 << 20, 777);
	test_cuts_many(1 << 30);
	test_cuts_many(0);
	is_int(dir_entries(dir), 0, "nothing left in the directory");
	rmdir(dir);
	return tap_done();
}
