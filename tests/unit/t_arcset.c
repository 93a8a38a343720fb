/* SPDX-License-Identifier: ISC */
/*
 * t_arcset.c - proto/taglist.c (tag lists: FWS, a final ';', every
 * refusal, b= emptied with the rest kept) and proto/arcset.c (ARC sets by
 * instance, and each structural fault of RFC 8617 5.2 named).
 */
#include <string.h>

#include "lib/util.h"
#include "proto/arcset.h"
#include "proto/taglist.h"
#include "tap.h"

static void
test_taglist(void)
{
	struct taglist		 tl;
	struct util_buf		 out = { NULL, 0, 0 };
	char			 v[64];
	static const char	 sig[] = "i=1; a=rsa-sha256; bh=ab\r\n cd=;\r\n"
	    " b=XY\r\n Z=; d=example.org";
	static const char *const bad[] = {
		"a", "=1", "1a=2", "a=1;;b=2", "a=1; a=2", "a=\x80", "a b=1",
	};
	size_t			 i;

	is_int(taglist_parse(sig, strlen(sig), &tl), 0, "a signature");
	is_int(tl.n, 5, "five tags");
	ok(taglist_is(taglist_get(&tl, "a"), "RSA-SHA256"), "a= (case)");
	ok(taglist_value(taglist_get(&tl, "b"), 1, v, sizeof(v)) == 0 &&
	    strcmp(v, "XYZ=") == 0, "b= with its folds squeezed: %s", v);
	ok(taglist_get(&tl, "x") == NULL, "no x=");
	is_int(taglist_parse("v=DKIM1; p=; ", 13, &tl), 0, "a final ';'");
	is_int(tl.t[1].vlen, 0, "p= empty");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_int(taglist_parse(bad[i], strlen(bad[i]), &tl), -1,
		    "refused: %s", bad[i]);
	taglist_blank(sig, strlen(sig), "b", &out);
	util_buf_add(&out, "", 1);
	is_str((char *)out.p, "i=1; a=rsa-sha256; bh=ab\r\n cd=;\r\n b=;"
	    " d=example.org", "b= emptied, bh= and the rest kept");
	util_buf_free(&out);
	taglist_blank("b=1", 3, "b", &out);
	is_int(out.len, 2, "b= last, emptied");
	util_buf_free(&out);
}

static void
add(struct arcset_chain *c, enum arcset_kind k, const char *v)
{
	arcset_add(c, k, v, strlen(v), 0);
}

static void
set(struct arcset_chain *c, int i, const char *cv)
{
	static char	 aar[3][32], ams[3][32], as[3][64];

	snprintf(aar[i - 1], sizeof(aar[0]), " i=%d; mx.example; spf=pass",
	    i);
	snprintf(ams[i - 1], sizeof(ams[0]), " i=%d; a=rsa-sha256; b=x", i);
	snprintf(as[i - 1], sizeof(as[0]), " i=%d; cv=%s; b=x", i, cv);
	add(c, ARCSET_AAR, aar[i - 1]);
	add(c, ARCSET_AMS, ams[i - 1]);
	add(c, ARCSET_AS, as[i - 1]);
}

static void
test_arcset(void)
{
	struct arcset_chain	 c;

	memset(&c, 0, sizeof(c));
	is_int(arcset_check(&c), ARCSET_NONE, "no ARC field: none");
	set(&c, 1, "none");
	set(&c, 2, "pass");
	is_int(arcset_check(&c), ARCSET_VALID, "two sets");
	is_int(c.n, 2, "n");
	memset(&c, 0, sizeof(c));
	set(&c, 2, "pass");
	is_int(arcset_check(&c), ARCSET_FAIL, "set 1 missing");
	is_str(c.why, "an ARC set is missing a field", "why");
	memset(&c, 0, sizeof(c));
	set(&c, 1, "pass");
	is_int(arcset_check(&c), ARCSET_FAIL, "first cv=pass");
	memset(&c, 0, sizeof(c));
	set(&c, 1, "none");
	set(&c, 2, "none");
	is_int(arcset_check(&c), ARCSET_FAIL, "second cv=none");
	memset(&c, 0, sizeof(c));
	set(&c, 1, "none");
	set(&c, 2, "fail");
	is_int(arcset_check(&c), ARCSET_FAIL, "last cv=fail");
	is_str(c.why, "the last ARC-Seal says cv=fail", "why");
	memset(&c, 0, sizeof(c));
	set(&c, 1, "none");
	add(&c, ARCSET_AMS, " i=1; a=rsa-sha256; b=y");
	is_int(arcset_check(&c), ARCSET_FAIL, "an AMS twice");
	memset(&c, 0, sizeof(c));
	add(&c, ARCSET_AS, " i=51; cv=none; b=x");
	add(&c, ARCSET_AAR, " i=0; mx.example; none");
	is_int(arcset_check(&c), ARCSET_FAIL, "i= out of range");
	is_int(arcset_kind_of("arc-SEAL", 8), ARCSET_AS, "names any case");
	is_int(arcset_kind_of("ARC-Seal-X", 10), -1, "another name");
}

int
main(void)
{
	test_taglist();
	test_arcset();
	return tap_done();
}
