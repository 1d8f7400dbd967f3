/* Sleeping on a 32-bit word and waking its sleeper: the two futex calls the
 * threads of a run use (the rings, the merger, the prefaulter's bell).
 * Private futexes: the threads of one process only. */
#ifndef WKP_FUTEX_H
#define WKP_FUTEX_H

#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Sleep while *addr holds val, at most timeout_ms (or until woken; a
 * signal or a spurious return also ends it: callers check again). */
static inline void wkp_futex_wait(_Atomic uint32_t *addr, uint32_t val, int timeout_ms)
{
    struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};
    syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT_PRIVATE, val, &ts, NULL, 0);
}

/* Wake one thread sleeping on addr. */
static inline void wkp_futex_wake(_Atomic uint32_t *addr)
{
    syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

#endif
