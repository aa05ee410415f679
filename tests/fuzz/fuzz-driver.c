/* fuzz-driver.c: a main() for the fuzz targets when they are not built
 * with libFuzzer (gcc, or -Dfuzz=false). Runs every input file (or every
 * file of every directory) given once, then -runs=N more inputs made by
 * mutating them with a fixed-seed generator, so the test suite runs a
 * bounded, reproducible number of executions of each target whatever the
 * compiler. Accepts libFuzzer's -runs=N and -seed=S and ignores other
 * -flags, so one command line works for both kinds of binary. No coverage
 * feedback: this is a regression and smoke run, the libFuzzer build
 * (tests/fuzz/README.md) is what searches. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

#define MAX_LEN (1u << 20)

typedef struct Input {
        uint8_t *data;
        size_t size;
} Input;

static Input *inputs;
static size_t n_inputs;
static uint64_t rng;

static uint64_t next(void) {            /* splitmix64 */
        uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
}

static size_t below(size_t n) {
        return n ? (size_t) (next() % n) : 0;
}

static void add_file(const char *path) {
        FILE *f = fopen(path, "rb");
        Input in = {0};

        if (!f) {
                fprintf(stderr, "fuzz-driver: cannot open %s: %s\n", path, strerror(errno));
                exit(2);
        }
        in.data = malloc(MAX_LEN);
        if (!in.data)
                abort();
        in.size = fread(in.data, 1, MAX_LEN, f);
        fclose(f);
        inputs = realloc(inputs, (n_inputs + 1) * sizeof *inputs);
        if (!inputs)
                abort();
        inputs[n_inputs++] = in;
}

static int cmp(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static void add_path(const char *path) {
        struct stat st;

        if (stat(path, &st) < 0) {
                fprintf(stderr, "fuzz-driver: %s: %s\n", path, strerror(errno));
                exit(2);
        }
        if (!S_ISDIR(st.st_mode)) {
                add_file(path);
                return;
        }
        DIR *d = opendir(path);
        char **names = NULL;
        size_t n = 0;
        struct dirent *de;
        if (!d)
                exit(2);
        while ((de = readdir(d)))
                if (de->d_name[0] != '.') {
                        names = realloc(names, (n + 1) * sizeof *names);
                        if (!names || asprintf(&names[n++], "%s/%s", path, de->d_name) < 0)
                                abort();
                }
        closedir(d);
        if (n > 0)
                qsort(names, n, sizeof *names, cmp);    /* reproducible order */
        for (size_t i = 0; i < n; i++) {
                add_path(names[i]);
                free(names[i]);
        }
        free(names);
}

static const uint8_t interesting8[] = {
        0x00, 0x01, 0x0f, 0x10, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2,
        0xc3, 0xc4, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcc, 0xcf, 0xd3, 0xd4, 0xd8, 0xd9, 0xdb,
        0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xff,
};
static const uint32_t interesting32[] = {
        0, 1, 0x7f, 0xff, 0xffff, 0x10000, 0xfffff, 0x100000, 0x100001, 0x7fffffff, 0xffffffff,
};

/* One mutation of buf (size *n, capacity MAX_LEN), in place. */
static void mutate_once(uint8_t *buf, size_t *n) {
        size_t len = *n;

        switch (below(9)) {
        case 0:         /* flip a bit */
                if (len)
                        buf[below(len)] ^= (uint8_t) (1u << below(8));
                break;
        case 1:         /* an interesting byte */
                if (len)
                        buf[below(len)] = interesting8[below(sizeof interesting8)];
                break;
        case 2: {       /* an interesting big-endian 16/32-bit value */
                uint32_t v = interesting32[below(sizeof interesting32 / sizeof *interesting32)];
                unsigned w = below(2) ? 4 : 2;
                if (len >= w) {
                        size_t at = below(len - w + 1);
                        for (unsigned i = 0; i < w; i++)
                                buf[at + i] = (uint8_t) (v >> (8 * (w - 1 - i)));
                }
                break;
        }
        case 3: {       /* insert random bytes */
                size_t k = 1 + below(8), at = below(len + 1);
                if (len + k <= MAX_LEN) {
                        memmove(buf + at + k, buf + at, len - at);
                        for (size_t i = 0; i < k; i++)
                                buf[at + i] = (uint8_t) next();
                        *n = len + k;
                }
                break;
        }
        case 4: {       /* delete a range */
                if (len) {
                        size_t at = below(len), k = 1 + below(len - at < 16 ? len - at : 16);
                        memmove(buf + at, buf + at + k, len - at - k);
                        *n = len - k;
                }
                break;
        }
        case 5: {       /* duplicate a range (repeats elements, deepens nesting) */
                if (len) {
                        size_t at = below(len), k = 1 + below(len - at < 64 ? len - at : 64);
                        if (len + k <= MAX_LEN) {
                                memmove(buf + at + k, buf + at, len - at);
                                *n = len + k;
                        }
                }
                break;
        }
        case 6: {       /* splice: the tail of another input */
                const Input *o = &inputs[below(n_inputs)];
                if (o->size) {
                        size_t at = below(len + 1), from = below(o->size);
                        size_t k = o->size - from;
                        if (at + k > MAX_LEN)
                                k = MAX_LEN - at;
                        memcpy(buf + at, o->data + from, k);
                        *n = at + k;
                }
                break;
        }
        case 7:         /* truncate */
                *n = below(len + 1);
                break;
        default:        /* change a byte to a random value */
                if (len)
                        buf[below(len)] = (uint8_t) next();
                break;
        }
}

int main(int argc, char *argv[]) {
        unsigned long long runs = 0;
        uint64_t seed = 1;
        uint8_t *buf;

        if (LLVMFuzzerInitialize)
                LLVMFuzzerInitialize(&argc, &argv);
        for (int i = 1; i < argc; i++) {
                if (strncmp(argv[i], "-runs=", 6) == 0)
                        runs = strtoull(argv[i] + 6, NULL, 10);
                else if (strncmp(argv[i], "-seed=", 6) == 0)
                        seed = strtoull(argv[i] + 6, NULL, 10);
                else if (argv[i][0] == '-')
                        continue;       /* other libFuzzer flags */
                else
                        add_path(argv[i]);
        }
        rng = seed;
        size_t n_corpus = n_inputs;

        for (size_t i = 0; i < n_inputs; i++)
                LLVMFuzzerTestOneInput(inputs[i].data, inputs[i].size);
        if (n_inputs == 0) {
                inputs = calloc(1, sizeof *inputs);
                inputs[0].data = calloc(1, 1);
                n_inputs = 1;
        }

        buf = malloc(MAX_LEN);
        if (!buf)
                abort();
        for (unsigned long long r = 0; r < runs; r++) {
                const Input *in = &inputs[below(n_inputs)];
                size_t n = in->size;
                memcpy(buf, in->data, n);
                for (size_t k = 1 + below(8); k > 0; k--)
                        mutate_once(buf, &n);
                /* An exact-size copy, so ASan sees reads past the end. */
                uint8_t *exact = malloc(n ? n : 1);
                memcpy(exact, buf, n);
                LLVMFuzzerTestOneInput(exact, n);
                free(exact);
        }
        printf("fuzz-driver: %zu corpus inputs and %llu mutated inputs executed, no crash\n",
               n_corpus, runs);
        for (size_t i = 0; i < n_inputs; i++)
                free(inputs[i].data);
        free(inputs);
        free(buf);
        return 0;
}
