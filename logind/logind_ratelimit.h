/* Failed-login accounting per key (a user name or a source address): after
 * some failures responses are delayed, after more the key is locked out. */
#ifndef P2PSIP_LOGIND_RATELIMIT_H
#define P2PSIP_LOGIND_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#define RL_KEY_MAX 96
#define RL_TABLE_MAX 65536 /* keys per table; the stalest go first */

struct rl_policy {
	int slow_after;    /* failures before responses are delayed */
	int lockout_after; /* failures before the key is locked */
	int64_t window;    /* seconds after which failures are forgotten */
	int64_t lockout;   /* seconds a lock lasts */
	int64_t max_delay; /* longest delay in seconds */
};

enum rl_state {
	RL_OK,
	RL_SLOW,
	RL_LOCKED
};

struct ratelimit;

struct ratelimit *rl_new(const struct rl_policy *pol, size_t max_entries);
void rl_free(struct ratelimit *rl);
/* State of key at time now; *secs is the delay (RL_SLOW) or the time until
 * the lock ends (RL_LOCKED). */
enum rl_state rl_check(struct ratelimit *rl, const char *key, int64_t now, int64_t *secs);
/* Records a failure; returns the failure count within the window, and sets
 * *locked when this failure started a lockout. */
int rl_fail(struct ratelimit *rl, const char *key, int64_t now, int *locked);
void rl_success(struct ratelimit *rl, const char *key);
size_t rl_count(const struct ratelimit *rl);

#endif
