/* A small pool of worker threads for CPU-heavy jobs (password hashing), so
 * that the event loop keeps serving while they run. Completions run on the
 * loop's thread. */
#ifndef P2PSIP_WORKQ_H
#define P2PSIP_WORKQ_H

#include <stddef.h>

struct event_base;
struct workq;

typedef void (*workq_fn_t)(void *arg);
/* cancelled is 1 when the queue was freed before the job ran. */
typedef void (*workq_done_t)(void *arg, int cancelled);

/* nthreads workers; at most max_queue jobs waiting or running. */
struct workq *workq_new(struct event_base *base, int nthreads, size_t max_queue);
/* Runs work(arg) on a worker, then done(arg, 0) on the loop. -1 when the
 * queue is full (the caller should answer "busy"). */
int workq_submit(struct workq *q, workq_fn_t work, workq_done_t done, void *arg);
size_t workq_pending(struct workq *q);
/* Waits for running jobs, cancels waiting ones, calls every pending done
 * callback, joins the threads. Accepts NULL. */
void workq_free(struct workq *q);

#endif
