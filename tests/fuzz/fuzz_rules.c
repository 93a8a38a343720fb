/* SPDX-License-Identifier: ISC */
/*
 * fuzz_rules.c - libFuzzer target for filters/rules.c.  The input is
 * parsed as a rules text into a fresh set.  Every rule that parsed, also
 * those before an error, must keep the grammar's promises (name, field,
 * pattern without NUL and patlen == strlen, known flags, codes and status
 * codes of the action's class, text lengths); printed back as rules text
 * it must parse into an equal rule.  Parsing the input again into the same
 * set must fail on the first rule's name, and leave the set as it was.
 * Any difference aborts.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filters/rules.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fuzz_fail(const struct rule *r, const char *why)
{
	fprintf(stderr, "rule '%s' line %u: %s\n", r->name, r->line, why);
	abort();
}

static void
fuzz_check(const struct rule *r)
{
	size_t	 n = strlen(r->name);

	if (n == 0 || n > 63 || strspn(r->name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789_") != n)
		fuzz_fail(r, "bad name");
	if ((r->field == RULE_HEADER) != (r->header[0] != '\0') ||
	    strchr(r->header, ':') != NULL || r->field > RULE_RAW)
		fuzz_fail(r, "bad field");
	if (r->pattern == NULL || r->patlen == 0 ||
	    strlen(r->pattern) != r->patlen)
		fuzz_fail(r, "bad pattern");
	if (r->flags & ~0x0fU || r->action > RULE_TAG)
		fuzz_fail(r, "bad flags or action");
	if (r->file == NULL || strcmp(r->file, "fuzz") != 0 || r->line == 0)
		fuzz_fail(r, "bad file:line");
	if (r->action == RULE_REJECT || r->action == RULE_TEMPFAIL) {
		if ((r->code[0] != '\0' && (strlen(r->code) != 3 ||
		    r->code[0] != (r->action == RULE_REJECT ? '5' : '4'))) ||
		    (r->esc[0] != '\0' && r->esc[0] != r->code[0]) ||
		    (r->text != NULL && (strlen(r->text) == 0 ||
		    strlen(r->text) > 400)))
			fuzz_fail(r, "bad reply");
	} else if (r->code[0] != '\0' || r->esc[0] != '\0')
		fuzz_fail(r, "code without reply");
	if (r->action == RULE_TAG && (r->text == NULL ||
	    strchr(r->text, ':') == NULL || strlen(r->text) > 900))
		fuzz_fail(r, "bad tag");
	if (r->action != RULE_TAG && r->action != RULE_REJECT &&
	    r->action != RULE_TEMPFAIL && r->text != NULL)
		fuzz_fail(r, "text without reply or tag");
	if (r->action == RULE_SCORE && (!isfinite(r->score) ||
	    fabs(r->score) > 1000))
		fuzz_fail(r, "bad score");
}

static void
fuzz_quoted(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', fp);
		fputc(*s, fp);
	}
	fputc('"', fp);
}

/* The rule as one line of rules text. */
static void
fuzz_print(FILE *fp, const struct rule *r)
{
	const char	*p;

	fprintf(fp, "%s %s%s /", r->name, rules_field_names[r->field],
	    r->header);
	for (p = r->pattern; *p != '\0'; p++) {
		if (*p == '\\' && p[1] != '\0')
			fputc(*p++, fp);
		else if (*p == '/')
			fputc('\\', fp);
		fputc(*p, fp);
	}
	fprintf(fp, "/%s%s%s%s %s", r->flags & 1 ? "i" : "",
	    r->flags & 2 ? "m" : "", r->flags & 4 ? "s" : "",
	    r->flags & 8 ? "x" : "", rules_action_names[r->action]);
	if (r->code[0] != '\0')
		fprintf(fp, " %s", r->code);
	if (r->esc[0] != '\0')
		fprintf(fp, " %s", r->esc);
	if (r->action == RULE_SCORE)
		fprintf(fp, " %.17g", r->score);
	if (r->text != NULL) {
		fputc(' ', fp);
		fuzz_quoted(fp, r->text);
	}
	fputc('\n', fp);
}

static void
fuzz_roundtrip(const struct ruleset *set)
{
	struct ruleset	 again = { NULL, 0 };
	const struct rule *a, *b;
	char		*s = NULL, err[512];
	size_t		 len, i;
	FILE		*fp;

	if ((fp = open_memstream(&s, &len)) == NULL)
		abort();
	for (i = 0; i < set->n; i++)
		fuzz_print(fp, &set->rules[i]);
	fclose(fp);
	err[0] = '\0';
	if (rules_parse("fuzz", s, len, &again, err, sizeof(err)) == -1 ||
	    again.n != set->n) {
		fprintf(stderr, "printed rules do not parse: %s\n%s", err, s);
		abort();
	}
	for (i = 0; i < set->n; i++) {
		a = &set->rules[i];
		b = &again.rules[i];
		if (strcmp(a->name, b->name) != 0 || a->field != b->field ||
		    strcmp(a->header, b->header) != 0 ||
		    a->patlen != b->patlen ||
		    memcmp(a->pattern, b->pattern, a->patlen) != 0 ||
		    a->flags != b->flags || a->action != b->action ||
		    a->score != b->score || strcmp(a->code, b->code) != 0 ||
		    strcmp(a->esc, b->esc) != 0 ||
		    (a->text == NULL) != (b->text == NULL) ||
		    (a->text != NULL && strcmp(a->text, b->text) != 0)) {
			fprintf(stderr, "round trip changed rule %zu\n%s", i,
			    s);
			abort();
		}
	}
	free(s);
	rules_free(&again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ruleset	 set = { NULL, 0 };
	static char	 err[65536];
	char		 want[128];
	size_t		 i, n;

	err[0] = '\0';
	rules_parse("fuzz", (const char *)data, size, &set, err, sizeof(err));
	for (i = 0; i < set.n; i++)
		fuzz_check(&set.rules[i]);
	fuzz_roundtrip(&set);
	if ((n = set.n) > 0) {
		snprintf(want, sizeof(want), "fuzz:%u: rule %s already defined "
		    "at fuzz:%u", set.rules[0].line, set.rules[0].name,
		    set.rules[0].line);
		/* every rule again is a duplicate, reported among the
		 * errors; the set does not change */
		err[0] = '\0';
		if (rules_parse("fuzz", (const char *)data, size, &set, err,
		    sizeof(err)) != -1 || set.n != n ||
		    (strstr(err, want) == NULL &&
		    strlen(err) < sizeof(err) - 512)) {	/* not cut off */
			fprintf(stderr, "second parse: '%s', want '%s'\n", err,
			    want);
			abort();
		}
	}
	rules_free(&set);
	if (set.rules != NULL || set.n != 0)
		abort();
	return 0;
}
