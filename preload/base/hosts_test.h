/* Test seams: only test/ includes this (and the module itself, so the
 * prototypes are checked).
 *
 * fastres hosts: forget what was read. */
#ifndef FR_HOSTS_TEST_H
#define FR_HOSTS_TEST_H

/* Drop the parsed copy and the host.conf settings, so the next lookup
 * reads both again whatever the clock says. */
void fr_hosts_reset(void);

#endif
