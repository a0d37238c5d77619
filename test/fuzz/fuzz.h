/* fastres fuzz harnesses: shared helpers. */
#ifndef FR_FUZZ_H
#define FR_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* An invariant of the code under test: say which one broke, then abort
 * (libFuzzer saves the input as a crash). */
#define CHECK(c)                                                                     \
    do {                                                                             \
        if (!(c)) {                                                                  \
            fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #c); \
            abort();                                                                 \
        }                                                                            \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
