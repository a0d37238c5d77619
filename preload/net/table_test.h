/* Test seams: only test/ includes this (and the module itself, so the prototypes are checked). */
#ifndef FR_NET_TABLE_TEST_H
#define FR_NET_TABLE_TEST_H

#include "net/table.h"

/* Forget everything: no server known, and events recorded with an older
 * snapshot's generation are ignored. */
void fr_table_reset(void);

#endif
