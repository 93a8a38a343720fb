/* SPDX-License-Identifier: ISC */
/*
 * fuzz_dns_wire.c - libFuzzer target for the rdata decoders of lib/dns.c,
 * which turn what a hostile DNS server sends into text for libspf2:
 * dns_name_from_wire (MX and PTR names) and dns_txt_from_wire (TXT
 * records); and for proxy/rdns.c's rdns_ptr_from_wire, which makes a PTR
 * record the client's host name (sent to the backend in XCLIENT, written
 * in Received and the log).  The input is the rdata, in an exact-size copy
 * so ASan sees any overread; the output buffer size comes from the first
 * byte.  Checked, abort() on failure:
 *	- a name: -1 or a length within the input; the text is NUL-terminated
 *	  inside the buffer, has no empty label before its end, and
 *	  re-encoding it gives back the bytes consumed;
 *	- a TXT: on success the text fits the buffer and is the input's
 *	  character-strings joined, byte for byte;
 *	- a PTR host name: on success the name used the whole rdata, is what
 *	  dns_name_from_wire gives, passes rdns_hostname_ok, and is a domain
 *	  by hdrbuild_is_domain (written as is in a header field): letters,
 *	  digits, '-', '_' and dots only, no label over 63 bytes, 253 bytes at
 *	  most, not all digits; on failure the buffer holds "".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dns.h"
#include "policy/hdrbuild.h"
#include "proxy/rdns.h"

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* dns_txt_from_wire: success means the strings joined fit exactly. */
static void
check_txt(const unsigned char *in, size_t len, char *out, size_t outsz)
{
	size_t	 i = 0, o = 0, l;
	int	 well = 1;

	if (dns_txt_from_wire(in, len, out, outsz) == -1)
		return;
	CHECK(strlen(out) < outsz);
	while (i < len && well) {
		l = in[i++];
		well = l <= len - i && memcmp(out + o, in + i, l) == 0;
		o += l;
		i += l;
	}
	CHECK(well && out[o] == '\0' && strlen(out) == o);
}

/* rdns_ptr_from_wire: a host name safe for headers and logs, or "". */
static void
check_ptr(const unsigned char *in, size_t len)
{
	char	 name[RDNS_NAME_MAX + 1], plain[RDNS_NAME_MAX + 1];
	size_t	 i, label = 0, n;
	int	 digits = 1;

	if (rdns_ptr_from_wire(in, len, name, sizeof(name)) == -1) {
		CHECK(name[0] == '\0');
		return;
	}
	CHECK(dns_name_from_wire(in, len, plain, sizeof(plain)) == (int)len);
	CHECK(strcmp(name, plain) == 0);
	n = strlen(name);
	CHECK(n >= 1 && n <= RDNS_NAME_MAX);
	CHECK(rdns_hostname_ok(name) && hdrbuild_is_domain(name));
	for (i = 0; i < n; i++) {
		if (name[i] == '.') {
			CHECK(label > 0 && name[i - 1] != '-');
			label = 0;
			continue;
		}
		CHECK((name[i] >= 'a' && name[i] <= 'z') ||
		    (name[i] >= 'A' && name[i] <= 'Z') ||
		    (name[i] >= '0' && name[i] <= '9') || name[i] == '-' ||
		    name[i] == '_');
		CHECK(!(name[i] == '-' && label == 0));
		if (name[i] < '0' || name[i] > '9')
			digits = 0;
		CHECK(++label <= 63);
	}
	CHECK(label > 0 && name[n - 1] != '-' && !digits);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	unsigned char	*in, wire[512];
	char		*out;
	size_t		 outsz, tl, w = 0, l;
	const char	*p, *dot;
	int		 n;

	if (len == 0)
		return 0;
	outsz = 1 + data[0];
	in = malloc(len - 1 ? len - 1 : 1);
	memcpy(in, data + 1, len - 1);
	out = malloc(outsz);
	n = dns_name_from_wire(in, len - 1, out, outsz);
	if (n != -1) {
		CHECK(n >= 1 && (size_t)n <= len - 1);
		tl = strlen(out);
		CHECK(tl < outsz);
		/* Re-encode: label lengths and bytes. */
		for (p = out; tl > 0 && *p != '\0'; p = dot + 1) {
			dot = strchr(p, '.');
			if (dot == NULL)
				dot = p + strlen(p);
			l = (size_t)(dot - p);
			CHECK(l >= 1 && l <= 63 && w + 1 + l < sizeof(wire));
			wire[w++] = (unsigned char)l;
			memcpy(wire + w, p, l);
			w += l;
			if (*dot == '\0')
				break;
		}
		wire[w++] = 0;
		CHECK(w == (size_t)n && memcmp(wire, in, w) == 0);
	}
	check_txt(in, len - 1, out, outsz);
	check_ptr(in, len - 1);
	free(in);
	free(out);
	return 0;
}
