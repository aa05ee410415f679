/* expect.h: the client tests' check of a librolesd failure: the errno a
 * call returned, the wire code and (when given) the field it names, all
 * printed when they differ. On top of tests/unit/check.h. */
#pragma once

#include <string.h>

#include <rolesd/client.h>

#include "check.h"

static inline void expect(int r, const rolesd_error *err, int want_r, rolesd_code code, const char *field) {
        if (r != want_r || err->code != code || (field && strcmp(err->field, field) != 0))
                fprintf(stderr, "got %d %s %s (%s), want %d %s %s\n", r, rolesd_code_name(err->code), err->field,
                        err->message, want_r, rolesd_code_name(code), field ? field : "");
        check_eq(r, want_r);
        check_eq(err->code, code);
        if (field)
                check(strcmp(err->field, field) == 0);
}
