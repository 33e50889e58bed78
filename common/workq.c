/* A small pool of worker threads whose completions run on the event loop. */
#include "workq.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct job {
	workq_fn_t work;
	workq_done_t done;
	void *arg;
	int cancelled;
	struct job *next;
};

struct job_list {
	struct job *head, *tail;
};

struct workq {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job_list todo, finished;
	size_t count, max_queue;
	int stopping;
	int nthreads;
	pthread_t *threads;
	int efd;
	struct event *ev;
};

static void list_push(struct job_list *l, struct job *j)
{
	j->next = NULL;
	if (l->tail != NULL)
		l->tail->next = j;
	else
		l->head = j;
	l->tail = j;
}

static struct job *list_pop(struct job_list *l)
{
	struct job *j = l->head;

	if (j != NULL) {
		l->head = j->next;
		if (l->head == NULL)
			l->tail = NULL;
	}
	return j;
}

static void notify(struct workq *q)
{
	uint64_t one = 1;
	ssize_t w = write(q->efd, &one, sizeof(one));

	(void)w; /* a full counter still wakes the loop */
}

static void *worker(void *arg)
{
	struct workq *q = arg;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		struct job *j;

		while (q->todo.head == NULL && !q->stopping)
			pthread_cond_wait(&q->cv, &q->mu);
		j = list_pop(&q->todo);
		if (j == NULL)
			break; /* stopping and nothing left */
		if (q->stopping) {
			j->cancelled = 1;
		} else {
			pthread_mutex_unlock(&q->mu);
			j->work(j->arg);
			pthread_mutex_lock(&q->mu);
		}
		list_push(&q->finished, j);
		notify(q);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

static void run_finished(struct workq *q)
{
	struct job_list l;
	struct job *j;

	pthread_mutex_lock(&q->mu);
	l = q->finished;
	q->finished.head = q->finished.tail = NULL;
	pthread_mutex_unlock(&q->mu);
	while ((j = list_pop(&l)) != NULL) {
		pthread_mutex_lock(&q->mu);
		q->count--;
		pthread_mutex_unlock(&q->mu);
		j->done(j->arg, j->cancelled);
		free(j);
	}
}

static void on_event(evutil_socket_t fd, short what, void *arg)
{
	uint64_t v;
	ssize_t r = read(fd, &v, sizeof(v));

	(void)what, (void)r;
	run_finished(arg);
}

struct workq *workq_new(struct event_base *base, int nthreads, size_t max_queue)
{
	struct workq *q = calloc(1, sizeof(*q));

	if (q == NULL)
		return NULL;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	q->max_queue = max_queue;
	q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	q->threads = calloc((size_t)nthreads, sizeof(pthread_t));
	if (q->efd < 0 || q->threads == NULL)
		goto fail;
	q->ev = event_new(base, q->efd, EV_READ | EV_PERSIST, on_event, q);
	if (q->ev == NULL || event_add(q->ev, NULL) < 0)
		goto fail;
	for (; q->nthreads < nthreads; q->nthreads++)
		if (pthread_create(&q->threads[q->nthreads], NULL, worker, q) != 0)
			goto fail;
	return q;
fail:
	workq_free(q);
	return NULL;
}

int workq_submit(struct workq *q, workq_fn_t work, workq_done_t done, void *arg)
{
	struct job *j;

	pthread_mutex_lock(&q->mu);
	if (q->stopping || q->count >= q->max_queue) {
		pthread_mutex_unlock(&q->mu);
		return -1;
	}
	q->count++;
	pthread_mutex_unlock(&q->mu);
	j = calloc(1, sizeof(*j));
	if (j == NULL) {
		pthread_mutex_lock(&q->mu);
		q->count--;
		pthread_mutex_unlock(&q->mu);
		return -1;
	}
	j->work = work;
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&q->mu);
	list_push(&q->todo, j);
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
	return 0;
}

size_t workq_pending(struct workq *q)
{
	size_t n;

	pthread_mutex_lock(&q->mu);
	n = q->count;
	pthread_mutex_unlock(&q->mu);
	return n;
}

void workq_free(struct workq *q)
{
	if (q == NULL)
		return;
	pthread_mutex_lock(&q->mu);
	q->stopping = 1;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	for (int i = 0; i < q->nthreads; i++)
		pthread_join(q->threads[i], NULL);
	run_finished(q);
	if (q->ev != NULL)
		event_free(q->ev);
	if (q->efd >= 0)
		close(q->efd);
	free(q->threads);
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
	free(q);
}
