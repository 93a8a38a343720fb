/* SPDX-License-Identifier: ISC */
/*
 * json.h - JSON text for the log (log.format = json): string literals
 * escaped so that any bytes make valid JSON, appended to a util_buf.
 */
#ifndef POSTERN_JSON_H
#define POSTERN_JSON_H

#include <stddef.h>

struct util_buf;

/*
 * json_string - s[0..len) as a JSON string literal: '"' and '\' escaped,
 * control bytes, DEL and the C1 controls (U+0080 to U+009F) as \u00XX,
 * other valid UTF-8 kept as it is, and each byte that is not part of
 * valid UTF-8 as the text \xNN (JSON "\\xNN"), as the plain log shows
 * such bytes.
 */
void	json_string(struct util_buf *, const char *s, size_t len);
/* json_member - ",\"name\":" (no comma when first), then nothing: the
 * caller appends the value. */
void	json_member(struct util_buf *, const char *name, int first);

#endif
