/* Unit tests of common/workq.c: jobs run on worker threads and their done
 * callbacks on the event loop's thread, only once the loop runs; max_queue
 * is honoured; workq_free waits for running jobs and cancels waiting ones. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "workq.h"

#include <event2/event.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A gate the main thread opens to let blocked jobs finish. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int gate_open;
static int started;

struct job {
	pthread_t work_thread, done_thread;
	int ran, done_calls, cancelled;
	int block;    /* wait for the gate */
	int sleep_ms; /* then sleep this long */
	int finished; /* work() reached its end */
};

static struct event_base *base;
static int done_total;

static int setup(void **state)
{
	(void)state;
	base = event_base_new();
	gate_open = 0;
	started = 0;
	done_total = 0;
	return base != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	event_base_free(base);
	return 0;
}

static void work(void *arg)
{
	struct job *j = arg;

	j->work_thread = pthread_self();
	pthread_mutex_lock(&mu);
	j->ran++;
	started++;
	pthread_cond_broadcast(&cv);
	while (j->block && !gate_open)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	if (j->sleep_ms > 0)
		usleep((useconds_t)j->sleep_ms * 1000);
	pthread_mutex_lock(&mu);
	j->finished = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static void done(void *arg, int cancelled)
{
	struct job *j = arg;

	j->done_thread = pthread_self();
	j->done_calls++;
	j->cancelled = cancelled;
	done_total++;
}

static void open_gate(void)
{
	pthread_mutex_lock(&mu);
	gate_open = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

/* Waits (without the loop) until n jobs have started, at most 5 s. */
static void wait_started(int n)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	pthread_mutex_lock(&mu);
	while (started < n) {
		if (pthread_cond_timedwait(&cv, &mu, &ts) != 0)
			break;
	}
	pthread_mutex_unlock(&mu);
	assert_true(started >= n);
}

static void wait_finished(struct job *j)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	pthread_mutex_lock(&mu);
	while (!j->finished) {
		if (pthread_cond_timedwait(&cv, &mu, &ts) != 0)
			break;
	}
	pthread_mutex_unlock(&mu);
	assert_true(j->finished);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	*(int *)arg = 1;
}

/* Runs the loop until n done callbacks have run in total; fails after 5 s. */
static void loop_until_done(int n)
{
	int timed_out = 0;
	struct timeval tv = {5, 0};
	struct event *t = evtimer_new(base, on_timeout, &timed_out);

	evtimer_add(t, &tv);
	while (done_total < n && !timed_out)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(t);
	if (timed_out)
		fail_msg("only %d of %d jobs completed", done_total, n);
}

static void test_jobs_run_on_workers_and_complete_on_the_loop_thread(void **state)
{
	struct workq *q = workq_new(base, 3, 16);
	struct job jobs[8];
	pthread_t self = pthread_self();

	(void)state;
	assert_non_null(q);
	memset(jobs, 0, sizeof(jobs));
	for (int i = 0; i < 8; i++)
		assert_int_equal(workq_submit(q, work, done, &jobs[i]), 0);
	loop_until_done(8);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(jobs[i].ran, 1);
		assert_int_equal(jobs[i].done_calls, 1);
		assert_int_equal(jobs[i].cancelled, 0);
		assert_false(pthread_equal(jobs[i].work_thread, self));
		assert_true(pthread_equal(jobs[i].done_thread, self));
	}
	assert_int_equal(workq_pending(q), 0);
	workq_free(q);
	/* Nothing is called twice on free. */
	for (int i = 0; i < 8; i++)
		assert_int_equal(jobs[i].done_calls, 1);
}

