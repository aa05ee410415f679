/* utf8.c: strict UTF-8 validation (RFC 3629: no overlongs, no surrogates,
 * nothing above U+10FFFF) and code point counting, for the string checks
 * of wire.c and the character limits of the role rules. */
#include "utf8.h"

#include <stdint.h>

bool utf8_valid(const char *s, size_t n) {
        const uint8_t *p = (const uint8_t *) s;
        size_t i = 0;

        while (i < n) {
                uint8_t c = p[i];
                size_t len;
                uint8_t lo = 0x80, hi = 0xbf; /* allowed range of the second byte */

                if (c < 0x80) {
                        i++;
                        continue;
                }
                if (c < 0xc2)           /* continuation byte, or 0xc0/0xc1 (overlong) */
                        return false;
                else if (c < 0xe0)
                        len = 2;
                else if (c < 0xf0) {
                        len = 3;
                        if (c == 0xe0)
                                lo = 0xa0;      /* overlong */
                        else if (c == 0xed)
                                hi = 0x9f;      /* surrogates D800..DFFF */
                } else if (c < 0xf5) {
                        len = 4;
                        if (c == 0xf0)
                                lo = 0x90;      /* overlong */
                        else if (c == 0xf4)
                                hi = 0x8f;      /* above U+10FFFF */
                } else
                        return false;

                if (n - i < len)
                        return false;
                if (p[i + 1] < lo || p[i + 1] > hi)
                        return false;
                for (size_t k = 2; k < len; k++)
                        if ((p[i + k] & 0xc0) != 0x80)
                                return false;
                i += len;
        }
        return true;
}

size_t utf8_length(const char *s, size_t n) {
        size_t count = 0;

        for (size_t i = 0; i < n; i++)
                if (((uint8_t) s[i] & 0xc0) != 0x80)
                        count++;
        return count;
}
