/* SPDX-License-Identifier: ISC */
/*
 * version.h - postern's version, the one place it is written (postern -V,
 * the start-up log lines, the man pages and the package take it from
 * here).
 */
#ifndef POSTERN_VERSION_H
#define POSTERN_VERSION_H

#define POSTERN_VERSION		"0.9.0"

#endif