static void test_done_waits_for_the_loop(void **state)
{
	struct workq *q = workq_new(base, 1, 4);
	struct job j;

	(void)state;
	memset(&j, 0, sizeof(j));
	assert_int_equal(workq_submit(q, work, done, &j), 0);
	wait_finished(&j);
	usleep(20 * 1000); /* let the worker post its completion */
	assert_int_equal(j.done_calls, 0);
	assert_int_equal(workq_pending(q), 1); /* counted until done has run */
	loop_until_done(1);
	assert_int_equal(j.done_calls, 1);
	assert_int_equal(workq_pending(q), 0);
	workq_free(q);
}

static void test_max_queue_is_honoured(void **state)
{
	struct workq *q = workq_new(base, 1, 2);
	struct job a, b, c, d;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&c, 0, sizeof(c));
	memset(&d, 0, sizeof(d));
	a.block = b.block = 1;
	assert_int_equal(workq_submit(q, work, done, &a), 0); /* running */
	assert_int_equal(workq_submit(q, work, done, &b), 0); /* waiting */
	assert_int_equal(workq_pending(q), 2);
	assert_int_equal(workq_submit(q, work, done, &c), -1);
	assert_int_equal(c.ran, 0);
	assert_int_equal(c.done_calls, 0);
	open_gate();
	loop_until_done(2);
	/* Room again once completions have run. */
	assert_int_equal(workq_submit(q, work, done, &d), 0);
	loop_until_done(3);
	assert_int_equal(d.done_calls, 1);
	assert_int_equal(c.done_calls, 0);
	workq_free(q);
}

static void test_max_queue_of_zero_refuses_everything(void **state)
{
	struct workq *q = workq_new(base, 1, 0);
	struct job a;

	(void)state;
	memset(&a, 0, sizeof(a));
	assert_int_equal(workq_submit(q, work, done, &a), -1);
	workq_free(q);
	assert_int_equal(a.done_calls, 0);
}

static void test_free_waits_for_running_jobs_and_cancels_waiting_ones(void **state)
{
	struct workq *q = workq_new(base, 1, 8);
	struct job running, waiting[3];
	pthread_t self = pthread_self();

	(void)state;
	memset(&running, 0, sizeof(running));
	memset(waiting, 0, sizeof(waiting));
	running.sleep_ms = 100;
	assert_int_equal(workq_submit(q, work, done, &running), 0);
	wait_started(1);
	for (int i = 0; i < 3; i++)
		assert_int_equal(workq_submit(q, work, done, &waiting[i]), 0);
	workq_free(q);
	/* The running job finished its work and completed normally. */
	assert_int_equal(running.finished, 1);
	assert_int_equal(running.done_calls, 1);
	assert_int_equal(running.cancelled, 0);
	/* The waiting ones never ran but were told. */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(waiting[i].ran, 0);
		assert_int_equal(waiting[i].done_calls, 1);
		assert_int_equal(waiting[i].cancelled, 1);
		assert_true(pthread_equal(waiting[i].done_thread, self));
	}
}

static void test_free_runs_completions_the_loop_has_not_seen(void **state)
{
	struct workq *q = workq_new(base, 2, 8);
	struct job a, b;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	assert_int_equal(workq_submit(q, work, done, &a), 0);
	assert_int_equal(workq_submit(q, work, done, &b), 0);
	wait_finished(&a);
	wait_finished(&b);
	workq_free(q); /* the loop never ran */
	assert_int_equal(a.done_calls, 1);
	assert_int_equal(a.cancelled, 0);
	assert_int_equal(b.done_calls, 1);
	assert_int_equal(b.cancelled, 0);
}

static void test_free_accepts_null_and_an_idle_queue(void **state)
{
	(void)state;
	workq_free(NULL);
	workq_free(workq_new(base, 4, 1));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_jobs_run_on_workers_and_complete_on_the_loop_thread),
		T(test_done_waits_for_the_loop),
		T(test_max_queue_is_honoured),
		T(test_max_queue_of_zero_refuses_everything),
		T(test_free_waits_for_running_jobs_and_cancels_waiting_ones),
		T(test_free_runs_completions_the_loop_has_not_seen),
		T(test_free_accepts_null_and_an_idle_queue),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
