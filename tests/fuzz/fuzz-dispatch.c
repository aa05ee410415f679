/* fuzz-dispatch.c: request dispatch from bytes to the store. The input is
 * the byte stream of one client connection: it is cut into frames by the
 * scanner and each frame goes through dispatch_frame() (envelope, method
 * table, params tables, authentication, validation, handlers) into a real
 * LMDB store holding three organizations, API keys, workspace users and a
 * few roles (fuzz-common.c). Writes of one input share a transaction that
 * is aborted afterwards, so every input meets the same database and
 * duplicates within one input are seen.
 *
 * Checked beyond "no crash, no sanitizer report": every request gets
 * exactly one reply, to its msgid, well formed; notifications and
 * responses get none; no reply is an "internal" error. */
#include "fuzz-common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
        fuzz_daemon_setup();
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        fuzz_daemon_setup();
        fuzz_input_begin();
        (void) fuzz_feed_stream(data, size, 64);
        fuzz_input_end();
        return 0;
}
