/* fastres: order getaddrinfo results as glibc 2.36 does.
 *
 * glibc sorts every getaddrinfo result with more than one address by its
 * RFC 3484 destination address selection (sysdeps/posix/getaddrinfo.c,
 * rfc3484_sort): a UDP connect() per destination tells which source address
 * the kernel would use, the interface address list (inet/check_pf.c over
 * rtnetlink) gives that source's prefix length, interface and
 * deprecated/home flags, and ten rules with RFC 3484 tables decide. A program
 * that connects to the first result sees a different server if the order
 * differs, so fastres reproduces the order exactly, quirks included. */
#ifndef FR_SORT_H
#define FR_SORT_H

#include <netdb.h>

#include "base/status.h"

/* Reorder *list in place exactly as glibc 2.36's getaddrinfo would order
 * the same list. Returns FR_OK, FR_NOMEM, or FR_PUNT when glibc's order
 * depends on something not reproduced here (e.g. /etc/gai.conf has active
 * lines): the caller then hands the whole call to libc.
 *
 * The nodes are glibc-layout addrinfo nodes (ai_addr inside the node) in
 * the order glibc would have built them before sorting. Only the ai_next
 * links change, plus one more thing glibc does: ai_canonname, if any node
 * carries it, moves to the new first node (ownership is unchanged, so
 * freeaddrinfo still frees it once). On FR_NOMEM or FR_PUNT *list is left
 * untouched. */
enum fr_status fr_sort_addrinfo(struct addrinfo **list);

/* The order found for a list is reused for the same list (same sockaddrs
 * in the same order) for up to a second (sort_memo.c, FR_SORT_MEMO_MS). Forget
 * every such order at once: called when the interface view or the
 * configuration is seen to change. Any thread, any time. */
void fr_sort_forget(void);

#endif
