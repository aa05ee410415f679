/* utf8.h: UTF-8 validation and character counting (JSON Schema lengths
 * count characters, not bytes). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* True when s[0..n) is well-formed UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF). */
bool utf8_valid(const char *s, size_t n);
/* Number of code points in valid UTF-8 s[0..n). */
size_t utf8_length(const char *s, size_t n);
