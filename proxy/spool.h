/* SPDX-License-Identifier: ISC */
/*
 * spool.h - where a message waits between the client's end of data and the
 * backend's reply: in memory up to a threshold, then in an unlinked
 * temporary file (O_TMPFILE, or mkstemp + unlink), so nothing is left on
 * disk if postern dies.  Append-only while receiving; random-access reads
 * for the filter feed and the replay.  Cuts (header fields a filter
 * removed) are left out of the edited view the replay reads.
 */
#ifndef POSTERN_SPOOL_H
#define POSTERN_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct spool;

/* spool_new - an empty spool; dir is copied.  Never NULL. */
struct spool	*spool_new(size_t mem_max, const char *dir);
void		 spool_free(struct spool *);

/* spool_write - append; -1 with errno on a file error (disk full). */
int		 spool_write(struct spool *, const void *, size_t);

uint64_t	 spool_size(const struct spool *);

/* spool_on_disk - 1 once the content moved to the temporary file. */
int		 spool_on_disk(const struct spool *);

/*
 * spool_read - copy up to len bytes from offset off into buf; returns bytes
 * copied (0 at the end), -1 with errno on a file error.
 */
ssize_t		 spool_read(struct spool *, uint64_t off, void *buf, size_t len);

/* spool_cut - leave [off, off + len) out of the edited view.  Cuts may
 * come in any order (ascending is the cheap one) but must not overlap
 * (-1 otherwise). */
int		 spool_cut(struct spool *, uint64_t off, uint64_t len);

/* spool_edited_size - the size of the edited view. */
uint64_t	 spool_edited_size(const struct spool *);

/*
 * spool_read_edited - read the edited view: up to len bytes from the raw
 * offset *off, skipping cuts; *off moves past the bytes returned and any
 * cut reached.  Returns bytes copied (short only at the end, 0 there), -1
 * with errno.  Reading the view from start to end costs O(cuts + bytes)
 * in all, whatever the chunk size; a seek backwards O(log cuts).
 */
ssize_t		 spool_read_edited(struct spool *, uint64_t *off, void *buf,
		    size_t len);

/* spool_dir_ok - whether a spool file can be made in dir (made and
 * dropped at once); -1 with errno. */
int		 spool_dir_ok(const char *dir);

#endif
